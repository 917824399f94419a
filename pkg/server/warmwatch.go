package server

import (
	"context"
	"errors"
	"sync"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
)

// A warm connection waits unread for a stream, and the peer may close it meanwhile:
// the session's lifetime ends, a proxy on the way drops an idle WebSocket, the
// network goes. Taken as it is, the call would fail on its first update and the
// caller would hear the apology. So a warm Realtime connection is read while it
// waits (watchedLeg): what arrives (session.created) is kept for the call, and a
// read that fails marks the connection dead, so take passes over it and the pool
// dials another. The read in flight when a stream takes the connection is handed
// over with it: the call's first reads return what was kept, then that read's
// result, then read the connection directly (one flag test per event).
//
// The watch reads with a context that is never cancelled, like the session's own
// reads (cancelling a read closes a WebSocket): the connection is closed by whoever
// holds it. GPT-Live connections are not watched: a Live leg reads through its own
// goroutine once its session starts.

// maxKept bounds the events kept from an idle connection: the API sends
// session.created and nothing more until the session is updated.
const maxKept = 8

type readResult struct {
	ev  realtime.ServerEvent
	err error
}

// watchedLeg is a warm *realtime.Conn with its watching read. The methods other
// than ReadEvent are the connection's own.
type watchedLeg struct {
	*realtime.Conn

	mu       sync.Mutex
	kept     []readResult
	taken    bool
	dead     bool
	inflight chan readResult // the watch's read when taken; nil after it was received
	direct   bool            // the call reads the connection itself now
}

// watch starts watching conn; onDead is called (without locks held) when the
// connection fails while nobody has taken it.
func watch(conn *realtime.Conn, spawn func(func()), onDead func(*watchedLeg)) *watchedLeg {
	w := &watchedLeg{Conn: conn, inflight: make(chan readResult, 1)}
	spawn(func() {
		for {
			ev, err := conn.ReadEvent(context.Background())
			w.mu.Lock()
			if w.taken {
				w.mu.Unlock()
				w.inflight <- readResult{ev, err}
				return
			}
			var de *realtime.DecodeError
			skipped := errors.As(err, &de) // an event it could not decode: the call's to skip and count
			if (err != nil && !skipped) || len(w.kept) == maxKept {
				// Dead, or talking when it should wait: nobody will take it.
				w.dead = true
				w.mu.Unlock()
				onDead(w)
				return
			}
			w.kept = append(w.kept, readResult{ev, err})
			w.mu.Unlock()
		}
	})
	return w
}

// take hands the connection to a call, unless it died.
func (w *watchedLeg) take() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dead {
		return false
	}
	w.taken = true
	return true
}

// ReadEvent returns what the watch kept, then its read in flight, then reads the
// connection.
func (w *watchedLeg) ReadEvent(ctx context.Context) (realtime.ServerEvent, error) {
	if w.direct {
		return w.Conn.ReadEvent(ctx)
	}
	w.mu.Lock()
	if len(w.kept) > 0 {
		r := w.kept[0]
		w.kept = w.kept[1:]
		w.mu.Unlock()
		return r.ev, r.err
	}
	w.mu.Unlock()
	r := <-w.inflight
	w.direct = true
	return r.ev, r.err
}

// watchLeg wraps a fresh warm leg for watching, when it can be watched.
func (p *warmPool) watchLeg(leg session.ModelLeg) session.ModelLeg {
	conn, ok := leg.(*realtime.Conn)
	if !ok {
		return leg
	}
	return watch(conn, p.s.wg.Go, p.dropDead)
}

// dropDead removes a watched connection that failed from the idle ones, closes it
// and has the pool dial another.
func (p *warmPool) dropDead(w *watchedLeg) {
	p.mu.Lock()
	for i, idle := range p.idle {
		if idle.leg == session.ModelLeg(w) {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			p.idleGauge.Set(float64(len(p.idle)))
			p.outcomes.WithLabelValues("dead").Inc()
			p.closeLeg(w)
			break
		}
	}
	p.mu.Unlock()
	p.poke()
}
