package session_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// Several calls at once: every byte arrives, in order, on its own call only.
func TestAudioRelayedBothWaysConcurrently(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	ctx := timeout(t, 20*time.Second)
	const calls = 5
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			callerAudio := noise(uint64(i)+1, 50*twiliotest.FrameBytes+37) // 1 s and a partial frame
			agentAudio := noise(uint64(i)+100, 12000)
			c := b.Dial(twiliotest.CallerOptions{CallSID: fmt.Sprintf("CA%032d", i)})
			c.Say(callerAudio)
			mc := b.ModelFor(ctx, c.CallSID())
			want := padFrames(callerAudio)
			if err := mc.WaitAudio(ctx, len(want)); err != nil {
				t.Error(err)
				return
			}
			if got := mc.AudioIn(); !bytes.Equal(got, want) {
				t.Errorf("call %d: model heard %d bytes that differ from the %d the caller sent", i, len(got), len(want))
			}
			reply := mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: agentAudio, Transcript: "Hello there"}}, ChunkBytes: 700})
			if err := c.WaitReceived(ctx, len(agentAudio)); err != nil {
				t.Error(err)
				return
			}
			if got := c.Received(); !bytes.Equal(got, agentAudio) {
				t.Errorf("call %d: caller got %d bytes that differ from the model's %d", i, len(got), len(agentAudio))
			}
			reply.Wait(ctx)
			for _, u := range mc.SessionUpdates() {
				checkPCMU(t, u)
			}
			c.Hangup()
			ended := b.Ended(ctx, c.CallSID())
			if ended.Reason != callevent.EndCallerHangup || ended.InBytes != int64(len(want)) || ended.OutBytes != int64(len(agentAudio)) {
				t.Errorf("call %d ended %+v", i, ended)
			}
			if err := mc.WaitClosed(ctx); err != nil {
				t.Error(err)
			}
			if n := len(mc.ErrorsSent()); n != 0 {
				t.Errorf("call %d: the model reported %d errors: %+v", i, n, mc.ErrorsSent())
			}
		})
	}
	wg.Wait()
}

// PROTOCOL 4: frames that arrive while the model connects are delivered, not dropped.
func TestCallerAudioBufferedWhileModelConnects(t *testing.T) {
	b := newBridge(t, bridgeConfig{Model: &realtimetest.Model{AcceptDelay: 300 * time.Millisecond}})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{})
	audio := noise(7, 40*twiliotest.FrameBytes)
	c.Say(audio)
	if err := c.WaitSent(ctx); err != nil {
		t.Fatal(err)
	}
	mc := b.ModelFor(ctx, c.CallSID())
	if err := mc.WaitAudio(ctx, len(audio)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mc.AudioIn(), audio) {
		t.Fatal("audio buffered during the dial arrived changed")
	}
	mcEv := waitEvent[callevent.ModelConnected](ctx, t, b.Events(c.CallSID()), 1)
	if mcEv.BufferedFrames != 40 || mcEv.DroppedFrames != 0 || mcEv.DialTime < 300*time.Millisecond {
		t.Fatalf("ModelConnected = %+v, want 40 frames buffered after >= 300 ms", mcEv)
	}
	// The session was configured before the first audio: the model must know the format.
	if evs := mc.Received(""); len(evs) == 0 || evs[0].EventType() != realtime.TypeSessionUpdate {
		t.Fatalf("first client event %v, want session.update", evs)
	}
	c.Hangup()
	b.Ended(ctx, c.CallSID())
}

// PROTOCOL 8: gaps in the caller's audio are not filled: the model gets exactly the
// frames Twilio sent, however irregular.
func TestNoSilenceInsertedIntoGaps(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{FrameInterval: 20 * time.Millisecond})
	first, second := noise(11, 10*twiliotest.FrameBytes), noise(12, 10*twiliotest.FrameBytes)
	c.Say(first)
	c.WaitSent(ctx)
	time.Sleep(1200 * time.Millisecond) // the caller's stream pauses
	c.Say(second)
	c.WaitSent(ctx)
	mc := b.ModelFor(ctx, c.CallSID())
	want := append(append([]byte(nil), first...), second...)
	if err := mc.WaitAudio(ctx, len(want)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // anything extra would have arrived by now
	if got := mc.AudioIn(); !bytes.Equal(got, want) {
		t.Fatalf("model heard %d bytes, want exactly the %d sent", len(got), len(want))
	}
	c.Hangup()
	b.Ended(ctx, c.CallSID())
}

func TestEventsDoNotBlockAudio(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		inner := o.OnEvent
		o.EventBuffer = 4
		o.OnEvent = func(ev callevent.Event) {
			<-release // a sink that is stuck
			inner(ev)
		}
	}})
	defer once.Do(func() { close(release) })
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{})
	audio := noise(3, 30*twiliotest.FrameBytes)
	c.Say(audio)
	mc := b.ModelFor(ctx, c.CallSID())
	if err := mc.WaitAudio(ctx, len(audio)); err != nil {
		t.Fatal(err)
	}
	agent := noise(4, 4000)
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: agent, Transcript: "one two three four five six"}}, ChunkBytes: 160})
	if err := c.WaitReceived(ctx, len(agent)); err != nil {
		t.Fatal("agent audio stalled behind a stuck event sink:", err)
	}
	once.Do(func() { close(release) })
	c.Hangup()
	if ended := b.Ended(ctx, c.CallSID()); ended.DroppedEvents == 0 {
		t.Fatalf("a stuck sink with a 4-event buffer dropped nothing: %+v", ended)
	}
}

func TestDebugFramesAndStats(t *testing.T) {
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) { o.Debug = true }})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{})
	c.Say(noise(5, 60*twiliotest.FrameBytes))
	mc := b.ModelFor(ctx, c.CallSID())
	mc.WaitAudio(ctx, 60*twiliotest.FrameBytes)
	stats := waitEvent[callevent.MediaStats](ctx, t, b.Events(c.CallSID()), 1)
	if stats.InFrames != 60 || stats.InBytes != 60*twiliotest.FrameBytes {
		t.Errorf("MediaStats = %+v, want the 60 frames", stats)
	}
	c.Hangup()
	b.Ended(ctx, c.CallSID())
	var sawUpdate, sawAppend bool
	for _, f := range eventsOf[callevent.RawFrame](b.Events(c.CallSID())) {
		switch {
		case f.Source == callevent.SourceRealtime && f.Sent && f.Type == realtime.TypeSessionUpdate:
			sawUpdate = bytes.Contains(f.Data, []byte(`"audio/pcmu"`))
		case f.Type == realtime.TypeInputAudioBufferAppend || f.Type == "media":
			sawAppend = true
		}
	}
	if !sawUpdate || sawAppend {
		t.Fatalf("raw frames: session.update seen %v, audio frames seen %v", sawUpdate, sawAppend)
	}
}

var _ = context.Background
