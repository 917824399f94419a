package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// tolerance bounds the learnt-delay check below (TestBargeInBeforeFirstEcho).
const tolerance = 20 * time.Millisecond

// waitPlayed waits until the caller has played n bytes of agent audio.
func waitPlayed(ctx context.Context, t *testing.T, c *twiliotest.Caller, n int64) {
	t.Helper()
	for c.PlayedAt(time.Now()) < n {
		select {
		case <-ctx.Done():
			t.Fatalf("caller played %d bytes, waiting for %d", c.PlayedAt(time.Now()), n)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// echoesRead returns the position of the last mark the caller echoed once the
// bridge has provably read that echo: the caller sends a frame after it, and the
// model receives the frame (the bridge reads the caller's messages in order).
func echoesRead(ctx context.Context, t *testing.T, c *twiliotest.Caller, mc *realtimetest.ModelConn) int64 {
	t.Helper()
	pos := c.EchoedThrough()
	n := len(mc.AudioIn())
	c.Say(make([]byte, twiliotest.FrameBytes))
	if err := mc.WaitAudio(ctx, n+twiliotest.FrameBytes); err != nil {
		t.Fatal(err)
	}
	return pos
}

// checkTruncation holds a truncation point between two audio positions of the item
// (bytes from its start), both taken on the caller's side, so that no wall-clock
// tolerance is needed and a loaded machine cannot break it:
//   - lo, the last mark the bridge had read the echo of before the barge-in: it
//     knows the caller heard that much;
//   - hi, what the caller had played when the clear arrived: the bridge measured
//     before it sent the clear, so a truncation past hi claims audio the caller
//     never heard (the API rejects it, PROTOCOL 5).
//
// How close to hi the estimate is (not quantized to marks) depends on how late the
// echoes are read: TestHeardBetweenMarks holds it on an injected clock.
func checkTruncation(t *testing.T, tr callevent.Truncation, lo, hi int64) {
	t.Helper()
	at := int64(tr.AudioEndMs) * 8
	if at < lo || at > hi {
		t.Errorf("item %s truncated at %d ms; the bridge knew of %d ms heard, the caller had played %d ms at the clear",
			tr.ItemID, tr.AudioEndMs, lo/8, hi/8)
	}
	if tr.AudioEndMs > tr.SentMs {
		t.Errorf("item %s truncated at %d ms, past the %d ms sent", tr.ItemID, tr.AudioEndMs, tr.SentMs)
	}
}

// clearedAt waits for the n-th clear and returns what the caller had played when
// it arrived.
func clearedAt(ctx context.Context, t *testing.T, c *twiliotest.Caller, n int) int64 {
	t.Helper()
	if err := c.WaitClears(ctx, n); err != nil {
		t.Fatal(err)
	}
	return c.Clears()[n-1].Played
}

// Barge-in while the model is still generating: clear, truncate where the caller
// stopped hearing, drop the deltas still in flight (PROTOCOL 5 and 7).
func TestBargeInWhileGenerating(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, c, mc, rec := tc.Ctx, tc.Caller, tc.Model, tc.Rec

	// 2 s of audio in 100 ms chunks, generated a little faster than real time; marks
	// come every 100 ms, so an answer quantized to marks would be off by up to 100 ms.
	reply := mc.Respond(ctx, realtimetest.ResponseSpec{
		Items:      []realtimetest.ItemSpec{{Audio: noise(1, 16000), Transcript: "This is a long answer that the caller will cut short"}},
		ChunkBytes: 800, Pace: 80 * time.Millisecond, LateDeltas: 3,
	})
	waitPlayed(ctx, t, c, 4800+250) // ~631 ms: between two marks
	lo := echoesRead(ctx, t, c, mc)
	mc.SpeechStarted() // the server cancels the response itself

	in := waitEvent[callevent.Interruption](ctx, t, rec, 1)
	if !in.Cleared || in.Cancelled || in.ResponseID != reply.ID || len(in.Truncations) != 1 {
		t.Fatalf("interruption %+v", in)
	}
	checkTruncation(t, in.Truncations[0], lo, clearedAt(ctx, t, c, 1))
	reply.Wait(ctx)
	if reply.Status != realtime.StatusCancelled {
		t.Fatalf("response %s", reply.Status)
	}
	// The late deltas were not sent after the clear: the caller received exactly what
	// had been sent when the bridge interrupted.
	if got, want := len(c.Received()), in.Truncations[0].SentMs*8; got != want {
		t.Errorf("caller received %d bytes; %d had been sent at the interruption", got, want)
	}
	tr := mc.Truncations()
	if len(tr) != 1 || tr[0].ItemID != in.Truncations[0].ItemID || tr[0].AudioEndMs != in.Truncations[0].AudioEndMs {
		t.Errorf("model got truncations %+v", tr)
	}
	at := waitEvent[callevent.AgentTranscript](ctx, t, rec, 1)
	if !at.Interrupted {
		t.Errorf("transcript of the cut-off item not marked interrupted: %+v", at)
	}
	noModelErrors(t, mc)
	tc.Hangup()
}

// PROTOCOL 6: the model has finished generating but Twilio is still playing: the
// caller's barge-in must still clear and truncate.
func TestBargeInAfterGenerationFinished(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, c, mc, rec := tc.Ctx, tc.Caller, tc.Model, tc.Rec

	reply := mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(2, 12000), Transcript: "Done generating"}}, ChunkBytes: 800})
	reply.Wait(ctx)
	waitEvent[callevent.ResponseDone](ctx, t, rec, 1)
	waitPlayed(ctx, t, c, 4000+330)
	lo := echoesRead(ctx, t, c, mc)
	mc.SpeechStarted()

	in := waitEvent[callevent.Interruption](ctx, t, rec, 1)
	if !in.Cleared || in.Cancelled || in.ResponseID != "" || len(in.Truncations) != 1 {
		t.Fatalf("interruption %+v", in)
	}
	checkTruncation(t, in.Truncations[0], lo, clearedAt(ctx, t, c, 1))
	if n := len(mc.Received(realtime.TypeResponseCancel)); n != 0 {
		t.Errorf("sent %d response.cancel with no active response", n)
	}
	noModelErrors(t, mc)
	tc.Hangup()
}

