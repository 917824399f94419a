package session

import (
	"sync"
	"sync/atomic"

	"github.com/callagent/callagent/pkg/callevent"
)

// eventQueue carries a call's events to Options.OnEvent in order, on its own
// goroutine, so that publishing an event never blocks the audio path: an event that
// does not fit is dropped and counted. The zero value (no OnEvent) drops nothing and
// delivers nothing.
type eventQueue struct {
	ch      chan callevent.Event // nil when nobody listens
	deliver func(callevent.Event)
	mu      sync.RWMutex // emit holds it to read; finish to close ch
	closed  bool
	dropped atomic.Int64
	done    sync.WaitGroup // the dispatcher
}

func newEventQueue(deliver func(callevent.Event), size int) eventQueue {
	if deliver == nil {
		return eventQueue{}
	}
	return eventQueue{ch: make(chan callevent.Event, size), deliver: deliver}
}

// on reports whether anyone listens: events nobody receives need not be built.
func (q *eventQueue) on() bool { return q.ch != nil }

// start starts the dispatcher; finish joins it.
func (q *eventQueue) start() {
	if q.ch != nil {
		q.done.Go(q.dispatch)
	}
}

// dispatch is the dispatcher goroutine: it delivers events until finish closes the
// queue.
func (q *eventQueue) dispatch() {
	for ev := range q.ch {
		q.deliver(ev)
	}
}

// emit queues ev without waiting; a full queue drops it. After finish it does nothing.
// It reports whether ev was queued (true too when nobody listens: nothing is lost).
func (q *eventQueue) emit(ev callevent.Event) bool {
	if q.ch == nil {
		return true
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return false
	}
	select {
	case q.ch <- ev:
		return true
	default:
		q.dropped.Add(1)
		return false
	}
}

// finish queues last, which is never dropped (each waits for room), closes the
// queue and waits until the dispatcher has delivered everything.
func (q *eventQueue) finish(last ...callevent.Event) {
	if q.ch == nil {
		return
	}
	for _, ev := range last {
		q.ch <- ev // the dispatcher is still draining
	}
	q.mu.Lock()
	q.closed = true
	close(q.ch)
	q.mu.Unlock()
	q.done.Wait()
}
