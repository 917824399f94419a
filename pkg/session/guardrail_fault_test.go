package session_test

import (
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// A short answer is checked at its end (transcript.done), when the server has
// usually finished the response already: the session's response.cancel then meets
// no active response and the API answers response_cancel_not_active. That answer
// to our own cancel is expected; it is no model error (issue 16 item 4).
func TestFaultGuardrailAtEndNoSpuriousError(t *testing.T) {
	replied := make(chan *realtimetest.Reply, 1)
	// The correction the session asks for after the trip is answered.
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(3, 800), Transcript: "Sorry, I cannot say that."}}}
	}}
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) {
		o.Agent.Guardrail = func(text string) (string, bool) {
			if !strings.Contains(text, "1234-5678") {
				return "", false
			}
			// The check runs on the session's model reader: holding it until the
			// twin has sent response.done makes the cancel late, every time.
			r := <-replied
			r.Wait(t.Context())
			return "no account numbers", true
		}
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	// Shorter than one guardrail check interval: only the final check sees it.
	replied <- tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(2, 1600), Transcript: "It is 1234-5678."}}})
	waitEvent[callevent.GuardrailTripped](tc.Ctx, t, tc.Rec, 1)
	// The twin answers a late cancel like the API does.
	if err := tc.Model.WaitFor(tc.Ctx, "the late cancel's answer", func() bool { return len(tc.Model.ErrorsSent()) == 1 }); err != nil {
		t.Fatal(err)
	}
	if code := tc.Model.ErrorsSent()[0].Code; code != "response_cancel_not_active" {
		t.Fatalf("the twin answered %q", code)
	}
	// The correction is read after the error: by then the session has handled it.
	waitEvent[callevent.AgentTranscript](tc.Ctx, t, tc.Rec, 2)
	if errs := eventsOf[callevent.ModelError](tc.Rec); len(errs) > 0 {
		t.Fatalf("the answer to our own late cancel was reported as an error: %+v", errs)
	}
	tc.Hangup()
}
