package calllog

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// With the disk stalled (no writer goroutine draining), Event still returns at
// once: lines beyond the queue are dropped, counted, and reported once.
func TestEventNeverBlocks(t *testing.T) {
	var reports atomic.Int32
	w := &Writer{opts: Options{OnError: func(error) { reports.Add(1) }}, queue: make(chan entry, 4), done: make(chan struct{})}
	h := callevent.Header{Time: time.Now(), CallSID: "CA1"}
	for range 100 {
		w.Event(callevent.CallerTranscript{Header: h, Text: "hello"})
	}
	if w.Dropped() != 96 {
		t.Fatalf("dropped %d, want 96", w.Dropped())
	}
	deadline := time.Now().Add(5 * time.Second)
	for reports.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if reports.Load() != 1 {
		t.Fatalf("reported %d times", reports.Load())
	}
}
