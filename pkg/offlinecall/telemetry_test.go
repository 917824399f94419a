package offlinecall

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/telemetry"
	"github.com/callagent/callagent/pkg/twiliorest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

// otlpReceiver is an OTLP/HTTP collector on loopback: it decodes each
// ExportTraceServiceRequest and keeps the bytes as sent.
type otlpReceiver struct {
	mu      sync.Mutex
	raw     [][]byte
	spans   []*tracepb.Span
	headers []http.Header
	paths   []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, "not an ExportTraceServiceRequest", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.raw = append(o.raw, body)
	o.headers = append(o.headers, r.Header.Clone())
	o.paths = append(o.paths, r.URL.Path)
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Write(out)
}

func (o *otlpReceiver) snapshot() ([]*tracepb.Span, []byte, []http.Header, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.spans), bytes.Join(o.raw, nil), slices.Clone(o.headers), slices.Clone(o.paths)
}

// hangupOnTwin is call control through the Twilio REST twin: the twin learns the
// call (in progress) before the hang-up reaches it, as Twilio knows every call.
type hangupOnTwin struct {
	api    *twiliorestest.API
	client *twiliorest.Client
}

func (h hangupOnTwin) Hangup(ctx context.Context, callSID string) error {
	h.api.SetCall(callSID, "in-progress")
	return h.client.Hangup(ctx, callSID)
}

func (h hangupOnTwin) Redirect(ctx context.Context, callSID, twiml string) error {
	return h.client.Redirect(ctx, callSID, twiml)
}

const (
	toolSecret   = "orders-secret-7f3a9c"
	otelSecret   = "otel-header-secret-51d2"
	toolAnswer   = "parcel-left-with-neighbour-42"
	callerNumber = "+15557770123"
)

