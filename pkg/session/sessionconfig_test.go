package session_test

import (
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

// The twin merges updates like the API, so what matters is the session the server
// holds after a handoff: nothing of the previous agent survives but its voice (which
// cannot change once the agent has spoken), and both formats stay audio/pcmu.
func TestSetAgentStatesTheWholeSession(t *testing.T) {
	var calls atomic.Int32
	no, slow := false, 900
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.Agent = session.Agent{Instructions: "You are Ada.", Voice: "marin", Speed: 1.2, ToolChoice: "required",
			Tools:          []session.Tool{weatherTool(&calls)},
			HostedTools:    []realtime.Tool{{Type: "mcp", ServerLabel: "docs", ServerURL: "https://mcp.example.invalid/"}},
			TurnDetection:  &realtime.TurnDetection{Type: realtime.ServerVAD, SilenceDurationMs: &slow, InterruptResponse: &no},
			Transcription:  &realtime.Transcription{Model: "gpt-4o-mini-transcribe"},
			NoiseReduction: "near_field"}
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	s := tc.Session()
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(1, 800)}}}).Wait(tc.Ctx)
	if err := tc.Caller.WaitReceived(tc.Ctx, 800); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAgent(session.Agent{Instructions: "You are Bob, from billing.", Voice: "cedar"}); err != nil {
		t.Fatal(err)
	}
	if err := tc.Model.WaitFor(tc.Ctx, "a second session.update", func() bool { return len(tc.Model.SessionUpdates()) == 2 }); err != nil {
		t.Fatal(err)
	}
	noModelErrors(t, tc.Model)
	got := tc.Model.Session()
	checkPCMU(t, got)
	in, out := got.Audio.Input, got.Audio.Output
	td := in.TurnDetection
	if got.Instructions != "You are Bob, from billing." || len(got.Tools) != 0 || got.ToolChoice.String != "auto" {
		t.Errorf("after the handoff: instructions %q, tools %+v, tool choice %q", got.Instructions, got.Tools, got.ToolChoice)
	}
	if td == nil || td.Type != realtime.ServerVAD || !*td.InterruptResponse || *td.SilenceDurationMs != 500 {
		t.Errorf("turn detection after the handoff: %+v", td)
	}
	if in.Transcription != nil || in.NoiseReduction != nil || out.Speed != 1 || out.Voice.String != "marin" {
		t.Errorf("transcription %+v, noise reduction %+v, speed %v, voice %q (must stay marin)", in.Transcription, in.NoiseReduction, out.Speed, out.Voice)
	}
	// The old agent's tool is gone: a call to it is an unknown tool now.
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{Name: "weather", Arguments: `{"city":"Rome"}`}}}})
	if res := waitEvent[callevent.ToolResult](tc.Ctx, t, tc.Rec, 1); calls.Load() != 0 || res.Err == nil {
		t.Fatalf("removed tool ran: %+v", res)
	}
	if err := s.SetAgent(session.Agent{Tools: []session.Tool{weatherTool(&calls), weatherTool(&calls)}}); err == nil {
		t.Fatal("duplicate tools accepted")
	}
	tc.Hangup() // Run has returned
	// A handoff that lands after the end (a tool finishing late) emits nothing and
	// does not panic on the closed event stream.
	if err := s.SetAgent(session.Agent{Name: "late", Instructions: "Too late."}); err != nil {
		t.Fatal(err)
	}
}

// Every client event carries an event_id, audio appends included, so an error can be
// tied to the event that caused it.
func TestEveryClientEventHasAnEventID(t *testing.T) {
	var calls atomic.Int32
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.Agent = session.Agent{Tools: []session.Tool{weatherTool(&calls)}}
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	tc.Caller.Say(noise(2, 1600))
	if err := tc.Model.WaitAudio(tc.Ctx, 1600); err != nil {
		t.Fatal(err)
	}
	reply := tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{
		{FunctionCall: &realtimetest.FunctionCall{Name: "weather", Arguments: `{"city":"Rome"}`}}}})
	reply.Wait(tc.Ctx)
	if _, err := tc.Model.WaitEvent(tc.Ctx, realtime.TypeResponseCreate, 1); err != nil {
		t.Fatal(err)
	}
	if err := tc.Session().SetAgent(session.Agent{Instructions: "Bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Model.WaitEvent(tc.Ctx, realtime.TypeSessionUpdate, 2); err != nil {
		t.Fatal(err)
	}
	tc.Hangup()
	if missing := tc.Model.MissingEventIDs(); len(missing) > 0 {
		t.Fatalf("client events without an event_id: %v", missing)
	}
}

// An update the API refuses leaves the server on its own settings (24 kHz PCM by
// default: noise on a phone line). The call ends as after a model failure, so the
// caller hears the apology, and the error says which event failed and why.
func TestRejectedSessionUpdateEndsTheCall(t *testing.T) {
	thr := 0.4
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		// semantic_vad has no threshold: the API refuses the whole update.
		o.Agent = session.Agent{TurnDetection: &realtime.TurnDetection{Type: realtime.SemanticVAD, Threshold: &thr}}
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx := timeout(t, 5*time.Second)
	ended := b.Ended(ctx, tc.Caller.CallSID())
	if ended.Reason != callevent.EndModelRejected || !errors.Is(ended.Err, session.ErrSessionRejected) ||
		!strings.Contains(ended.Err.Error(), "session.audio.input.turn_detection.threshold") {
		t.Fatalf("ended %s: %v", ended.Reason, ended.Err)
	}
	me := waitEvent[callevent.ModelError](tc.Ctx, t, tc.Rec, 1)
	if me.ClientEvent != realtime.TypeSessionUpdate || me.ClientEventID == "" {
		t.Fatalf("the error is not tied to the update: %+v", me)
	}
}