// Items queued behind the one playing were never heard: truncated to 0. Marks Twilio
// echoes after the clear must not count: the next answer's truncation is exact too.
func TestQueuedItemsTruncatedToZeroAndStaleMarksIgnored(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, c, mc, rec := tc.Ctx, tc.Caller, tc.Model, tc.Rec

	reply := mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{
		{Audio: noise(3, 8000), Transcript: "First part"},
		{Audio: noise(4, 8000), Transcript: "Second part"},
	}, ChunkBytes: 800})
	reply.Wait(ctx)
	waitPlayed(ctx, t, c, 2400+100)
	lo := echoesRead(ctx, t, c, mc)
	mc.SpeechStarted()
	in := waitEvent[callevent.Interruption](ctx, t, rec, 1)
	if len(in.Truncations) != 2 {
		t.Fatalf("truncations %+v, want both items", in.Truncations)
	}
	checkTruncation(t, in.Truncations[0], lo, clearedAt(ctx, t, c, 1))
	if second := in.Truncations[1]; second.AudioEndMs != 0 || second.SentMs != 1000 {
		t.Errorf("queued item truncated at %+v, want 0 of 1000 ms", second)
	}
	if err := c.WaitFor(ctx, "marks echoed after the clear", func() bool { return len(c.Echoed()) >= 20 }); err != nil {
		t.Fatal(err) // Twilio echoes every pending mark after a clear
	}

	// A second answer, interrupted 400 ms in: the stale echoes did not move the clock.
	start := c.PlayedAt(time.Now())
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(5, 8000), Transcript: "Again"}}, ChunkBytes: 800}).Wait(ctx)
	waitPlayed(ctx, t, c, start+3200)
	lo = echoesRead(ctx, t, c, mc) - start
	mc.SpeechStarted()
	in2 := waitEvent[callevent.Interruption](ctx, t, rec, 2)
	if len(in2.Truncations) != 1 {
		t.Fatalf("second interruption %+v", in2)
	}
	checkTruncation(t, in2.Truncations[0], lo, clearedAt(ctx, t, c, 2)-start)
	noModelErrors(t, mc)
	tc.Hangup()
}

