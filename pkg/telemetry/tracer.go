package telemetry

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/callagent/callagent/pkg/callevent"
)

// Attribute keys. Values are identifiers, names, numbers and outcomes: never what
// was said.
const (
	attrCallSID      = "callagent.call_sid"
	attrFrom         = "callagent.from" // masked
	attrTo           = "callagent.to"   // masked
	attrEngine       = "callagent.engine"
	attrModel        = "gen_ai.request.model"
	attrEndReason    = "callagent.end_reason"
	attrCost         = "callagent.cost_usd"
	attrTurns        = "callagent.turns"
	attrToolCalls    = "callagent.tool_calls"
	attrInterrupts   = "callagent.interruptions"
	attrLatency      = "callagent.turn.latency_ms"
	attrTurn         = "callagent.turn.index"
	attrResponseID   = "gen_ai.response.id"
	attrStatus       = "callagent.response.status"
	attrReason       = "callagent.response.reason"
	attrInTokens     = "gen_ai.usage.input_tokens"
	attrOutTokens    = "gen_ai.usage.output_tokens"
	attrTotalTokens  = "callagent.usage.total_tokens"
	attrToolName     = "gen_ai.tool.name"
	attrToolCallID   = "gen_ai.tool.call.id"
	attrToolOutcome  = "callagent.tool.outcome"
	attrToolDuration = "callagent.tool.duration_ms"
	attrBackground   = "callagent.tool.background"
	attrApproved     = "callagent.approval.approved"
	attrMethod       = "http.request.method"
	attrRoute        = "http.route"
	attrURLTemplate  = "url.template"
	attrStatusCode   = "http.response.status_code"
	attrServer       = "server.address"
	attrAnswer       = "callagent.twiml"
	attrDial         = "callagent.model.dial_ms"
)

// webhooksKept bounds the webhook times kept for calls whose stream has not come
// (it may have reached another instance); older ones go first.
const (
	webhooksKept = 256
	webhookAge   = 10 * time.Minute
)

// callState is what a running call's spans need between its events.
type callState struct {
	ctx           context.Context // carries the call span
	span          trace.Span
	asked         time.Time // when the next model response was asked for
	speechStopped time.Time
	turns         int
	tools         map[string]openTool // by the model's call_id
	approvals     map[string]trace.Span
	model         string
}

type openTool struct {
	ctx  context.Context
	span trace.Span
}

