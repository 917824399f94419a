package session

import (
	"sync"
	"sync/atomic"

	"github.com/callagent/callagent/pkg/callevent"
)

// eventQueue carries a call's events to Options.OnEvent in order, on a goroutine of
// its own, so that publishing an event never blocks the audio path: an event that
// does not fit is dropped and counted. The zero value (no OnEvent) drops nothing and
// delivers nothing.
//
// The queue holds only what is pending (a slice that grows with a burst, up to the
// limit) and its dispatcher runs only while something is pending: most of a call's
// life nothing is, and a call then costs neither a preallocated buffer of the whole
// limit nor a parked goroutine's stack. One dispatcher at most runs at a time, so
// events are delivered in order; a stuck OnEvent keeps its dispatcher, and later
// events wait behind it (or are dropped), exactly as with a channel.
type eventQueue struct {
	deliver func(callevent.Event) // nil when nobody listens
	limit   int

	mu      sync.Mutex
	pending []callevent.Event
	spare   []callevent.Event // the dispatcher's last batch, emptied, for reuse
	running bool              // a dispatcher is running
	closed  bool
	dropped atomic.Int64
	done    sync.WaitGroup // the dispatchers
}

// spareCap is the largest batch kept for reuse between bursts.
const spareCap = 64

func newEventQueue(deliver func(callevent.Event), size int) eventQueue {
	return eventQueue{deliver: deliver, limit: size}
}

// on reports whether anyone listens: events nobody receives need not be built.
func (q *eventQueue) on() bool { return q.deliver != nil }

// dispatch is the dispatcher goroutine: it delivers what is pending, in order, and
// ends once nothing is.
func (q *eventQueue) dispatch() {
	var batch []callevent.Event
	for {
		q.mu.Lock()
		if batch != nil && cap(batch) <= spareCap {
			q.spare = batch[:0]
		}
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		batch, q.pending, q.spare = q.pending, q.spare, nil
		q.mu.Unlock()
		for i, ev := range batch {
			q.deliver(ev)
			batch[i] = nil
		}
	}
}

// push queues evs (under q.mu) and starts a dispatcher if none runs.
func (q *eventQueue) push(evs ...callevent.Event) {
	q.pending = append(q.pending, evs...)
	if !q.running {
		q.running = true
		q.done.Go(q.dispatch)
	}
}

// emit queues ev without waiting; a full queue drops it. After finish it does nothing.
// It reports whether ev was queued (true too when nobody listens: nothing is lost).
func (q *eventQueue) emit(ev callevent.Event) bool {
	if q.deliver == nil {
		return true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	if len(q.pending) >= q.limit {
		q.dropped.Add(1)
		return false
	}
	q.push(ev)
	return true
}

// finish queues last, which is never dropped, closes the queue and waits until
// everything was delivered.
func (q *eventQueue) finish(last ...callevent.Event) {
	if q.deliver == nil {
		return
	}
	q.mu.Lock()
	q.closed = true
	q.push(last...)
	q.mu.Unlock()
	q.done.Wait()
}
