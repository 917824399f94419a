package session_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// Time spent waiting for a human to approve a tool call is not the model's
// latency: a turn whose answer needed a 10-minute approval reports the rest only
// (issue 16 item 6). The session's clock is faked; the human's wait is a jump of it.
func TestFaultApprovalWaitNotTurnLatency(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	const human = 10 * time.Minute
	refund := session.NewTool(session.ToolSpec{Name: "refund", NeedsApproval: true}, func(context.Context, json.RawMessage) (string, error) {
		return "refunded", nil
	})
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(7, 800), Transcript: "Done, your refund is on its way."}}}
	}}
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) {
		o.Now = now
		o.Agent.Tools = []session.Tool{refund}
		o.Approver = session.ApproverFunc(func(context.Context, session.ApprovalRequest) (bool, error) {
			skew.Add(int64(human)) // the human took ten minutes to say yes
			return true, nil
		})
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	tc.Model.SpeechStarted()
	tc.Model.SpeechStopped("I'd like a refund.")
	waitEvent[callevent.SpeechStopped](tc.Ctx, t, tc.Rec, 1)
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{Name: "refund", Arguments: `{}`}}}})
	lat := waitEvent[callevent.TurnLatency](tc.Ctx, t, tc.Rec, 1)
	if lat.Latency >= human || lat.Latency < 0 {
		t.Fatalf("turn latency %s counts the %s the human took to approve", lat.Latency, human)
	}
	tc.Hangup()
}