// Observe turns one call event into spans. It is Config.OnEvent's kind of
// function: called from each call's event goroutine and the server's request
// goroutines, concurrently; never from the audio path.
func (t *Tracer) Observe(ev callevent.Event) {
	if t == nil {
		return
	}
	switch ev.(type) {
	case callevent.HTTPRequest, callevent.CallStarted, callevent.ModelConnected, callevent.SpeechStopped,
		callevent.TurnLatency, callevent.ResponseDone, callevent.ToolCall, callevent.ToolApprovalRequested,
		callevent.ToolApprovalDecided, callevent.ToolResult, callevent.Interruption, callevent.ModelError,
		callevent.Warning, callevent.AgentChanged, callevent.CallUsage, callevent.CallEnded:
	default:
		return // transcripts, frames, statistics: nothing to trace
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := ev.EventHeader()
	st := t.calls[h.CallSID]
	switch e := ev.(type) {
	case callevent.HTTPRequest:
		t.request(st, e)
	case callevent.CallStarted:
		t.started(e)
	case callevent.Warning:
		if e.Code == callevent.WarnNoMediaStream {
			delete(t.webhooks, h.CallSID)
		}
		if st != nil {
			st.span.AddEvent("warning", trace.WithTimestamp(h.Time), trace.WithAttributes(attribute.String("callagent.warning.code", e.Code)))
		}
	}
	if st == nil {
		return
	}
	switch e := ev.(type) {
	case callevent.ModelConnected:
		st.asked = h.Time // the greeting, when there is one
		st.span.SetAttributes(attribute.Int64(attrDial, e.DialTime.Milliseconds()))
	case callevent.SpeechStopped:
		st.speechStopped, st.asked = h.Time, h.Time
	case callevent.TurnLatency:
		start := st.speechStopped
		if start.IsZero() || start.After(h.Time) {
			start = h.Time.Add(-e.Latency)
		}
		st.speechStopped = time.Time{}
		st.turns++
		_, span := t.tracer.Start(st.ctx, "turn", trace.WithTimestamp(start), trace.WithAttributes(
			attribute.Int(attrTurn, st.turns), attribute.String(attrResponseID, e.ResponseID),
			attribute.Float64(attrLatency, float64(e.Latency)/float64(time.Millisecond))))
		span.End(trace.WithTimestamp(h.Time))
	case callevent.ResponseDone:
		start := st.asked
		if start.IsZero() || start.After(h.Time) {
			start = h.Time
		}
		st.asked = h.Time // a response asked for by nothing newer follows this one
		attrs := []attribute.KeyValue{attribute.String(attrResponseID, e.ResponseID), attribute.String(attrStatus, e.Status)}
		if e.Reason != "" {
			attrs = append(attrs, attribute.String(attrReason, e.Reason))
		}
		if e.Usage != nil {
			attrs = append(attrs, attribute.Int(attrInTokens, e.Usage.InputTokens), attribute.Int(attrOutTokens, e.Usage.OutputTokens),
				attribute.Int(attrTotalTokens, e.Usage.TotalTokens))
		}
		if st.model != "" {
			attrs = append(attrs, attribute.String(attrModel, st.model))
		}
		_, span := t.tracer.Start(st.ctx, "response", trace.WithTimestamp(start), trace.WithAttributes(attrs...))
		if e.Status == "failed" || e.Status == "incomplete" {
			span.SetStatus(codes.Error, "response "+e.Status)
		}
		span.End(trace.WithTimestamp(h.Time))
	case callevent.ToolCall:
		t.toolStarted(st, h, e.CallID, e.Name)
	case callevent.ToolApprovalRequested:
		parent := st.ctx
		if tool, ok := st.tools[e.CallID]; ok {
			parent = tool.ctx
		}
		_, span := t.tracer.Start(parent, "approval", trace.WithTimestamp(h.Time),
			trace.WithAttributes(attribute.String(attrToolName, e.Name), attribute.String(attrToolCallID, e.CallID)))
		st.approvals[e.CallID] = span
	case callevent.ToolApprovalDecided:
		if span, ok := st.approvals[e.CallID]; ok {
			span.SetAttributes(attribute.Bool(attrApproved, e.Approved))
			span.End(trace.WithTimestamp(h.Time))
			delete(st.approvals, e.CallID)
		}
	case callevent.ToolResult:
		tool, ok := st.tools[e.CallID]
		if !ok { // a result without its call event: the span from its duration
			tool = t.toolStarted(st, callevent.Header{Time: h.Time.Add(-e.Duration), CallSID: h.CallSID}, e.CallID, e.Name)
		}
		delete(st.tools, e.CallID)
		outcome := "ok"
		if e.Err != nil {
			outcome = "error"
			// The error's text may quote what a service answered: not in a span.
			tool.span.SetStatus(codes.Error, "the tool failed")
		}
		tool.span.SetAttributes(attribute.String(attrToolOutcome, outcome),
			attribute.Float64(attrToolDuration, float64(e.Duration)/float64(time.Millisecond)), attribute.Bool(attrBackground, e.Background))
		tool.span.End(trace.WithTimestamp(h.Time))
		st.asked = h.Time // its output goes back to the model, which answers
	case callevent.Interruption:
		st.span.AddEvent("interruption", trace.WithTimestamp(h.Time), trace.WithAttributes(
			attribute.String(attrResponseID, e.ResponseID), attribute.Int("callagent.heard_ms", e.HeardMs),
			attribute.Bool("callagent.cleared", e.Cleared)))
	case callevent.ModelError:
		// Type and code only: the message may quote the conversation.
		st.span.AddEvent("model.error", trace.WithTimestamp(h.Time), trace.WithAttributes(
			attribute.String("callagent.error.type", e.Type), attribute.String("callagent.error.code", e.Code)))
	case callevent.AgentChanged:
		st.span.AddEvent("agent.changed", trace.WithTimestamp(h.Time), trace.WithAttributes(
			attribute.String("callagent.agent.from", e.From), attribute.String("callagent.agent.to", e.To)))
	case callevent.CallUsage:
		if e.Model != "" {
			st.model = e.Model
			st.span.SetAttributes(attribute.String(attrModel, e.Model))
		}
	case callevent.CallEnded:
		t.ended(st, e)
	}
}

// request is a span for a request Twilio made to the server about a call (the
// voice webhook, the stream's status callbacks, the Connect action): a child of
// the call span, whichever instance runs the call.
func (t *Tracer) request(st *callState, e callevent.HTTPRequest) {
	start := e.Time.Add(-e.Duration)
	if strings.HasSuffix(e.Path, "/incoming-call") {
		if _, known := t.webhooks[e.CallSID]; !known {
			t.pruneWebhooks(e.Time)
			t.webhooks[e.CallSID] = start
		}
	}
	parent := t.remoteCall(e.CallSID)
	if st != nil {
		parent = st.ctx
	}
	route := e.Path
	if i := strings.LastIndexByte(route, '/'); i >= 0 {
		route = route[i:] // the route, not a deployment's path prefix
	}
	_, span := t.tracer.Start(parent, e.Method+" "+route, trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String(attrMethod, e.Method), attribute.String(attrRoute, route),
			attribute.Int(attrStatusCode, e.Status), attribute.String(attrAnswer, e.Answer), attribute.String(attrCallSID, e.CallSID)))
	span.End(trace.WithTimestamp(e.Time))
}

func (t *Tracer) pruneWebhooks(now time.Time) {
	if len(t.webhooks) < webhooksKept {
		return
	}
	for sid, at := range t.webhooks {
		if now.Sub(at) > webhookAge {
			delete(t.webhooks, sid)
		}
	}
}

