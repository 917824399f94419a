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

// A turn's latency is broken into its parts, each landing where its time went (issue
// 17). The session's clock is faked: a distinct jump of it is made inside each part
// (hours, so the real milliseconds around them cannot blur which part got which), and
// each part must hold its own jump and no other. The turn has a tool call that needs
// approval: the model first answers with the call, the tool runs, then the model
// speaks.
func TestFaultTurnLatencyParts(t *testing.T) {
	const (
		jEndpoint = 1 * time.Hour // between the caller's last audio and speech_stopped
		jModel    = 2 * time.Hour // between speech_stopped and response.created
		jTool     = 3 * time.Hour // the tool running
		jApproval = 4 * time.Hour // the person approving
		jAudio    = 5 * time.Hour // between the tool result and the answer's audio
		slack     = 30 * time.Minute
		playDelay = 300 * time.Millisecond
	)
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	refund := session.NewTool(session.ToolSpec{Name: "refund", NeedsApproval: true}, func(context.Context, json.RawMessage) (string, error) {
		skew.Add(int64(jTool))
		return "refunded", nil
	})
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		skew.Add(int64(jAudio)) // the model takes its time to speak after the result
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(7, 1600), Transcript: "Done, your refund is on its way."}}}
	}}
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) {
		o.Now = now
		o.Agent.Tools = []session.Tool{refund}
		o.Approver = session.ApproverFunc(func(context.Context, session.ApprovalRequest) (bool, error) {
			skew.Add(int64(jApproval))
			return true, nil
		})
	}})
	tc := b.Start(twiliotest.CallerOptions{PlayDelay: playDelay})
	tc.Model.SpeechStarted()
	said := noise(3, 25*twiliotest.FrameBytes)
	tc.Caller.Say(said)
	if err := tc.Model.WaitFor(tc.Ctx, "the caller's audio", func() bool { return tc.Model.CallerAudioMs() >= len(said)/8 }); err != nil {
		t.Fatal(err)
	}
	skew.Add(int64(jEndpoint)) // the VAD's silence wait and the network, very slow
	tc.Model.SpeechStopped("I'd like a refund.")
	waitEvent[callevent.SpeechStopped](tc.Ctx, t, tc.Rec, 1)
	skew.Add(int64(jModel)) // the model thinks before it starts
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{Name: "refund", Arguments: `{}`}}}})
	lat := waitEvent[callevent.TurnLatency](tc.Ctx, t, tc.Rec, 1)
	t.Logf("parts: endpointing %s, model %s, tools %s, approval %s, first audio %s, relay %s; latency %s, total %s",
		lat.Endpointing, lat.ModelWait, lat.Tools, lat.Approval, lat.FirstAudio, lat.Relay, lat.Latency, lat.Total)
	for _, p := range []struct {
		name string
		got  time.Duration
		min  time.Duration // its jump, and for endpointing the 500 ms of silence audio_end_ms includes
	}{
		{"endpointing", lat.Endpointing, jEndpoint + 500*time.Millisecond},
		{"model wait", lat.ModelWait, jModel},
		{"tools", lat.Tools, jTool},
		{"approval", lat.Approval, jApproval},
		{"first audio", lat.FirstAudio, jAudio},
		{"relay", lat.Relay, 0},
	} {
		if p.got < p.min || p.got >= p.min+slack {
			t.Errorf("%s = %s, want its own jump: %s (+ under %s)", p.name, p.got, p.min, slack)
		}
	}
	if sum := lat.ModelWait + lat.Tools + lat.FirstAudio + lat.Relay; sum != lat.Latency {
		t.Errorf("model wait + tools + first audio + relay = %s, latency %s", sum, lat.Latency)
	}
	if sum := lat.Endpointing + lat.ModelWait + lat.Tools + lat.Approval + lat.FirstAudio + lat.Relay; sum != lat.Total {
		t.Errorf("the parts add up to %s, total %s", sum, lat.Total)
	}
	play := waitEvent[callevent.TurnPlayout](tc.Ctx, t, tc.Rec, 1)
	tc.Hangup()
	t.Logf("playout %s", play.Playout)
	if play.ResponseID != lat.ResponseID {
		t.Errorf("playout of %q, latency of %q", play.ResponseID, lat.ResponseID)
	}
	// The twin caller plays after its phone leg's delay and echoes the first frame's
	// mark once that frame has played.
	if play.Playout < playDelay || play.Playout >= slack {
		t.Errorf("playout %s, want at least the phone leg's %s", play.Playout, playDelay)
	}
}

// An answer cut off before its first frame played has no playout: the echoes a clear
// brings do not mean it was heard.
func TestTurnPlayoutNotAfterClear(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	tc := b.Start(twiliotest.CallerOptions{PlayDelay: 2 * time.Second})
	tc.Model.SpeechStarted()
	tc.Model.SpeechStopped("Tell me a story.")
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(9, 8000), Transcript: "Once upon a time."}}})
	waitEvent[callevent.TurnLatency](tc.Ctx, t, tc.Rec, 1)
	tc.Model.SpeechStarted() // the caller barges in while the phone leg still holds the audio
	waitEvent[callevent.Interruption](tc.Ctx, t, tc.Rec, 1)
	if err := tc.Caller.WaitClears(tc.Ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := tc.Caller.WaitFor(tc.Ctx, "the clear's echoes", func() bool { return len(tc.Caller.Echoed()) > 0 }); err != nil {
		t.Fatal(err)
	}
	tc.Hangup()
	if p := eventsOf[callevent.TurnPlayout](tc.Rec); len(p) > 0 {
		t.Errorf("playout %s reported for an answer cleared before it played", p[0].Playout)
	}
}
