package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

var weatherSchema = json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)

func weatherTool(calls *atomic.Int32) session.Tool {
	return session.NewTool(session.ToolSpec{Name: "weather", Description: "Current weather for a city", Parameters: weatherSchema},
		func(ctx context.Context, args json.RawMessage) (string, error) {
			calls.Add(1)
			var a struct{ City string }
			if err := json.Unmarshal(args, &a); err != nil {
				return "", err
			}
			return `{"city":"` + a.City + `","sky":"sunny"}`, nil
		})
}

// runToolCall runs one function call through the bridge and returns the output the model
// received and the call's events.
type toolCase struct {
	tools    []session.Tool
	approver session.Approver
	call     realtimetest.FunctionCall
	timeout  time.Duration
}

func runToolCall(t *testing.T, tcase toolCase) (realtime.Item, *recorder, *realtimetest.ModelConn) {
	t.Helper()
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(50, 800), Transcript: "Here you go"}}}
	}}
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) {
		o.Agent.Tools = tcase.tools
		o.Approver = tcase.approver
		o.ToolTimeout = tcase.timeout
		o.Debug = true // callevent.RawFrame events show every event the bridge sent
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, c, mc, rec := tc.Ctx, tc.Caller, tc.Model, tc.Rec
	reply := mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &tcase.call}}})
	res := waitEvent[callevent.ToolResult](ctx, t, rec, 1)
	out := tc.FunctionOutput()
	reply.Wait(ctx)
	if out.CallID != reply.CallIDs[0] || out.Output != res.Output {
		t.Fatalf("output %+v does not answer call %s with %q", out, reply.CallIDs[0], res.Output)
	}
	if !res.Background {
		if _, err := mc.WaitEvent(ctx, realtime.TypeResponseCreate, 1); err != nil {
			t.Fatal("no response.create after the tool result:", err)
		}
		// The model's answer to the result is played.
		if err := c.WaitReceived(ctx, 800); err != nil {
			t.Fatal(err)
		}
	}
	tc.Hangup()
	noModelErrors(t, mc)
	return out, rec, mc
}

func TestToolRoundTrip(t *testing.T) {
	var calls atomic.Int32
	out, rec, mc := runToolCall(t, toolCase{
		tools: []session.Tool{weatherTool(&calls)},
		call:  realtimetest.FunctionCall{Name: "weather", Arguments: `{"city":"Paris"}`},
	})
	if calls.Load() != 1 || out.Output != `{"city":"Paris","sky":"sunny"}` {
		t.Fatalf("calls %d, output %q", calls.Load(), out.Output)
	}
	call := eventsOf[callevent.ToolCall](rec)
	if len(call) != 1 || call[0].Name != "weather" || call[0].Arguments != `{"city":"Paris"}` {
		t.Fatalf("ToolCall events %+v", call)
	}
	if tools := mc.SessionUpdates()[0].Tools; len(tools) != 1 || tools[0].Name != "weather" || string(tools[0].Parameters) != string(weatherSchema) {
		t.Fatalf("tools offered: %+v", tools)
	}
}

