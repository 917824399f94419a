package session

import (
	"context"
	"fmt"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// watchdog ends a call whose caller leg went silent or that reached MaxDuration
// (telling the agent to wrap up first), and reports media statistics.
func (s *Session) watchdog() {
	interval := statsInterval
	if idle := s.opts.CallerIdleTimeout; idle > 0 && idle/4 < interval {
		interval = max(idle/4, 10*time.Millisecond) // check often enough to end near the limit
	}
	if limit := s.opts.MaxDuration; limit > 0 && limit/20 < interval {
		interval = max(limit/20, 10*time.Millisecond)
	}
	if idle := s.opts.IdleTimeout; idle > 0 && idle/4 < interval {
		interval = max(idle/4, 10*time.Millisecond)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	wrapped, fine := false, false
	for {
		select {
		case <-s.workCtx.Done():
			return
		case <-tick.C:
		}
		if !fine && s.clock.suppressed.Load() && padTick < interval {
			// The carrier suppresses silence: the pad needs a finer clock than the
			// statistics. Other calls keep the slow tick (one wake-up a second).
			fine = true
			tick.Reset(padTick)
		}
		now := s.now()
		s.padSilence(now)
		if s.stats.due(now) {
			s.emitStats()
		}
		s.flushWarnings(now, false)
		s.pollLegUsage()
		if idle := s.opts.CallerIdleTimeout; idle > 0 {
			if s.stats.callerSilence(now) > idle {
				s.end(callevent.EndCallerTimeout, fmt.Errorf("no frames from Twilio for %s", idle))
				return
			}
		}
		if limit := s.opts.MaxDuration; limit > 0 {
			elapsed := now.Sub(s.began)
			if elapsed >= limit {
				s.end(callevent.EndMaxDuration, nil)
				return
			}
			if !wrapped && elapsed >= limit-s.opts.WrapUpBefore && s.ready.Load() {
				wrapped = true
				if err := s.Instruct(s.opts.WrapUpMessage); err != nil {
					s.end(callevent.EndModelDisconnected, err)
					return
				}
			}
		}
		if !s.checkIdle(now) {
			return
		}
	}
}

// checkIdle handles a silent line: after IdleTimeout without speech or agent audio
// the agent asks whether the caller is still there; after a second silence it says
// goodbye and the call ends. It reports false once the call is ending.
func (s *Session) checkIdle(now time.Time) bool {
	idle := s.opts.IdleTimeout
	if idle <= 0 || !s.ready.Load() || s.idleEnding {
		return true
	}
	s.mu.Lock()
	busy := s.resp.active || s.resp.requested
	s.mu.Unlock()
	if busy {
		s.touch(now) // the model is working on an answer: not silence
		return true
	}
	if now.Sub(time.Unix(0, s.lastActivity.Load())) < idle {
		return true
	}
	if !s.idlePrompted.Swap(true) {
		s.touch(now)
		if err := s.Instruct(s.opts.IdlePrompt); err != nil {
			s.end(callevent.EndModelDisconnected, err)
			return false
		}
		return true
	}
	s.idleEnding = true
	s.tasks.Go(func() {
		if err := s.Instruct("The caller is not answering. Say a short goodbye."); err == nil {
			ctx, cancel := context.WithTimeout(s.workCtx, idleGoodbyeLimit)
			_ = s.WaitPlayed(ctx)
			cancel()
		}
		s.end(callevent.EndIdle, nil)
	})
	return true
}

// touch records activity on the line: speech, key presses, agent audio until when
// it will have played.
func (s *Session) touch(until time.Time) {
	for {
		old := s.lastActivity.Load()
		if until.UnixNano() <= old || s.lastActivity.CompareAndSwap(old, until.UnixNano()) {
			return
		}
	}
}

// emitStats reports the audio relayed since the last report, if any.
func (s *Session) emitStats() {
	now := s.now()
	if ev, ok := s.stats.sinceReport(now); ok {
		ev.Header = callevent.Header{Time: now, CallSID: s.CallSID()}
		s.emit(ev)
	}
}
