package server

import (
	"bytes"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

// callGoroutines counts the goroutines of the server's calls: those running
// something of pkg/session or of the media-stream handler (the fake peers run in the
// same process and are not counted).
func callGoroutines(t *testing.T) int {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	n := 0
	for g := range strings.SplitSeq(b.String(), "\n\n") {
		if strings.Contains(g, "callagent/pkg/session.(*Session)") || strings.Contains(g, "callagent/pkg/server.(*Server).mediaStream") {
			n++
		}
	}
	return n
}

// A call in progress weighs two goroutines, the two pumps, each parked in a read:
// the caller pump runs on the goroutine that runs the call (not on one of its own),
// and the media-stream handler returns once the call is set up instead of waiting
// for its end (its stack, deepened by the setup, and net/http's connection state
// went with it). Each goroutine is a stack of 8–16 KiB for the whole call.
func TestFaultOneCallTwoGoroutines(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := ctxFor(t)
	if resp, body := ts.webhook("CA0001", nil); resp.StatusCode != 200 {
		t.Fatalf("webhook: %d %s", resp.StatusCode, body)
	}
	mc := ts.modelConn(ctx)
	c, err := ts.caller("CA0001", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	audio := bytes.Repeat([]byte{0x12, 0x34}, 400)
	c.Say(audio)
	if err := mc.WaitAudio(ctx, len(audio)); err != nil {
		t.Fatal(err)
	}
	agent := bytes.Repeat([]byte{0x9a, 0xbc}, 400)
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: agent}}})
	if err := c.WaitReceived(ctx, len(agent)); err != nil {
		t.Fatal(err)
	}
	// Between frames: whatever ran for an event (the dispatcher, a leg write) has
	// gone back to sleep; wait for the count to settle on the pumps.
	// Goroutines signal nothing when they park: poll, bounded by ctx.
	for n := callGoroutines(t); n > 2; n = callGoroutines(t) {
		select {
		case <-ctx.Done():
			t.Fatalf("a call in progress runs on %d goroutines, want 2 (the pumps)", n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	c.Hangup()
	if e := ts.waitEnded(ctx, "CA0001"); e.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s (%v)", e.Reason, e.Err)
	}
}
