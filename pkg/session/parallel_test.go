package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// With parallel_tool_calls a response makes several function calls. They run at
// once (approvals as for one call); the model gets every output, in the calls'
// order, and then one response.create: not one per output, which would have it
// answer before it has the other results.
func TestFaultParallelToolCallsGetOneResponse(t *testing.T) {
	release := make(chan struct{})
	slow := session.NewTool(session.ToolSpec{Name: "slow_lookup"}, func(ctx context.Context, _ json.RawMessage) (string, error) {
		select {
		case <-release:
			return "slow result", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	fast := session.NewTool(session.ToolSpec{Name: "fast_lookup", NeedsApproval: true}, func(context.Context, json.RawMessage) (string, error) {
		return "fast result", nil
	})
	failing := session.NewTool(session.ToolSpec{Name: "broken_lookup"}, func(context.Context, json.RawMessage) (string, error) {
		return "", errors.New("backend down")
	})
	model := &realtimetest.Model{AutoRespond: func(*realtimetest.ModelConn, *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(7, 800), Transcript: "Here is all of it"}}}
	}}
	yes := true
	b := newBridge(t, bridgeConfig{Model: model, ModelName: "gpt-realtime-2", Options: func(o *session.Options) {
		o.Agent = session.Agent{Instructions: "x", ParallelToolCalls: &yes, Tools: []session.Tool{slow, fast, failing}}
		o.Approver = session.ApproverFunc(func(context.Context, session.ApprovalRequest) (bool, error) { return true, nil })
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, mc, rec := tc.Ctx, tc.Model, tc.Rec
	reply := mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{
		{FunctionCall: &realtimetest.FunctionCall{Name: "slow_lookup", Arguments: `{}`}},
		{FunctionCall: &realtimetest.FunctionCall{Name: "fast_lookup", Arguments: `{}`}},
		{FunctionCall: &realtimetest.FunctionCall{Name: "broken_lookup", Arguments: `{}`}},
	}})
	reply.Wait(ctx)
	// The fast and the failing call finish while the slow one runs: nothing goes to
	// the model yet.
	waitEvent[callevent.ToolResult](ctx, t, rec, 2)
	if n := len(mc.CreatedItems()); n != 0 {
		t.Errorf("%d outputs sent before the slow call finished", n)
	}
	close(release)
	if err := mc.WaitFor(ctx, "three outputs", func() bool { return len(mc.CreatedItems()) == 3 }); err != nil {
		t.Fatal(err)
	}
	// The model's answer plays; by then any other response.create would have come.
	if err := tc.Caller.WaitReceived(ctx, 800); err != nil {
		t.Fatal(err)
	}
	out := mc.CreatedItems()
	want := []string{"slow result", "fast result", "Error: backend down"}
	for i, it := range out {
		if it.Type != realtime.ItemFunctionCallOutput || it.CallID != reply.CallIDs[i] || it.Output != want[i] {
			t.Errorf("output %d: %s %s %q, want the output of call %s: %q", i, it.Type, it.CallID, it.Output, reply.CallIDs[i], want[i])
		}
	}
	if n := len(mc.Received(realtime.TypeResponseCreate)); n != 1 {
		t.Errorf("%d response.create, want exactly one after all outputs", n)
	}
	if d := eventsOf[callevent.ToolApprovalDecided](rec); len(d) != 1 || !d[0].Approved {
		t.Errorf("approvals %+v", d)
	}
	tc.Hangup()
	noModelErrors(t, mc)
}
