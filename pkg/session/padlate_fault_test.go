package session_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// On a call whose carrier suppresses silence, the caller's frames stop in the
// middle of speech for longer than the pad's hold (a loaded machine starving the
// sender, a slow network) and then come on, contiguous. No silence may be padded
// into the words: the model would hear the caller stop mid-word and answer half a
// sentence ("Goo" for "Goodbye!", as callagent simulate did under load). A carrier
// stops sending only once the caller is quiet, so after a loud frame the pad waits
// its longest hold.
func TestFaultNoPadIntoLateSpeech(t *testing.T) {
	b := newBridge(t, bridgeConfig{})
	ctx := timeout(t, 10*time.Second)
	c := b.Dial(twiliotest.CallerOptions{OmitSilence: true})
	// A first turn as TestTrailingSilencePadded has it: a pause the carrier omits
	// (the call shows suppression), then nothing after the words: padded.
	quiet := bytes.Repeat([]byte{twiliotest.Silence}, 10*twiliotest.FrameBytes)
	said := append(append(noise(31, 10*twiliotest.FrameBytes), quiet...), noise(32, 10*twiliotest.FrameBytes)...)
	c.Say(said)
	mc := b.ModelFor(ctx, c.CallSID())
	if err := mc.WaitAudio(ctx, len(said)); err != nil {
		t.Fatal(err)
	}
	mc.SpeechStarted()
	if err := mc.WaitAudio(ctx, len(said)+500*8); err != nil {
		t.Fatal("no pad:", err)
	}
	mc.SpeechStopped("hello")

	// The next turn, after an omitted silence longer than any pad: words, then the
	// caller's frames stall mid-speech.
	words := noise(33, 10*twiliotest.FrameBytes)
	c.Say(append(bytes.Repeat([]byte{twiliotest.Silence}, 75*twiliotest.FrameBytes), words...))
	if err := mc.WaitFor(ctx, "the words", func() bool { return bytes.HasSuffix(mc.AudioIn(), words) }); err != nil {
		t.Fatal(err)
	}
	mc.SpeechStarted()
	// The stall is the scenario: over twice the pad's 300 ms hold with no frame,
	// well inside the longest (1.2 s).
	time.Sleep(700 * time.Millisecond)
	more := noise(34, 5*twiliotest.FrameBytes)
	c.Say(more)
	if err := mc.WaitFor(ctx, "the rest", func() bool { return bytes.HasSuffix(mc.AudioIn(), more) }); err != nil {
		t.Fatal(err)
	}
	if got := mc.AudioIn(); !bytes.HasSuffix(got, append(append([]byte(nil), words...), more...)) {
		t.Fatalf("silence was padded into the caller's words: the model heard %d bytes after them, not the words' next frames",
			len(got)-bytes.LastIndex(got, words)-len(words)-len(more))
	}
	c.Hangup()
	b.Ended(ctx, c.CallSID())
}
