package twiliotransport_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/twiliotransport"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// twinStream accepts one stream from the Twilio twin and reads it (applying mark
// echoes) until it ends.
func twinStream(t *testing.T) (*twiliotransport.Stream, *twiliotest.Caller) {
	t.Helper()
	got := make(chan *twiliotransport.Stream, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := twiliotransport.Accept(w, r, twiliotransport.StreamOptions{})
		if err != nil {
			close(got)
			return
		}
		got <- s
		for {
			if _, err := s.ReadFrame(context.Background()); err != nil {
				if _, ok := err.(*twiliotransport.DecodeError); !ok {
					close(done)
					return
				}
			}
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := twiliotest.DialCaller(ctx, twiliotest.CallerOptions{URL: "ws" + strings.TrimPrefix(srv.URL, "http")})
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	s, ok := <-got
	if !ok {
		c.Drop()
		srv.Close()
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		c.Drop()
		s.CloseNow()
		<-done
		srv.Close()
	})
	return s, c
}

// Agent audio comes from the model in 20 ms deltas (faster than real time). A mark
// after each one cost two more messages per delta (the mark and its echo); marks now
// follow every 100 ms of audio once the queue is deeper than that, and the end of a run, and the playback estimate, the
// truncation it gives and WaitPlayed stay right against the twin, which echoes a mark
// only once the audio before it has played.
func TestFaultMarksEvery100msOfAudio(t *testing.T) {
	leakcheck.Check(t)
	s, c := twinStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	delta := []byte(base64.StdEncoding.EncodeToString(make([]byte, twiliotest.FrameBytes))) // 20 ms
	const deltas = 47                                                                       // 940 ms
	for range deltas {
		if _, sent, err := s.SendAudio(ctx, "r1", "i1", delta); err != nil || !sent {
			t.Fatalf("SendAudio: %v %v", sent, err)
		}
	}
	if err := s.WaitPlayed(ctx); err != nil {
		t.Fatalf("WaitPlayed: %v", err)
	}
	if !c.PlayedOut(time.Now()) {
		t.Fatal("WaitPlayed returned before the twin had played the audio")
	}
	// The twin notes an echo just after writing it: wait for the last one to be noted.
	if err := c.WaitFor(ctx, "the last echo noted", func() bool {
		e := c.Echoed()
		return len(e) > 0 && e[len(e)-1] == "0:i1:7520"
	}); err != nil {
		t.Fatal(err)
	}
	// Each chunk while less than 100 ms is queued ahead of the caller (the first
	// five: a shallow queue stalls where no echo shows it), then every 100 ms of
	// audio (1600, 2400, ... 7200), then the end.
	if echoed := c.Echoed(); len(echoed) != 14 || echoed[0] != "0:i1:160" || echoed[4] != "0:i1:800" || echoed[5] != "0:i1:1600" {
		t.Fatalf("marks echoed for %d deltas = %d %q, want 14 (the first five chunks, every 100 ms of audio, the end 0:i1:7520)", deltas, len(echoed), echoed)
	}

	// A second answer, interrupted half-way: what Playback says was heard is what the
	// twin had played at that instant, never more, and close below it.
	for range 50 {
		if _, _, err := s.SendAudio(ctx, "r2", "i2", delta); err != nil {
			t.Fatal(err)
		}
	}
	base := int64(deltas * twiliotest.FrameBytes)
	if err := c.WaitFor(ctx, "half of the second answer played", func() bool {
		return c.PlayedAt(time.Now()) >= base+4000
	}); err != nil {
		t.Fatal(err)
	}
	in, err := s.Interrupt(ctx, "r2")
	if err != nil || !in.Pending || len(in.Items) != 1 {
		t.Fatalf("Interrupt = %+v, %v", in, err)
	}
	played := c.PlayedAt(in.At) - base
	heard := in.Items[0].HeardBytes
	if heard > played+twiliotransport.BytesPerMs || heard < played-60*twiliotransport.BytesPerMs {
		t.Fatalf("heard %d ms of the interrupted item, the twin had played %d ms: want at most 1 ms over, 60 ms under",
			heard/twiliotransport.BytesPerMs, played/twiliotransport.BytesPerMs)
	}
	if err := c.WaitClears(ctx, 1); err != nil {
		t.Fatal(err)
	}
}
