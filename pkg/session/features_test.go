package session_test

import (
	"context"
	"encoding/json"
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

func TestGreetingSpeaksFirst(t *testing.T) {
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.Agent.Instructions = "You are Ada."
		o.Greeting = "Say hello and ask how you can help."
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	ev, err := tc.Model.WaitEvent(tc.Ctx, realtime.TypeResponseCreate, 1)
	if err != nil {
		t.Fatal(err)
	}
	rc := ev.(*realtime.ResponseCreate)
	if rc.Response == nil || !strings.HasPrefix(rc.Response.Instructions, "You are Ada.") ||
		!strings.HasSuffix(rc.Response.Instructions, "Say hello and ask how you can help.") {
		t.Fatalf("greeting response %+v", rc.Response)
	}
	if evs := tc.Model.Received(""); evs[0].EventType() != realtime.TypeSessionUpdate {
		t.Fatal("greeting before session.update")
	}
	tc.Hangup()
	noModelErrors(t, tc.Model)
}

// A silent line: the agent asks whether anyone is there, then says goodbye and ends.
func TestIdleTimeout(t *testing.T) {
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(1, 800), Transcript: "Are you still there?"}}}
	}}
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) { o.IdleTimeout = 300 * time.Millisecond }})
	tc := b.Start(twiliotest.CallerOptions{})
	ended := b.Ended(tc.Ctx, tc.Caller.CallSID())
	if ended.Reason != callevent.EndIdle {
		t.Fatalf("ended %s", ended.Reason)
	}
	items := tc.Model.CreatedItems()
	if len(items) != 2 || !strings.Contains(items[0].Content[0].Text, "still there") || !strings.Contains(items[1].Content[0].Text, "goodbye") {
		t.Fatalf("idle prompts %+v", items)
	}
	// The goodbye was played before the end: the caller received both answers.
	if got := len(tc.Caller.Received()); got != 1600 {
		t.Fatalf("caller heard %d bytes of the two idle answers, want 1600", got)
	}
	noModelErrors(t, tc.Model)
}

// fakeClock is a session clock (Options.Now) the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Caller speech keeps an idle line alive. The session's clock is injected: the
// line is silent for 1.5 s of that clock between speeches (the limit is 2 s), for
// 6 s in all, and the watchdog is seen to tick after each step (a media stats
// report is due each second of the clock), so the check cannot pass because a
// loaded machine kept the watchdog from looking, nor fail because it slept past a
// limit. The prompt comes once the line stays silent past the limit.
func TestIdleTimeoutResetBySpeech(t *testing.T) {
	clock := newFakeClock()
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.IdleTimeout = 2 * time.Second
		o.Now = clock.Now
	}})
	tc := b.Start(twiliotest.CallerOptions{FrameInterval: 20 * time.Millisecond, Continuous: true}) // frames to report
	ctx, rec := tc.Ctx, tc.Rec
	// No report is due while the clock stands still: the report after a step of a
	// second or more is a tick that saw it.
	step := func(d time.Duration) {
		t.Helper()
		n := len(eventsOf[callevent.MediaStats](rec))
		clock.Advance(d)
		waitEvent[callevent.MediaStats](ctx, t, rec, n+1)
	}
	for i := range 4 {
		step(1500 * time.Millisecond)
		if n := len(tc.Model.CreatedItems()); n != 0 {
			t.Fatalf("%d idle prompts while the caller talked (after %d speeches)", n, i)
		}
		tc.Model.SpeechStarted()
		tc.Model.SpeechStopped("")
		waitEvent[callevent.SpeechStopped](ctx, t, rec, i+1)
	}
	step(1500 * time.Millisecond)
	if n := len(tc.Model.CreatedItems()); n != 0 {
		t.Fatalf("%d idle prompts while the caller talked", n)
	}
	step(time.Second) // 2.5 s of silence: past the limit
	if err := tc.Model.WaitFor(ctx, "the idle prompt", func() bool { return len(tc.Model.CreatedItems()) == 1 }); err != nil {
		t.Fatal(err)
	}
	tc.Hangup()
}

