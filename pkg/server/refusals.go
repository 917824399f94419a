package server

import (
	"sync"
	"time"
)

// refusalInterval is the least time between two log lines of one kind of refused
// request. Requests are refused before any authentication is known to hold (an
// unsigned webhook, a replayed stream), so one line per request would let anyone
// who can reach the server write the log at its request rate.
const refusalInterval = 10 * time.Second

// refusalLog rate-limits the WARN lines of refused requests, per message: the first
// is written at once, the next at most once per refusalInterval, carrying the
// number left out since the line before ("suppressed"); what is left at the end is
// written by flush. The metric callagent_rejected_requests_total counts every request.
// Messages are constants of this package, so the map is bounded.
type refusalLog struct {
	mu    sync.Mutex
	kinds map[string]*refusalState
}

type refusalState struct {
	last       time.Time
	suppressed int64
}

// warn writes msg with args, or counts it when a line of the same msg was written
// less than refusalInterval ago.
func (s *Server) warnRefused(msg string, args ...any) {
	now := s.now()
	l := &s.refusals
	l.mu.Lock()
	if l.kinds == nil {
		l.kinds = map[string]*refusalState{}
	}
	st := l.kinds[msg]
	if st == nil {
		st = &refusalState{}
		l.kinds[msg] = st
	} else if now.Sub(st.last) < refusalInterval {
		st.suppressed++
		l.mu.Unlock()
		return
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n, "suppressed_note", "requests refused the same way since the last line, not logged one by one")
	}
	s.log.Warn(msg, args...)
}

// flushRefusals writes one line per message whose refusals since its last line
// were not written (when Serve returns).
func (s *Server) flushRefusals() {
	l := &s.refusals
	l.mu.Lock()
	var lines []string
	var counts []int64
	for msg, st := range l.kinds {
		if st.suppressed > 0 {
			lines, counts = append(lines, msg), append(counts, st.suppressed)
			st.suppressed = 0
		}
	}
	l.mu.Unlock()
	for i, msg := range lines {
		s.log.Warn(msg, "suppressed", counts[i], "suppressed_note", "requests refused the same way since the last line, not logged one by one")
	}
}