// One simulated call through the real server with the twins, exported to an
// in-process OTLP receiver: one trace, the call span its root, a turn span per
// answer, a response span per model response, the HTTP tool's span with the
// traceparent its server saw, the approval inside it, the webhook's and the
// Twilio hang-up's spans; nothing said on the call, no secret, no full number in
// the exported bytes.
func TestFaultCallTrace(t *testing.T) {
	leakcheck.Check(t)
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()

	var tpMu sync.Mutex
	var traceparents []string
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tpMu.Lock()
		traceparents = append(traceparents, r.Header.Get("Traceparent"))
		tpMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":%q}`, toolAnswer)
	}))
	defer orders.Close()

	api := &twiliorestest.API{AccountSID: "AC" + strings.Repeat("1", 32), AuthToken: "twiliotokensecret9a8b"}
	twilio := httptest.NewServer(api)
	defer twilio.Close()

	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
		"OTEL_EXPORTER_OTLP_HEADERS":  "x-api-key=" + otelSecret,
		"OTEL_SERVICE_NAME":           "callagent-test",
	}
	tr, err := telemetry.Setup(telemetry.Options{Getenv: func(k string) string { return env[k] }, ServiceVersion: "test",
		CallModel: func() (string, string) { return "realtime", "gpt-realtime" }})
	if err != nil || tr == nil {
		t.Fatalf("Setup: %v, %v", tr, err)
	}
	defer tr.Shutdown(context.Background()) // a test that fails early leaves no exporter
	rest, err := twiliorest.New(twiliorest.Options{Credentials: twiliorest.Credentials{AccountSID: api.AccountSID, AuthToken: api.AuthToken},
		BaseURL: twilio.URL, HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: tr.Transport(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := agent.Parse("traced.yaml", []byte(`model: gpt-realtime
approval:
  policy: ask
agents:
  - name: traced
    instructions: Be brief.
    greeting: false
tools:
  - name: order_status
    description: Look up an order.
    parameters: {type: object, properties: {order: {type: string}}}
    needs_approval: true
    http:
      url: `+orders.URL+`/status
      headers:
        Authorization: Bearer ${ORDERS_KEY}
  - builtin: hang_up
`), func(k string) string {
		if k == "ORDERS_KEY" {
			return toolSecret
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	sc := &Scenario{Name: "traced", From: callerNumber, Turns: []Turn{{Say: "order status"}, {Say: "bye"}}}
	res, err := Run(context.Background(), Options{Scenario: sc, Agent: cfg, Approve: ApproveAll, OnEvent: tr.Observe,
		Runtime: func(o *agent.RuntimeOptions) {
			o.TraceParent = tr.TraceParent
			o.Calls = hangupOnTwin{api: api, client: rest}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if res.Ended.Reason != callevent.EndAgentHangup {
		t.Fatalf("call ended %s (%v), failures %q", res.Ended.Reason, res.Ended.Err, res.Failures)
	}
	callSID := res.Ended.CallSID
	spans, raw, headers, paths := recv.snapshot()
	t.Logf("exported trace:\n%s", spanTree(spans))

	if len(headers) == 0 || headers[0].Get("X-Api-Key") != otelSecret || paths[0] != "/v1/traces" {
		t.Fatalf("exports %d, first to %v with headers %v", len(headers), paths, headers)
	}
	traceID := telemetry.TraceID(callSID)
	byName := map[string][]*tracepb.Span{}
	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		if !bytes.Equal(s.TraceId, traceID[:]) {
			t.Errorf("span %q in trace %x, want the call's %s", s.Name, s.TraceId, traceID)
		}
		byName[s.Name] = append(byName[s.Name], s)
		byID[hex.EncodeToString(s.SpanId)] = s
	}
	one := func(name string) *tracepb.Span {
		t.Helper()
		if len(byName[name]) != 1 {
			t.Fatalf("%d spans named %q, want 1", len(byName[name]), name)
		}
		return byName[name][0]
	}
	call := one("call")
	callID := telemetry.CallSpanID(callSID)
	if len(call.ParentSpanId) != 0 || !bytes.Equal(call.SpanId, callID[:]) {
		t.Fatalf("call span %x parent %x: want the root, %s", call.SpanId, call.ParentSpanId, callID)
	}
	childOf := func(s, parent *tracepb.Span) {
		t.Helper()
		if !bytes.Equal(s.ParentSpanId, parent.SpanId) {
			t.Errorf("span %q has parent %x, want %q (%x)", s.Name, s.ParentSpanId, parent.Name, parent.SpanId)
		}
		if s.StartTimeUnixNano < parent.StartTimeUnixNano || s.StartTimeUnixNano > s.EndTimeUnixNano {
			t.Errorf("span %q [%d, %d] not within %q from %d", s.Name, s.StartTimeUnixNano, s.EndTimeUnixNano, parent.Name, parent.StartTimeUnixNano)
		}
	}
	attrs := func(s *tracepb.Span) map[string]string {
		m := map[string]string{}
		for _, kv := range s.Attributes {
			m[kv.Key] = anyValue(kv.Value)
		}
		return m
	}
	ca := attrs(call)
	for k, want := range map[string]string{"callagent.call_sid": callSID, "callagent.end_reason": "agent_hangup",
		"callagent.engine": "realtime", "gen_ai.request.model": "gpt-realtime", "callagent.from": "+15*******23",
		"callagent.turns": fmt.Sprint(res.Ended.Turns), "callagent.tool_calls": fmt.Sprint(res.Ended.ToolCalls)} {
		if ca[k] != want {
			t.Errorf("call span %s = %q, want %q", k, ca[k], want)
		}
	}
	if _, ok := ca["callagent.cost_usd"]; !ok && res.Ended.CostUSD != nil {
		t.Errorf("call span without its cost %v", *res.Ended.CostUSD)
	}
	webhook := one("POST /incoming-call")
	childOf(webhook, call)
	if webhook.StartTimeUnixNano != call.StartTimeUnixNano {
		t.Errorf("the call span starts at %d, not at the webhook's %d", call.StartTimeUnixNano, webhook.StartTimeUnixNano)
	}
	turns := byName["turn"]
	if len(turns) != res.Ended.Turns || len(turns) < 2 {
		t.Errorf("%d turn spans, the call had %d turns", len(turns), res.Ended.Turns)
	}
	for _, s := range turns {
		childOf(s, call)
		if attrs(s)["callagent.turn.latency_ms"] == "" {
			t.Errorf("turn span without its latency: %v", attrs(s))
		}
	}
	if len(byName["response"]) < len(turns) {
		t.Errorf("%d response spans for %d turns", len(byName["response"]), len(turns))
	}
	for _, s := range byName["response"] {
		childOf(s, call)
	}
	tool := one("tool order_status")
	childOf(tool, call)
	ta := attrs(tool)
	toolID := telemetry.ToolSpanID(callSID, ta["gen_ai.tool.call.id"])
	if !bytes.Equal(tool.SpanId, toolID[:]) || ta["callagent.tool.outcome"] != "ok" {
		t.Errorf("tool span %x %v, want ID %s and outcome ok", tool.SpanId, ta, toolID)
	}
	wantTP := "00-" + traceID.String() + "-" + toolID.String() + "-01"
	tpMu.Lock()
	if len(traceparents) != 1 || traceparents[0] != wantTP {
		t.Errorf("the tool's server saw traceparent %q, want %q", traceparents, wantTP)
	}
	tpMu.Unlock()
	approval := one("approval")
	childOf(approval, tool)
	if attrs(approval)["callagent.approval.approved"] != "true" {
		t.Errorf("approval span %v", attrs(approval))
	}
	childOf(one("tool hang_up"), call)
	hangup := one("twilio POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json")
	if !bytes.Equal(hangup.ParentSpanId, call.SpanId) || attrs(hangup)["http.response.status_code"] != "200" {
		t.Errorf("Twilio span parent %x attrs %v", hangup.ParentSpanId, attrs(hangup))
	}

	// Nothing said on the call, no secret, no full number: anywhere in the bytes.
	forbidden := []string{toolSecret, otelSecret, api.AuthToken, toolAnswer, callerNumber, "order status"}
	for _, ev := range res.Events {
		switch e := ev.(type) {
		case callevent.CallerTranscript:
			forbidden = append(forbidden, e.Text)
		case callevent.AgentTranscript:
			forbidden = append(forbidden, e.Text)
		case callevent.ToolCall:
			if len(e.Arguments) > 4 {
				forbidden = append(forbidden, e.Arguments)
			}
		}
	}
	for _, f := range forbidden {
		if f != "" && bytes.Contains(bytes.ToLower(raw), []byte(strings.ToLower(f))) {
			t.Errorf("the exported bytes hold %q", f)
		}
	}
}

func anyValue(v *commonpb.AnyValue) string {
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	}
	return v.String()
}

// spanTree draws the spans as a tree, children by start time, ms from the root.
func spanTree(spans []*tracepb.Span) string {
	kids := map[string][]*tracepb.Span{}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[hex.EncodeToString(s.SpanId)] = true
	}
	var roots []*tracepb.Span
	for _, s := range spans {
		p := hex.EncodeToString(s.ParentSpanId)
		if p == "" || !ids[p] {
			roots = append(roots, s)
			continue
		}
		kids[p] = append(kids[p], s)
	}
	var b strings.Builder
	var walk func(s *tracepb.Span, depth int, t0 uint64)
	walk = func(s *tracepb.Span, depth int, t0 uint64) {
		var keys []string
		for _, kv := range s.Attributes {
			keys = append(keys, kv.Key+"="+anyValue(kv.Value))
		}
		fmt.Fprintf(&b, "%s%s [+%dms, %dms] %s\n", strings.Repeat("  ", depth), s.Name, (s.StartTimeUnixNano-t0)/1e6,
			(s.EndTimeUnixNano-s.StartTimeUnixNano)/1e6, strings.Join(keys, " "))
		children := kids[hex.EncodeToString(s.SpanId)]
		sort.Slice(children, func(i, j int) bool { return children[i].StartTimeUnixNano < children[j].StartTimeUnixNano })
		for _, c := range children {
			walk(c, depth+1, t0)
		}
	}
	for _, r := range roots {
		fmt.Fprintf(&b, "trace %x\n", r.TraceId)
		walk(r, 0, r.StartTimeUnixNano)
	}
	return b.String()
}
