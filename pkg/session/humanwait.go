package session

import (
	"sync"
	"time"
)

// humanWait measures how long the call has waited for a person: the time during
// which at least one approval was pending, overlapping approvals counted once. Turn
// latency leaves it out, as it is not the model's or the line's.
type humanWait struct {
	mu      sync.Mutex
	pending int
	since   time.Time     // when pending went from 0 to 1
	total   time.Duration // closed waits
}

// begin marks an approval asked at now.
func (w *humanWait) begin(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == 0 {
		w.since = now
	}
	w.pending++
}

// end marks an approval answered (or given up) at now.
func (w *humanWait) end(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending--
	if w.pending == 0 {
		w.total += now.Sub(w.since)
	}
}

// at is the time waited for a person up to now.
func (w *humanWait) at(now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending > 0 {
		return w.total + now.Sub(w.since)
	}
	return w.total
}
