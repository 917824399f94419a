package session

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// watchdogState runs the watchdog as a timer, not a parked goroutine: each tick runs
// on the timer's own goroutine (time.AfterFunc) and arms the next, so a call costs
// no goroutine stack between ticks. Ticks never overlap.
type watchdogState struct {
	mu       sync.Mutex
	timer    *time.Timer
	stopped  bool
	running  sync.WaitGroup // the tick in flight, if any
	interval time.Duration
	wrapped  bool // owned by the ticks, one at a time
	fine     bool
}

// startWatchdog arms the first tick.
func (s *Session) startWatchdog() {
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
	s.wd.interval = interval
	s.armWatchdog()
}

// armWatchdog schedules the next tick unless the watchdog was stopped.
func (s *Session) armWatchdog() {
	s.wd.mu.Lock()
	defer s.wd.mu.Unlock()
	if s.wd.stopped {
		return
	}
	s.wd.running.Add(1)
	s.wd.timer = time.AfterFunc(s.wd.interval, s.watchdog)
}

// stopWatchdog cancels the next tick; a tick already running finishes (joined by
// waitWatchdog) and arms nothing.
func (s *Session) stopWatchdog() {
	s.wd.mu.Lock()
	defer s.wd.mu.Unlock()
	s.wd.stopped = true
	if s.wd.timer != nil && s.wd.timer.Stop() {
		s.wd.running.Done() // it will not run
	}
}

func (s *Session) waitWatchdog() { s.wd.running.Wait() }

// watchdog is one tick: it ends a call whose caller leg went silent or that reached
// MaxDuration (telling the agent to wrap up first), reports media statistics, and
// arms the next tick unless the call is ending.
func (s *Session) watchdog() {
	defer s.wd.running.Done()
	if s.workCtx.Err() != nil || !s.watchdogTick() {
		return
	}
	s.armWatchdog()
}

// watchdogTick does a tick's work; false once the call is ending.
func (s *Session) watchdogTick() bool {
	if !s.wd.fine && s.clock.suppressed.Load() && padTick < s.wd.interval {
		// The carrier suppresses silence: the pad needs a finer clock than the
		// statistics. Other calls keep the slow tick (one wake-up a second).
		s.wd.fine = true
		s.wd.interval = padTick
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
			return false
		}
	}
	if limit := s.opts.MaxDuration; limit > 0 {
		elapsed := now.Sub(s.began)
		if elapsed >= limit {
			s.end(callevent.EndMaxDuration, nil)
			return false
		}
		if !s.wd.wrapped && elapsed >= limit-s.opts.WrapUpBefore && s.ready.Load() {
			s.wd.wrapped = true
			if err := s.Instruct(s.opts.WrapUpMessage); err != nil {
				s.end(callevent.EndModelDisconnected, err)
				return false
			}
		}
	}
	return s.checkIdle(now)
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