// serverKeepsGenerating is a bridge whose agent turns interrupt_response off: the
// server does not cancel a response on speech, the bridge must.
func serverKeepsGenerating() bridgeConfig {
	no := false
	return bridgeConfig{Options: func(o *session.Options) {
		o.Agent.TurnDetection = &realtime.TurnDetection{Type: realtime.ServerVAD, InterruptResponse: &no}
	}}
}

// With interrupt_response off the server keeps generating: the bridge cancels.
func TestBargeInCancelsWhenServerDoesNot(t *testing.T) {
	b := newBridge(t, serverKeepsGenerating())
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, c, mc, rec := tc.Ctx, tc.Caller, tc.Model, tc.Rec
	reply := mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(6, 16000)}}, ChunkBytes: 800, Pace: 80 * time.Millisecond})
	waitPlayed(ctx, t, c, 2000)
	lo := echoesRead(ctx, t, c, mc)
	mc.SpeechStarted()
	in := waitEvent[callevent.Interruption](ctx, t, rec, 1)
	if !in.Cancelled || !in.Cleared {
		t.Fatalf("interruption %+v, want cancelled and cleared", in)
	}
	reply.Wait(ctx)
	if reply.Status != realtime.StatusCancelled || len(mc.Received(realtime.TypeResponseCancel)) != 1 {
		t.Fatalf("response %s after %d cancels", reply.Status, len(mc.Received(realtime.TypeResponseCancel)))
	}
	checkTruncation(t, in.Truncations[0], lo, clearedAt(ctx, t, c, 1))
	noModelErrors(t, mc)
	tc.Hangup()
}

// Speech while the agent is silent interrupts nothing.
func TestSpeechWhileSilentInterruptsNothing(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, c, mc, rec := tc.Ctx, tc.Caller, tc.Model, tc.Rec
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(8, 800)}}}).Wait(ctx)
	waitPlayed(ctx, t, c, 800)
	// Until the bridge has read the last mark's echo it cannot know the caller heard the
	// end (the echo may be in flight): wait for the bridge, not for the caller.
	if err := tc.Session().WaitPlayed(ctx); err != nil {
		t.Fatal(err)
	}
	mc.SpeechStarted()
	mc.SpeechStopped("hello")
	waitEvent[callevent.CallerTranscript](ctx, t, rec, 1)
	if n := len(eventsOf[callevent.Interruption](rec)); n != 0 || len(c.Clears()) != 0 || len(mc.Truncations()) != 0 {
		t.Fatalf("%d interruptions, %d clears, %d truncations for speech over silence", n, len(c.Clears()), len(mc.Truncations()))
	}
	tc.Hangup()
}

// Turn latency runs from the caller's speech stopping to the first agent audio sent.
func TestTurnLatency(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, mc, rec := tc.Ctx, tc.Model, tc.Rec
	mc.SpeechStarted()
	mc.SpeechStopped("What's the weather?")
	waitEvent[callevent.SpeechStopped](ctx, t, rec, 1)
	time.Sleep(40 * time.Millisecond) // the model thinks
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(9, 1600), Transcript: "Sunny"}}}).Wait(ctx)
	lat := waitEvent[callevent.TurnLatency](ctx, t, rec, 1)
	if lat.Latency < 40*time.Millisecond || lat.Latency > 5*time.Second {
		t.Fatalf("turn latency %v", lat.Latency)
	}
	if ct := waitEvent[callevent.CallerTranscript](ctx, t, rec, 1); ct.Text != "What's the weather?" {
		t.Fatalf("caller transcript %+v", ct)
	}
	if e := tc.Hangup(); e.Turns != 1 {
		t.Fatalf("turns = %d", e.Turns)
	}
}

