package session_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport"
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

// PROTOCOL 11: a carrier that omits silent frames leaves gaps in media.timestamp; the
// model hears the silence the caller made, exactly as long as the timestamps say.
func TestOmittedSilenceFilled(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{OmitSilence: true})
	first, second := noise(11, 10*twiliotest.FrameBytes), noise(12, 10*twiliotest.FrameBytes)
	quiet := bytes.Repeat([]byte{twiliotest.Silence}, 25*twiliotest.FrameBytes) // 500 ms
	c.Say(bytes.Join([][]byte{first, quiet, second}, nil))
	if err := c.WaitSent(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Omitted() != 25 {
		t.Fatalf("the caller omitted %d frames, want 25", c.Omitted())
	}
	mc := b.ModelFor(ctx, c.CallSID())
	want := bytes.Join([][]byte{first, quiet, second}, nil)
	if err := mc.WaitAudio(ctx, len(want)); err != nil {
		t.Fatal(err)
	}
	if got := mc.AudioIn(); !bytes.Equal(got, want) {
		t.Fatalf("model heard %d bytes, want the %d the caller made (silence included)", len(got), len(want))
	}
	c.Hangup()
	b.Ended(ctx, c.CallSID())
}

// Frames are relayed as Twilio sent them; only a forward gap in the timestamps adds
// silence, and at most MaxGapFillMs of it; repeated, backward and absurd timestamps
// add nothing.
func TestCallerTimestamps(t *testing.T) {
	silenceMs := func(ms int) []byte { return bytes.Repeat([]byte{twiliotest.Silence}, ms*8) }
	for _, tc := range []struct {
		name string
		ts   []string
		fill map[int][]byte // silence expected before frame i
	}{
		{name: "contiguous", ts: []string{"0", "20", "40", "60"}},
		{name: "backward and repeated", ts: []string{"100", "120", "40", "120", "140"}},
		{name: "absurd", ts: []string{"0", "-20", "99999999999999", "20"}},
		{name: "gap", ts: []string{"0", "20", "100", "120"}, fill: map[int][]byte{2: silenceMs(60)}},
		{name: "gap bounded", ts: []string{"0", "600000", "600020"}, fill: map[int][]byte{1: silenceMs(twiliotransport.MaxGapFillMs)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBridge(t, bridgeConfig{})
			ctx := timeout(t, 10*time.Second)
			c := b.Dial(twiliotest.CallerOptions{})
			mc := b.ModelFor(ctx, c.CallSID())
			var want []byte
			for i, ts := range tc.ts {
				frame := noise(uint64(i)+20, twiliotest.FrameBytes)
				want = append(append(want, tc.fill[i]...), frame...)
				raw := `{"event":"media","streamSid":"MZ1","media":{"track":"inbound","chunk":"` + fmt.Sprint(i+1) + `","timestamp":"` + ts +
					`","payload":"` + base64.StdEncoding.EncodeToString(frame) + `"}}`
				if err := c.SendRaw([]byte(raw)); err != nil {
					t.Fatal(err)
				}
			}
			if err := mc.WaitAudio(ctx, len(want)); err != nil {
				t.Fatal(err)
			}
			c.Hangup()
			b.Ended(ctx, c.CallSID())
			if got := mc.AudioIn(); !bytes.Equal(got, want) {
				t.Fatalf("model heard %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

// PROTOCOL 11: the caller stops talking and the carrier sends nothing at all. While
// the model hears speech, silence is padded (bounded) so its VAD can hear the stop;
// once it says the caller stopped, nothing more is added.
func TestTrailingSilencePadded(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{OmitSilence: true})
	// The caller pauses mid-sentence and the carrier omits the pause: the gap shows
	// the call has suppression (in practice there is one before a turn ends: the
	// silence while the agent greets, or between the caller's words).
	quiet := bytes.Repeat([]byte{twiliotest.Silence}, 10*twiliotest.FrameBytes)
	said := append(append(noise(13, 10*twiliotest.FrameBytes), quiet...), noise(14, 10*twiliotest.FrameBytes)...)
	c.Say(said)
	heard := len(said) // the pause is filled back in
	mc := b.ModelFor(ctx, c.CallSID())
	if err := mc.WaitAudio(ctx, heard); err != nil {
		t.Fatal(err)
	}
	mc.SpeechStarted()
	// 500 ms of silence is what a server VAD needs by default.
	if err := mc.WaitAudio(ctx, heard+500*8); err != nil {
		t.Fatal("no silence padded after the caller went quiet:", err)
	}
	mc.SpeechStopped("hello")
	got := mc.AudioIn()
	if !bytes.Equal(got[:heard], said) || !bytes.Equal(got[heard:], bytes.Repeat([]byte{twiliotest.Silence}, len(got)-heard)) {
		t.Fatal("the model did not hear the caller's words with the pause filled, then silence")
	}
	speech := said // for the bound below
	if pad := len(got) - len(speech); pad > 1000*8 {
		t.Fatalf("padded %d ms, over the 1 s bound", pad/8)
	}
	c.Hangup()
	b.Ended(ctx, c.CallSID())
}

// A call whose frames have all come contiguously is never padded: a stall there is
// late audio (a loaded machine, a slow network), and silence inserted for it would
// sit where the caller was speaking.
func TestNoPadWithoutSuppression(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{})
	speech := noise(17, 10*twiliotest.FrameBytes)
	c.Say(speech)
	mc := b.ModelFor(ctx, c.CallSID())
	if err := mc.WaitAudio(ctx, len(speech)); err != nil {
		t.Fatal(err)
	}
	mc.SpeechStarted()
	// The caller's frames stop (delayed, not omitted) for longer than the pad's
	// hold and bound; then they resume, contiguous.
	wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if err := mc.WaitAudio(wctx, len(speech)+1); err == nil {
		t.Fatalf("padded %d bytes on a call without suppression", len(mc.AudioIn())-len(speech))
	}
	more := noise(19, 5*twiliotest.FrameBytes)
	c.Say(more)
	if err := mc.WaitAudio(ctx, len(speech)+len(more)); err != nil {
		t.Fatal(err)
	}
	if got := mc.AudioIn(); !bytes.Equal(got, append(append([]byte(nil), speech...), more...)) {
		t.Fatalf("the model heard %d bytes, not exactly the caller's %d", len(got), len(speech)+len(more))
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

// Real audio arriving late inside padded silence (jitter on a call whose carrier
// suppresses silence) makes the pad wait longer; padding goes on. Before, one late
// frame stopped padding for the rest of the call, and every later turn the carrier
// ended with nothing sent never ended until the caller spoke again.
func TestFaultPaddingSurvivesLateAudio(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	ctx := timeout(t, 15*time.Second)
	c := b.Dial(twiliotest.CallerOptions{OmitSilence: true})
	quiet := bytes.Repeat([]byte{twiliotest.Silence}, 10*twiliotest.FrameBytes)
	said := append(append(noise(13, 10*twiliotest.FrameBytes), quiet...), noise(14, 10*twiliotest.FrameBytes)...)
	c.Say(said)
	mc := b.ModelFor(ctx, c.CallSID())
	if err := mc.WaitAudio(ctx, len(said)); err != nil {
		t.Fatal(err)
	}
	mc.SpeechStarted()
	// A pad well beyond the timeline's minimum gap, then the caller's next frames:
	// on the caller's clock they come right after its words, inside the pad.
	if err := mc.WaitAudio(ctx, len(said)+200*8); err != nil {
		t.Fatal("no pad:", err)
	}
	late := noise(21, 5*twiliotest.FrameBytes)
	c.Say(late)
	if err := mc.WaitAudio(ctx, len(mc.AudioIn())+len(late)); err != nil {
		t.Fatal(err)
	}
	mc.SpeechStopped("hello")
	// The caller's next turn: words, then nothing from the carrier.
	mc.SpeechStarted()
	next := noise(22, 5*twiliotest.FrameBytes)
	before := len(mc.AudioIn())
	c.Say(next)
	if err := mc.WaitAudio(ctx, before+len(next)); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := mc.WaitAudio(wctx, before+len(next)+500*8); err != nil {
		t.Fatal("no silence padded after a late frame met an earlier pad: the turn cannot end:", err)
	}
	mc.SpeechStopped("again")
	c.Hangup()
	b.Ended(ctx, c.CallSID())
}
