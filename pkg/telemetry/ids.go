package telemetry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TraceID is the trace of the call callSID: the same on every instance, so the
// webhook's spans and the stream's meet without carrying anything between them.
func TraceID(callSID string) trace.TraceID {
	var id trace.TraceID
	sum := sha256.Sum256([]byte("callagent/trace/" + callSID))
	copy(id[:], sum[:])
	return id
}

// CallSpanID is the ID of the call span of callSID, the root of its trace.
func CallSpanID(callSID string) trace.SpanID { return spanID("callagent/call/" + callSID) }

// ToolSpanID is the ID of the span of the tool call toolCallID (the model's
// call_id) of callSID: the traceparent its HTTP request carries names it.
func ToolSpanID(callSID, toolCallID string) trace.SpanID {
	return spanID("callagent/tool/" + callSID + "/" + toolCallID)
}

func spanID(key string) trace.SpanID {
	var id trace.SpanID
	sum := sha256.Sum256([]byte(key))
	copy(id[:], sum[:])
	return id
}

// forcedKey carries the IDs the next span started with the context must have.
type forcedKey struct{}

type forcedIDs struct {
	trace trace.TraceID // zero for a child span
	span  trace.SpanID
}

func withIDs(ctx context.Context, tid trace.TraceID, sid trace.SpanID) context.Context {
	return context.WithValue(ctx, forcedKey{}, forcedIDs{trace: tid, span: sid})
}

// idGenerator gives the spans the IDs their context asks for (the call and tool
// spans), random ones to the others.
type idGenerator struct{}

var _ sdktrace.IDGenerator = idGenerator{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if f, ok := ctx.Value(forcedKey{}).(forcedIDs); ok && f.trace.IsValid() && f.span.IsValid() {
		return f.trace, f.span
	}
	var tid trace.TraceID
	_, _ = rand.Read(tid[:])
	return tid, randomSpanID()
}

func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if f, ok := ctx.Value(forcedKey{}).(forcedIDs); ok && f.span.IsValid() {
		return f.span
	}
	return randomSpanID()
}

func randomSpanID() trace.SpanID {
	var sid trace.SpanID
	_, _ = rand.Read(sid[:])
	return sid
}
