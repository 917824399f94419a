package twiliotransport_test

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/twiliotransport"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// An answer whose audio reaches the phone leg later than the ones before (the path
// got slower, a loaded peer read it late) starts playing later than the learnt
// delay says. Interrupted before its first echo, it was reported heard for as long
// as the clock had run since the send minus the old delay: at 400 calls on a
// saturated machine the load test measured up to +228 ms. What the caller heard is
// now never claimed past the first mark not yet echoed: at most the answer's first
// chunk (20 ms) more than the twin had played.
func TestFaultLateAnswerNotClaimedHeard(t *testing.T) {
	leakcheck.Check(t)
	s, c := twinStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	delta := []byte(base64.StdEncoding.EncodeToString(make([]byte, twiliotest.FrameBytes))) // 20 ms
	for range 10 {
		if _, _, err := s.SendAudio(ctx, "r1", "i1", delta); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WaitPlayed(ctx); err != nil { // the delay is learnt: ~80 ms
		t.Fatal(err)
	}

	c.SetPlayDelay(600 * time.Millisecond)
	for range 50 {
		if _, _, err := s.SendAudio(ctx, "r2", "i2", delta); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // the caller speaks over the answer it does not hear yet
	in, err := s.Interrupt(ctx, "r2")
	if err != nil || len(in.Items) == 0 || in.Items[len(in.Items)-1].ItemID != "i2" {
		t.Fatalf("Interrupt = %+v, %v", in, err)
	}
	played := c.PlayedAt(in.At) - 10*twiliotest.FrameBytes
	heard := in.Items[len(in.Items)-1].HeardBytes
	if heard > max(played, 0)+21*twiliotransport.BytesPerMs {
		t.Fatalf("heard %d ms of the late answer, the twin had played %d ms: want at most 20 ms over",
			heard/twiliotransport.BytesPerMs, played/twiliotransport.BytesPerMs)
	}
	if err := c.WaitClears(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

// Within an answer sent at the pace it plays (a shallow queue), audio held up on the
// way (Stall) lets the caller's queue run dry: playback stops where no echo shows it,
// and the clock alone claimed up to the next mark heard (MarkInterval, 100 ms: the
// load test's +100 ms at 100 calls on a loaded machine). Each chunk sent to a
// shallow queue is now marked: the claim stays within a chunk of what was played.
func TestFaultStalledAnswerNotClaimedHeard(t *testing.T) {
	leakcheck.Check(t)
	s, c := twinStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	delta := []byte(base64.StdEncoding.EncodeToString(make([]byte, twiliotest.FrameBytes))) // 20 ms
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	send := func(n int) {
		for range n {
			<-tick.C
			if _, _, err := s.SendAudio(ctx, "r1", "i1", delta); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(12)
	c.Stall(400 * time.Millisecond)
	send(12) // 240 ms, held up on the way: the caller's queue runs dry
	in, err := s.Interrupt(ctx, "r1")
	if err != nil || len(in.Items) != 1 {
		t.Fatalf("Interrupt = %+v, %v", in, err)
	}
	played := c.PlayedAt(in.At)
	heard := in.Items[0].HeardBytes
	if heard > played+21*twiliotransport.BytesPerMs {
		t.Fatalf("heard %d ms of the stalled answer, the twin had played %d ms: want at most 20 ms over",
			heard/twiliotransport.BytesPerMs, played/twiliotransport.BytesPerMs)
	}
	if err := c.WaitClears(ctx, 1); err != nil {
		t.Fatal(err)
	}
}