// The server's session.updated is the proof of the formats: anything but audio/pcmu
// both ways ends the call the same way.
func TestSessionUpdatedNotPCMUEndsTheCall(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	tc := b.Start(twiliotest.CallerOptions{})
	if _, err := tc.Model.WaitEvent(tc.Ctx, realtime.TypeSessionUpdate, 1); err != nil {
		t.Fatal(err)
	}
	tc.Model.SendRaw([]byte(`{"type":"session.updated","event_id":"event_x","session":{"type":"realtime","audio":{"input":{"format":{"type":"audio/pcm","rate":24000}},"output":{"format":{"type":"audio/pcmu"}}}}}`))
	ended := b.Ended(timeout(t, 5*time.Second), tc.Caller.CallSID())
	if ended.Reason != callevent.EndModelRejected || !errors.Is(ended.Err, session.ErrSessionRejected) {
		t.Fatalf("ended %s: %v", ended.Reason, ended.Err)
	}
}

// Who cancels a response on barge-in follows what the server confirmed: while a
// handoff's update is still in flight, the server still runs the old agent's
// interrupt_response false, so callagent must cancel the response itself.
func TestBargeInFollowsTheConfirmedTurnDetection(t *testing.T) {
	no := false
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.Agent = session.Agent{TurnDetection: &realtime.TurnDetection{Type: realtime.ServerVAD, InterruptResponse: &no}}
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	if err := tc.Model.WaitFor(tc.Ctx, "the first update applied", func() bool {
		td := tc.Model.Session().Audio.Input.TurnDetection
		return td != nil && !*td.InterruptResponse
	}); err != nil {
		t.Fatal(err)
	}
	_ = waitEvent[callevent.ModelConnected](tc.Ctx, t, tc.Rec, 1)
	reply := tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(3, 80000)}}, ChunkBytes: 800, Pace: 20 * time.Millisecond})
	if err := tc.Caller.WaitReceived(tc.Ctx, 800); err != nil {
		t.Fatal(err)
	}
	tc.Model.HoldUpdates()
	if err := tc.Session().SetAgent(session.Agent{Instructions: "Bob"}); err != nil { // interrupts by default
		t.Fatal(err)
	}
	if err := tc.Model.WaitFor(tc.Ctx, "the handoff's update held", func() bool { return tc.Model.HeldUpdates() == 1 }); err != nil {
		t.Fatal(err)
	}
	tc.Model.SpeechStarted() // the server, still on interrupt_response false, cancels nothing
	in := waitEvent[callevent.Interruption](tc.Ctx, t, tc.Rec, 1)
	tc.Model.ReleaseUpdates()
	if !in.Cancelled {
		t.Fatalf("callagent did not cancel the response the server keeps: %+v", in)
	}
	reply.Wait(tc.Ctx)
	if reply.Status != realtime.StatusCancelled {
		t.Fatalf("response %s", reply.Status)
	}
	tc.Hangup()
}

// The server may have produced audio callagent has not relayed yet when a handoff
// asks for a new voice: the API refuses that update (cannot_update_voice). That is no
// reason to end the call: the update is sent again with the voice the server has.
func TestRefusedVoiceChangeKeepsTheCall(t *testing.T) {
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) { o.Agent = session.Agent{Voice: "marin"} }})
	tc := b.Start(twiliotest.CallerOptions{})
	if err := tc.Model.WaitFor(tc.Ctx, "the first update applied", func() bool { return tc.Model.Session().Audio.Output.Voice.String == "marin" }); err != nil {
		t.Fatal(err)
	}
	tc.Model.HoldUpdates()
	if err := tc.Session().SetAgent(session.Agent{Instructions: "Bob", Voice: "cedar"}); err != nil {
		t.Fatal(err)
	}
	if err := tc.Model.WaitFor(tc.Ctx, "the handoff's update held", func() bool { return tc.Model.HeldUpdates() == 1 }); err != nil {
		t.Fatal(err)
	}
	// The server speaks before it reads the update.
	tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(1, 800)}}}).Wait(tc.Ctx)
	if err := tc.Caller.WaitReceived(tc.Ctx, 800); err != nil {
		t.Fatal(err)
	}
	tc.Model.ReleaseUpdates()
	ev, err := tc.Model.WaitEvent(tc.Ctx, realtime.TypeSessionUpdate, 3)
	if err != nil {
		t.Fatal(err)
	}
	if u := ev.(*realtime.SessionUpdate).Session; u.Instructions != "Bob" || u.Audio.Output.Voice.String != "marin" {
		t.Fatalf("the update again: instructions %q, voice %q", u.Instructions, u.Audio.Output.Voice)
	}
	if err := tc.Model.WaitFor(tc.Ctx, "the handoff applied", func() bool { return tc.Model.Session().Instructions == "Bob" }); err != nil {
		t.Fatal(err)
	}
	if errs := tc.Model.ErrorsSent(); len(errs) != 1 || errs[0].Code != "cannot_update_voice" {
		t.Fatalf("model errors %+v", errs)
	}
	if ended := tc.Hangup(); ended.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s: %v", ended.Reason, ended.Err)
	}
}
