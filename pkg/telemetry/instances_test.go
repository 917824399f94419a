package telemetry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/callagent/callagent/internal/leakcheck"
)

type spanSink struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (s *spanSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			s.spans = append(s.spans, ss.Spans...)
		}
	}
}

// Behind a load balancer the webhook reaches one instance and the stream another:
// their spans meet in one trace, the webhook's under the call span the other
// instance exports, with nothing passed between them.
func TestFaultTwoInstancesOneTrace(t *testing.T) {
	leakcheck.Check(t)
	sink := &spanSink{}
	collector := httptest.NewServer(sink)
	defer collector.Close()
	env := envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL})
	a, err := Setup(Options{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Setup(Options{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	evs := oneCall("CAabc", time.Now())
	a.Observe(evs[0]) // the webhook
	for _, ev := range evs[1:] {
		b.Observe(ev) // the stream
	}
	for _, tr := range []*Tracer{a, b} {
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	tid, callID := TraceID("CAabc"), CallSpanID("CAabc")
	names := map[string]*tracepb.Span{}
	for _, s := range sink.spans {
		if !bytes.Equal(s.TraceId, tid[:]) {
			t.Errorf("%s in trace %x, want %s", s.Name, s.TraceId, tid)
		}
		names[s.Name] = s
	}
	call, webhook, tool := names["call"], names["POST /incoming-call"], names["tool lookup"]
	if call == nil || webhook == nil || tool == nil || names["turn"] == nil || names["response"] == nil {
		t.Fatalf("spans %v", names)
	}
	if !bytes.Equal(call.SpanId, callID[:]) || len(call.ParentSpanId) != 0 || !bytes.Equal(webhook.ParentSpanId, callID[:]) {
		t.Fatalf("call %x (parent %x), webhook's parent %x", call.SpanId, call.ParentSpanId, webhook.ParentSpanId)
	}
	toolID := ToolSpanID("CAabc", "call_1")
	if !bytes.Equal(tool.SpanId, toolID[:]) {
		t.Fatalf("tool span %x, want %s", tool.SpanId, toolID)
	}
	turn := names["turn"]
	if d := time.Duration(turn.EndTimeUnixNano - turn.StartTimeUnixNano); d != 500*time.Millisecond {
		t.Errorf("turn span lasts %v, want speech stopped → first audio, 500ms", d)
	}
	// The other instance started the call at its stream: the call span starts there.
	if call.StartTimeUnixNano <= webhook.StartTimeUnixNano {
		t.Errorf("call span starts at %d, the webhook at %d", call.StartTimeUnixNano, webhook.StartTimeUnixNano)
	}
}

// A trace sampled out on one instance is sampled out on all: the ratio sampler
// decides on the trace ID, which is the CallSid's everywhere; the tool's
// traceparent says so.
func TestSamplingAgreesAcrossInstances(t *testing.T) {
	leakcheck.Check(t)
	sink := &spanSink{}
	collector := httptest.NewServer(sink)
	defer collector.Close()
	tr, err := Setup(Options{Getenv: envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
		"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"})})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range oneCall("CAabc", time.Now()) {
		tr.Observe(ev)
	}
	tp := tr.TraceParent("CAabc", "call_1")
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tp == "" || tp[len(tp)-2:] != "00" {
		t.Errorf("traceparent %q, want one not sampled", tp)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.spans) != 0 {
		t.Fatalf("%d spans exported at ratio 0", len(sink.spans))
	}
}
