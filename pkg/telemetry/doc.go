// Package telemetry exports OpenTelemetry traces of calls: one trace per call,
// from the voice webhook to the call's end, with a span per turn (the caller's
// speech stopped → the first agent audio), per model response, per tool call (and
// its approval), per request Twilio made to the server, and per Twilio REST
// request callagent made about the call.
//
// Spans are built from the call events (pkg/callevent), whose times they carry
// (trace.WithTimestamp): the audio path does no tracing work, and nothing of what
// was said (transcripts, tool arguments and results, error texts) becomes an
// attribute. Phone numbers are masked.
//
// A call's trace ID and its call span's ID are derived from its CallSid (a hash),
// so that the instance that answered the webhook and the one the media stream
// reached, behind a load balancer, put their spans in one trace without passing
// anything to each other. A tool call's span ID is derived from the CallSid and
// the model's call_id, so the traceparent header an HTTP tool receives names the
// tool span built later from the tool's events.
//
// Configuration is the standard OTEL_* environment, read by Setup; tracing is off
// unless an OTLP endpoint (or OTEL_TRACES_EXPORTER=otlp) is given: then Setup
// returns a nil *Tracer, whose methods do nothing, and no exporter, goroutine or
// connection exists. Only OTLP over HTTP (http/protobuf) is exported: there is no
// gRPC exporter in the binary.
//
// It is not metrics (pkg/server's Prometheus registry) nor logs (pkg/calllog).
package telemetry
