package session

import (
	"fmt"
	"sync"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// warnKind is a problem a call can meet thousands of times (a peer that sends
// garbage at 50 frames a second): its warnings are rate-limited and summarised.
type warnKind int

const (
	warnTwilioFrame warnKind = iota
	warnModelEvent
	warnAgentAudio
	warnDTMF
	warnKinds
)

// warnCodes are the kinds' callevent.Warning codes; warnWhat says what was counted,
// for the summaries.
var (
	warnCodes = [warnKinds]string{callevent.WarnMalformedTwilioFrame, callevent.WarnMalformedModelEvent,
		callevent.WarnBadAgentAudio, callevent.WarnDTMFDropped}
	warnWhat = [warnKinds]string{"malformed Twilio frames skipped", "malformed model events skipped",
		"agent audio chunks skipped (not base64)", "DTMF digits dropped (too many queued)"}
)

// warnInterval is the least time between two warnings of one kind in a call: the
// first occurrence is reported at once, the next ones at most once per interval,
// as one warning that counts them, and the rest at the end of the call.
const warnInterval = 10 * time.Second

// warnLimiter counts each kind's occurrences and decides which are reported. The
// counts are exact: every occurrence is in the Count of exactly one warning, an
// emitted one (a warning the event queue dropped leaves its count to the next).
// Each kind has one writer (the caller pump or the model pump); the watchdog and
// Run read under mu too.
type warnLimiter struct {
	mu    sync.Mutex
	kinds [warnKinds]warnState
}

type warnState struct {
	total    int64     // occurrences in the call
	reported int64     // occurrences in the warnings emitted so far
	last     time.Time // when the last one was emitted
}

// note counts one occurrence of k at now. It returns how many occurrences a
// warning emitted now would report, or 0 when it is not time for one.
func (l *warnLimiter) note(k warnKind, now time.Time) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := &l.kinds[k]
	st.total++
	if st.reported > 0 && now.Sub(st.last) < warnInterval {
		return 0
	}
	return st.total - st.reported
}

// pending returns the occurrences of k not reported yet, and how many the call has
// had, when a summary is due at now (final: at the end of the call, whenever the
// last warning was).
func (l *warnLimiter) pending(k warnKind, now time.Time, final bool) (n, total int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := &l.kinds[k]
	if st.total == st.reported || !final && now.Sub(st.last) < warnInterval {
		return 0, st.total
	}
	return st.total - st.reported, st.total
}

// reported records that a warning of k reporting n occurrences was emitted at now.
func (l *warnLimiter) reported(k warnKind, n int64, now time.Time) {
	l.mu.Lock()
	l.kinds[k].reported += n
	l.kinds[k].last = now
	l.mu.Unlock()
}

// noteWarning counts an occurrence of k. It returns how many occurrences a warning
// emitted now reports (the first, or the ones since the last warning once
// warnInterval has passed), or 0: then the caller builds no message, so a flood of
// bad frames costs a lock and a counter each.
func (s *Session) noteWarning(k warnKind) (n int64, now time.Time) {
	now = s.now()
	if n = s.warns.note(k, now); n > 0 && !s.events.on() {
		n = 0
	}
	return n, now
}

// emitWarning emits the warning noteWarning asked for: msg, and the count of the
// occurrences it stands for.
func (s *Session) emitWarning(k warnKind, n int64, now time.Time, msg string) {
	if n > 1 {
		msg += fmt.Sprintf(" (and %d more like it since the last warning)", n-1)
	}
	if s.events.emit(callevent.Warning{Header: s.hdr(), Message: msg, Code: warnCodes[k], Count: n}) {
		s.warns.reported(k, n, now)
	}
}

// flushWarnings emits a summary of each kind whose occurrences since its last
// warning were not reported and are due (every warnInterval; all of them when
// final). Final summaries are returned instead, for Run to queue without a drop.
func (s *Session) flushWarnings(now time.Time, final bool) []callevent.Event {
	if !s.events.on() {
		return nil
	}
	var out []callevent.Event
	for k := range warnKinds {
		n, total := s.warns.pending(k, now, final)
		if n == 0 {
			continue
		}
		ev := callevent.Warning{Header: s.hdr(), Code: warnCodes[k], Count: n,
			Message: fmt.Sprintf("%d more %s since the last warning (%d in this call)", n, warnWhat[k], total)}
		if final {
			out = append(out, ev)
			s.warns.reported(k, n, now)
		} else if s.events.emit(ev) {
			s.warns.reported(k, n, now)
		}
	}
	return out
}