// Server VAD may report speech twice before the cancelled response is done (a cough,
// then the words): that is one barge-in, with one response.cancel and one
// interruption counted.
func TestTwoSpeechStartsOneInterruption(t *testing.T) {
	b := newBridge(t, serverKeepsGenerating())
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, c, mc, rec := tc.Ctx, tc.Caller, tc.Model, tc.Rec
	reply := mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(6, 16000)}}, ChunkBytes: 800, Pace: 80 * time.Millisecond})
	waitPlayed(ctx, t, c, 2000)
	mc.SpeechStarted()
	mc.SpeechStarted() // on the wire before the response.done that the first cancel brings
	reply.Wait(ctx)
	waitEvent[callevent.ResponseDone](ctx, t, rec, 1)
	mc.SpeechStopped("wait")
	waitEvent[callevent.CallerTranscript](ctx, t, rec, 1)
	if n := len(mc.Received(realtime.TypeResponseCancel)); n != 1 {
		t.Errorf("%d response.cancel for one barge-in", n)
	}
	if n := len(eventsOf[callevent.Interruption](rec)); n != 1 {
		t.Errorf("%d interruptions for one barge-in", n)
	}
	noModelErrors(t, mc)
	tc.Hangup()
}

// Issue 13, item 6: the caller hears audio one hop plus the jitter buffer after it was
// sent. A barge-in soon after an answer starts from a drained queue must not claim the
// caller heard what was still on its way: the estimate learns the delay from the
// echoes of the first answer. The twin's record of what it played is the oracle.
func TestTruncationLearnsPlaybackDelay(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	tc := b.Start(twiliotest.CallerOptions{PlayDelay: 80 * time.Millisecond})
	ctx, c, mc, rec := tc.Ctx, tc.Caller, tc.Model, tc.Rec

	// A first answer, heard in full: its marks teach the bridge the delay.
	first := noise(1, 4000)
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: first, Transcript: "Hello"}}, ChunkBytes: 800}).Wait(ctx)
	if err := c.WaitFor(ctx, "the first answer played", func() bool { return len(c.Echoed()) >= 5 }); err != nil {
		t.Fatal(err)
	}
	// The second starts from a drained queue, generated at once in 100 ms deltas: the
	// barge-in comes before its first mark can echo, so only the learnt delay tells the
	// bridge that the caller has not heard 150 ms of it. (One 2 s delta would also
	// measure how much longer the twin takes to decode a 21 kB frame than a 1 kB one:
	// under -race that is ~8 ms more of hop than the echoes taught.)
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(2, 16000), Transcript: "A long answer"}}, ChunkBytes: 800})
	if err := c.WaitReceived(ctx, 4000+16000); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // positions the barge-in; nothing is timed by it
	mc.SpeechStarted()
	in := waitEvent[callevent.Interruption](ctx, t, rec, 1)
	if err := c.WaitClears(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if len(in.Truncations) != 1 {
		t.Fatalf("interruption %+v", in)
	}
	heard := c.Clears()[0].Played - 4000 // of the second answer, when the clear arrived
	diff := time.Duration(in.Truncations[0].AudioEndMs)*time.Millisecond - time.Duration(heard)*time.Millisecond/8
	if diff > 5*time.Millisecond || diff < -tolerance {
		t.Fatalf("truncated at %d ms; the caller had heard %d ms (error %v: must be within -20..+5 ms)",
			in.Truncations[0].AudioEndMs, heard/8, diff)
	}
	tc.Hangup()
}

// A turn is an answer of the agent to the caller: the greeting is not one, so the
// call's turns are its TurnLatency events, the one meaning simulate's min_turns,
// the summary, dev's end line and the logs' TURNS column share (issue 16 item 3;
// the greeting counted as a turn before).
func TestFaultTurnsCountAnswersNotTheGreeting(t *testing.T) {
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) { o.Greeting = "Say hello." }})
	tc := b.Start(twiliotest.CallerOptions{})
	ctx, mc, rec := tc.Ctx, tc.Model, tc.Rec
	if _, err := mc.WaitEvent(ctx, realtime.TypeResponseCreate, 1); err != nil {
		t.Fatal(err)
	}
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(3, 800), Transcript: "Hello!"}}}).Wait(ctx)
	waitEvent[callevent.AgentTranscript](ctx, t, rec, 1)
	mc.SpeechStarted()
	mc.SpeechStopped("What's the weather?")
	waitEvent[callevent.SpeechStopped](ctx, t, rec, 1)
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(9, 800), Transcript: "Sunny"}}}).Wait(ctx)
	waitEvent[callevent.TurnLatency](ctx, t, rec, 1)
	if e := tc.Hangup(); e.Turns != 1 {
		t.Fatalf("turns = %d, want 1 (one answer; the greeting is not a turn)", e.Turns)
	}
}