func TestFailingToolsReportToTheModel(t *testing.T) {
	tests := []struct {
		name    string
		fn      func(ctx context.Context, args json.RawMessage) (string, error)
		call    string
		timeout time.Duration
		want    string
	}{
		{name: "error", fn: func(context.Context, json.RawMessage) (string, error) { return "", errors.New("database unavailable") },
			want: "Error: database unavailable"},
		{name: "panic", fn: func(context.Context, json.RawMessage) (string, error) { panic("nil map") },
			want: "Error: tool panicked: nil map"},
		{name: "timeout", timeout: 50 * time.Millisecond,
			fn:   func(ctx context.Context, _ json.RawMessage) (string, error) { <-ctx.Done(); return "", ctx.Err() },
			want: "Error: lookup timed out after 50ms"},
		{name: "unknown tool", call: "transfer_money",
			fn:   func(context.Context, json.RawMessage) (string, error) { return "unreachable", nil },
			want: `Error: there is no tool named "transfer_money"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.call
			if name == "" {
				name = "lookup"
			}
			out, rec, _ := runToolCall(t, toolCase{
				tools:   []session.Tool{session.NewTool(session.ToolSpec{Name: "lookup"}, tt.fn)},
				call:    realtimetest.FunctionCall{Name: name, Arguments: `{}`},
				timeout: tt.timeout,
			})
			if out.Output != tt.want {
				t.Fatalf("model got %q, want %q", out.Output, tt.want)
			}
			if res := eventsOf[callevent.ToolResult](rec); len(res) != 1 || res[0].Err == nil {
				t.Fatalf("ToolResult %+v", res)
			}
		})
	}
}

func TestToolApproval(t *testing.T) {
	tests := []struct {
		name     string
		approver session.Approver
		runs     bool
		reason   string
	}{
		{"approved", session.ApproverFunc(func(ctx context.Context, r session.ApprovalRequest) (bool, error) { return true, nil }), true, ""},
		{"denied", session.ApproverFunc(func(ctx context.Context, r session.ApprovalRequest) (bool, error) { return false, nil }), false, "denied"},
		{"approver fails", session.ApproverFunc(func(ctx context.Context, r session.ApprovalRequest) (bool, error) {
			return false, errors.New("approval service down")
		}), false, "approval service down"},
		{"no approver", nil, false, "no approver is configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var seen []session.ApprovalRequest
			approver := tt.approver
			if approver != nil {
				approver = session.ApproverFunc(func(ctx context.Context, r session.ApprovalRequest) (bool, error) {
					seen = append(seen, r)
					return tt.approver.Approve(ctx, r)
				})
			}
			tool := session.NewTool(session.ToolSpec{Name: "refund", NeedsApproval: true},
				func(context.Context, json.RawMessage) (string, error) { calls.Add(1); return "refunded", nil })
			out, rec, _ := runToolCall(t, toolCase{tools: []session.Tool{tool}, approver: approver,
				call: realtimetest.FunctionCall{Name: "refund", Arguments: `{"amount":20}`}})
			if ran := calls.Load() == 1; ran != tt.runs {
				t.Fatalf("tool ran: %v, want %v", ran, tt.runs)
			}
			d := waitEvent[callevent.ToolApprovalDecided](timeout(t, time.Second), t, rec, 1)
			if d.Approved != tt.runs || d.Reason != tt.reason {
				t.Fatalf("decision %+v", d)
			}
			if tt.runs && out.Output != "refunded" {
				t.Fatalf("output %q", out.Output)
			}
			if !tt.runs && !strings.Contains(out.Output, "not approved") {
				t.Fatalf("denied call told the model %q", out.Output)
			}
			if approver != nil && (len(seen) != 1 || seen[0].Name != "refund" || seen[0].Arguments != `{"amount":20}` || seen[0].CallSID == "") {
				t.Fatalf("approver saw %+v", seen)
			}
		})
	}
}

func TestBackgroundToolResult(t *testing.T) {
	tool := session.NewTool(session.ToolSpec{Name: "log_note", Background: true},
		func(context.Context, json.RawMessage) (string, error) { return "noted", nil })
	out, rec, mc := runToolCall(t, toolCase{tools: []session.Tool{tool}, call: realtimetest.FunctionCall{Name: "log_note", Arguments: `{}`}})
	if out.Output != "noted" {
		t.Fatalf("output %q", out.Output)
	}
	// The call is over and all its goroutines joined: every event the bridge tried to
	// send is in the trace.
	for _, f := range eventsOf[callevent.RawFrame](rec) {
		if f.Sent && f.Type == realtime.TypeResponseCreate {
			t.Fatal("a background result triggered a response.create")
		}
	}
	if n := len(mc.Received(realtime.TypeResponseCreate)); n != 0 {
		t.Fatalf("a background result triggered %d response.create", n)
	}
}

// A tool result that arrives while the model is still speaking waits for response.done
// before response.create: the API rejects a second active response.
func TestResponseCreateWaitsForActiveResponse(t *testing.T) {
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(60, 800)}}}
	}}
	var calls atomic.Int32
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) { o.Agent.Tools = []session.Tool{weatherTool(&calls)} }})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, mc, rec := tc.Ctx, tc.Model, tc.Rec
	// The function call comes first; the response goes on speaking for a while.
	reply := mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{
		{FunctionCall: &realtimetest.FunctionCall{Name: "weather", Arguments: `{"city":"Oslo"}`}},
		{Audio: noise(61, 8000), Transcript: "Let me check that for you"},
	}, ChunkBytes: 800, Pace: 30 * time.Millisecond})
	waitEvent[callevent.ToolResult](ctx, t, rec, 1)
	if !mc.Active() {
		t.Fatal("test setup: the response ended before the tool result")
	}
	// The fake model answers a response.create during an active response with
	// conversation_already_has_active_response, which noModelErrors reports.
	if _, err := mc.WaitEvent(ctx, realtime.TypeResponseCreate, 1); err != nil {
		t.Fatal(err)
	}
	if reply.Wait(ctx); reply.Status != realtime.StatusCompleted {
		t.Fatalf("first response %s", reply.Status)
	}
	noModelErrors(t, mc)
	tc.Hangup()
}

func TestMCPApproval(t *testing.T) {
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(70, 800)}}}
	}}
	var asked session.ApprovalRequest
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) {
		o.Agent.HostedTools = []realtime.Tool{{Type: "mcp", ServerLabel: "crm", ServerURL: "https://mcp.example.com", RequireApproval: json.RawMessage(`"always"`)}}
		o.Approver = session.ApproverFunc(func(ctx context.Context, r session.ApprovalRequest) (bool, error) {
			asked = r
			return true, nil
		})
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, mc := tc.Ctx, tc.Model
	reply := mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{MCPApproval: &realtimetest.MCPApproval{ServerLabel: "crm", Name: "update_contact", Arguments: `{"id":7}`}}}})
	if _, err := mc.WaitEvent(ctx, realtime.TypeResponseCreate, 1); err != nil {
		t.Fatal(err)
	}
	reply.Wait(ctx)
	items := mc.CreatedItems()
	if len(items) != 1 || items[0].Type != realtime.ItemMCPApprovalResponse || items[0].ApprovalRequestID != reply.ItemIDs[0] ||
		items[0].Approve == nil || !*items[0].Approve {
		t.Fatalf("approval response %+v", items)
	}
	if asked.Name != "crm.update_contact" || asked.Arguments != `{"id":7}` {
		t.Fatalf("approver asked %+v", asked)
	}
	if tools := mc.SessionUpdates()[0].Tools; len(tools) != 1 || tools[0].Type != "mcp" || tools[0].ServerLabel != "crm" {
		t.Fatalf("hosted tools not passed through: %+v", tools)
	}
	tc.Hangup()
	noModelErrors(t, mc)
}

func TestDTMFReachesTheModel(t *testing.T) {
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(80, 800)}}}
	}}
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) { o.DTMFDebounce = 200 * time.Millisecond }})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, c, mc, rec := tc.Ctx, tc.Caller, tc.Model, tc.Rec
	for _, d := range []string{"4", "2", "#", "7"} {
		c.SendDTMF(d)
	}
	// "4 2 #" goes at once on '#'; "7" after the quiet period.
	for n, want := range []string{"4 2 #", "7"} {
		if err := mc.WaitFor(ctx, "DTMF message", func() bool { return len(mc.CreatedItems()) > n }); err != nil {
			t.Fatal(err)
		}
		it := mc.CreatedItems()[n]
		if it.Type != realtime.ItemMessage || it.Role != "user" || len(it.Content) != 1 || !strings.Contains(it.Content[0].Text, "pressed "+want+" on the phone keypad") {
			t.Fatalf("DTMF item %d = %+v, want %q", n, it, want)
		}
	}
	if _, err := mc.WaitEvent(ctx, realtime.TypeResponseCreate, 2); err != nil {
		t.Fatal(err)
	}
	if d := eventsOf[callevent.DTMF](rec); len(d) != 4 {
		t.Fatalf("%d DTMF events", len(d))
	}
	tc.Hangup()
	noModelErrors(t, mc)
}

func TestInvalidTools(t *testing.T) {
	ok := func(context.Context, json.RawMessage) (string, error) { return "", nil }
	for _, tools := range [][]session.Tool{
		{session.NewTool(session.ToolSpec{Name: "has space"}, ok)},
		{session.NewTool(session.ToolSpec{Name: "a"}, ok), session.NewTool(session.ToolSpec{Name: "a"}, ok)},
		{session.NewTool(session.ToolSpec{Name: "b", Parameters: json.RawMessage(`[1]`)}, ok)},
	} {
		_, err := session.New(session.Options{Caller: nopCaller{}, Dial: func(context.Context) (session.ModelLeg, error) { return nil, nil },
			Agent: session.Agent{Tools: tools}})
		if err == nil {
			t.Errorf("tools %v accepted", tools[0].Spec().Name)
		}
	}
}

// Keys pressed while the model connects are delivered after the session is set up.
func TestDTMFBeforeModelReady(t *testing.T) {
	b := newBridge(t, bridgeConfig{Model: &realtimetest.Model{AcceptDelay: 200 * time.Millisecond}})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{})
	c.SendDTMF("5")
	c.SendDTMF("#")
	mc := b.ModelFor(ctx, c.CallSID())
	if err := mc.WaitFor(ctx, "the DTMF message", func() bool { return len(mc.CreatedItems()) == 1 }); err != nil {
		t.Fatal(err)
	}
	evs := mc.Received("")
	if evs[0].EventType() != realtime.TypeSessionUpdate || !strings.Contains(mc.CreatedItems()[0].Content[0].Text, "pressed 5 #") {
		t.Fatalf("events %v, item %+v", evs, mc.CreatedItems()[0])
	}
	c.Hangup()
	b.Ended(ctx, c.CallSID())
}

// While the model connects, a full buffer drops the oldest audio, never a key
// press: the digits reach the model, and the kept audio is the newest.
func TestDTMFKeptWhenTheBufferOverflows(t *testing.T) {
	b := newBridge(t, bridgeConfig{Model: &realtimetest.Model{AcceptDelay: 600 * time.Millisecond},
		Options: func(o *session.Options) { o.MaxBufferedAudio = 100 * time.Millisecond }})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{})
	c.SendDTMF("7")
	c.SendDTMF("#") // delivered at once, not after the debounce: queued before the audio
	time.Sleep(50 * time.Millisecond)
	audio := noise(21, 20*twiliotest.FrameBytes) // 400 ms; 100 ms of base64 holds 4 frames
	c.Say(audio)
	if err := c.WaitSent(ctx); err != nil {
		t.Fatal(err)
	}
	mc := b.ModelFor(ctx, c.CallSID())
	if err := mc.WaitFor(ctx, "the DTMF message", func() bool { return len(mc.CreatedItems()) == 1 }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mc.CreatedItems()[0].Content[0].Text, "pressed 7 #") {
		t.Fatalf("item %+v", mc.CreatedItems()[0])
	}
	ev := waitEvent[callevent.ModelConnected](ctx, t, b.Events(c.CallSID()), 1)
	if ev.BufferedFrames != 4 || ev.DroppedFrames != 16 {
		t.Fatalf("ModelConnected %+v: want the 4 newest frames of 20 kept", ev)
	}
	if err := mc.WaitAudio(ctx, 4*twiliotest.FrameBytes); err != nil || !bytes.Equal(mc.AudioIn()[:4*twiliotest.FrameBytes], audio[16*twiliotest.FrameBytes:]) {
		t.Fatalf("the audio kept is not the newest: %v", err)
	}
	c.Hangup()
	b.Ended(ctx, c.CallSID())
}

// A denied hosted MCP call tells the model why, in the approval response's reason,
// and the decision event keeps the same reason.
func TestMCPApprovalDeniedPassesReason(t *testing.T) {
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(71, 800)}}}
	}}
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) {
		o.Agent.HostedTools = []realtime.Tool{{Type: "mcp", ServerLabel: "crm", ServerURL: "https://mcp.example.com", RequireApproval: json.RawMessage(`"always"`)}}
		o.Approver = session.ApproverFunc(func(ctx context.Context, r session.ApprovalRequest) (bool, error) {
			return false, errors.New("contacts are read-only on weekends")
		})
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, mc, rec := tc.Ctx, tc.Model, tc.Rec
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{MCPApproval: &realtimetest.MCPApproval{ServerLabel: "crm", Name: "update_contact", Arguments: `{"id":7}`}}}}).Wait(ctx)
	if _, err := mc.WaitEvent(ctx, realtime.TypeResponseCreate, 1); err != nil {
		t.Fatal(err)
	}
	const why = "contacts are read-only on weekends"
	items := mc.CreatedItems()
	if len(items) != 1 || items[0].Type != realtime.ItemMCPApprovalResponse || items[0].Approve == nil || *items[0].Approve ||
		items[0].Reason != why {
		t.Fatalf("approval response %+v, want a denial with reason %q", items, why)
	}
	if d := waitEvent[callevent.ToolApprovalDecided](ctx, t, rec, 1); d.Approved || d.Reason != why {
		t.Fatalf("decision %+v", d)
	}
	tc.Hangup()
	noModelErrors(t, mc)
}