// started opens the call span: from this instance's webhook when it answered it,
// else from the stream's start.
func (t *Tracer) started(e callevent.CallStarted) {
	if _, running := t.calls[e.CallSID]; running {
		return
	}
	start := e.Time
	if at, ok := t.webhooks[e.CallSID]; ok && at.Before(start) {
		start = at
	}
	delete(t.webhooks, e.CallSID)
	attrs := []attribute.KeyValue{attribute.String(attrCallSID, e.CallSID), attribute.String(attrFrom, MaskNumber(e.From)),
		attribute.String(attrTo, MaskNumber(e.To))}
	st := &callState{tools: map[string]openTool{}, approvals: map[string]trace.Span{}}
	if t.opts.CallModel != nil {
		engine, model := t.opts.CallModel()
		st.model = model
		attrs = append(attrs, attribute.String(attrEngine, engine), attribute.String(attrModel, model))
	}
	ctx := withIDs(context.Background(), TraceID(e.CallSID), CallSpanID(e.CallSID))
	_, st.span = t.tracer.Start(ctx, "call", trace.WithNewRoot(), trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	st.ctx = trace.ContextWithSpan(context.Background(), st.span) // without the forced IDs
	t.calls[e.CallSID] = st
}

func (t *Tracer) toolStarted(st *callState, h callevent.Header, callID, name string) openTool {
	ctx := withIDs(st.ctx, trace.TraceID{}, ToolSpanID(h.CallSID, callID))
	_, span := t.tracer.Start(ctx, "tool "+name, trace.WithTimestamp(h.Time), trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String(attrToolName, name), attribute.String(attrToolCallID, callID)))
	tool := openTool{ctx: trace.ContextWithSpan(context.Background(), span), span: span}
	st.tools[callID] = tool
	return tool
}

func (t *Tracer) ended(st *callState, e callevent.CallEnded) {
	attrs := []attribute.KeyValue{attribute.String(attrEndReason, string(e.Reason)), attribute.Int(attrTurns, e.Turns),
		attribute.Int(attrToolCalls, e.ToolCalls), attribute.Int(attrInterrupts, e.Interruptions)}
	if e.CostUSD != nil {
		attrs = append(attrs, attribute.Float64(attrCost, *e.CostUSD))
	}
	st.span.SetAttributes(attrs...)
	switch e.Reason {
	case callevent.EndModelDisconnected, callevent.EndModelDialFailed, callevent.EndModelRejected:
		st.span.SetStatus(codes.Error, string(e.Reason))
	}
	st.endChildren(e.Time)
	st.span.End(trace.WithTimestamp(e.Time))
	delete(t.calls, e.CallSID)
}

// endChildren ends the tool and approval spans the call's end left open.
func (st *callState) endChildren(at time.Time) {
	for id, tool := range st.tools {
		tool.span.SetAttributes(attribute.String(attrToolOutcome, "unfinished"))
		tool.span.End(trace.WithTimestamp(at))
		delete(st.tools, id)
	}
	for id, span := range st.approvals {
		span.End(trace.WithTimestamp(at))
		delete(st.approvals, id)
	}
}

// remoteCall is a context whose parent is the call span of callSID, wherever it
// runs, sampled as the call span is.
func (t *Tracer) remoteCall(callSID string) context.Context {
	return trace.ContextWithRemoteSpanContext(context.Background(), t.callSpanContext(callSID))
}

func (t *Tracer) callSpanContext(callSID string) trace.SpanContext {
	tid := TraceID(callSID)
	var flags trace.TraceFlags
	if t.sampled(tid) {
		flags = trace.FlagsSampled
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: CallSpanID(callSID), TraceFlags: flags, Remote: true})
}

// sampled is the sampler's decision for a call's trace, the same on every
// instance: the ratio sampler decides on the trace ID alone.
func (t *Tracer) sampled(tid trace.TraceID) bool {
	return t.root.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tid, Name: "call"}).Decision ==
		sdktrace.RecordAndSample
}

// TraceParent is the W3C traceparent header for the HTTP request of the tool
// call toolCallID of callSID: it names the tool's span. "" when tracing is off.
func (t *Tracer) TraceParent(callSID, toolCallID string) string {
	if t == nil || callSID == "" || toolCallID == "" {
		return ""
	}
	tid := TraceID(callSID)
	flags := "00"
	if t.sampled(tid) {
		flags = "01"
	}
	return "00-" + tid.String() + "-" + ToolSpanID(callSID, toolCallID).String() + "-" + flags
}

// MaskNumber hides a phone number but for its first two digits (the country) and
// its last two: "+15550100001" → "+15*******01". Other addresses (client:, sip:)
// keep only their scheme.
func MaskNumber(n string) string {
	if n == "" {
		return ""
	}
	if scheme, _, ok := strings.Cut(n, ":"); ok {
		return scheme + ":***"
	}
	var b strings.Builder
	digits := 0
	for _, r := range n {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	seen := 0
	for _, r := range n {
		switch {
		case r >= '0' && r <= '9':
			seen++
			if seen <= 2 || seen > digits-2 && digits > 4 {
				b.WriteRune(r)
			} else {
				b.WriteByte('*')
			}
		case r == '+':
			b.WriteRune(r)
		}
	}
	return b.String()
}