// A guardrail cuts the agent off mid-answer, truncates what was not heard and asks
// the model to correct itself.
func TestGuardrailTrips(t *testing.T) {
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.Agent.Guardrail = func(text string) (string, bool) {
			return "no account numbers", strings.Contains(text, "1234-5678")
		}
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	transcript := strings.Repeat("Let me look that up for you. ", 6) + "Your account number is 1234-5678 and " + strings.Repeat("more words ", 20)
	reply := tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(2, 24000), Transcript: transcript}},
		ChunkBytes: 800, Pace: 20 * time.Millisecond})
	g := waitEvent[callevent.GuardrailTripped](tc.Ctx, t, tc.Rec, 1)
	if g.Rule != "no account numbers" || !strings.Contains(g.Text, "1234-5678") {
		t.Fatalf("tripped %+v", g)
	}
	reply.Wait(tc.Ctx)
	if reply.Status != realtime.StatusCancelled {
		t.Fatalf("the offending response was not cancelled: %s", reply.Status)
	}
	if err := tc.Caller.WaitClears(tc.Ctx, 1); err != nil {
		t.Fatal("audio not cleared:", err)
	}
	tr := tc.Model.Truncations()
	if len(tr) != 1 || tr[0].AudioEndMs >= 3000 || tr[0].AudioEndMs != g.HeardMs {
		t.Fatalf("truncations %+v (heard %d ms of 3000)", tr, g.HeardMs)
	}
	if err := tc.Model.WaitFor(tc.Ctx, "the correction", func() bool { return len(tc.Model.CreatedItems()) == 1 }); err != nil {
		t.Fatal(err)
	}
	if it := tc.Model.CreatedItems()[0]; it.Role != "system" || !strings.Contains(it.Content[0].Text, "no account numbers") {
		t.Fatalf("correction %+v", it)
	}
	tc.Hangup()
	noModelErrors(t, tc.Model)
}

// A tool can wait for the agent's last words to be heard and end the call: the
// hang-up tool's mechanism.
func TestToolEndsCallAfterAudioPlayed(t *testing.T) {
	var playedAtEnd int64
	var c *twiliotest.Caller
	hangUp := session.NewTool(session.ToolSpec{Name: "hang_up", Background: true},
		func(ctx context.Context, _ json.RawMessage) (string, error) {
			call, ok := session.CallFrom(ctx)
			if !ok {
				return "", nil
			}
			if err := call.WaitPlayed(ctx); err != nil {
				return "", err
			}
			playedAtEnd = c.PlayedAt(time.Now())
			call.End(callevent.EndAgentHangup, nil)
			return "hung up", nil
		})
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) { o.Agent.Tools = []session.Tool{hangUp} }})
	tc := b.Start(twiliotest.CallerOptions{})
	c = tc.Caller
	// The model says goodbye (1 s, generated fast) and calls hang_up in the same response.
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{
		{FunctionCall: &realtimetest.FunctionCall{Name: "hang_up", Arguments: `{}`}},
		{Audio: noise(3, 8000), Transcript: "Goodbye!"},
	}})
	ended := b.Ended(tc.Ctx, tc.Caller.CallSID())
	if ended.Reason != callevent.EndAgentHangup {
		t.Fatalf("ended %s", ended.Reason)
	}
	if playedAtEnd < 8000 {
		t.Fatalf("hung up with %d of 8000 bytes of the goodbye played", playedAtEnd)
	}
}

func TestAgentChangedEvent(t *testing.T) {
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) { o.Agent.Name = "front-desk" }})
	tc := b.Start(twiliotest.CallerOptions{})
	if err := tc.Session().SetAgent(session.Agent{Name: "billing", Instructions: "You handle billing."}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent[callevent.AgentChanged](tc.Ctx, t, tc.Rec, 1)
	if ev.From != "front-desk" || ev.To != "billing" {
		t.Fatalf("%+v", ev)
	}
	tc.Hangup()
}
