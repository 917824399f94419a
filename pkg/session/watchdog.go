package session

import (
	"fmt"
	"time"
)

type statsMark struct {
	at                   time.Time
	inF, inB, outF, outB int64
}

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
	tick := time.NewTicker(interval)
	defer tick.Stop()
	wrapped := false
	for {
		select {
		case <-s.workCtx.Done():
			return
		case <-tick.C:
		}
		now := s.now()
		if now.Sub(s.reported.at) >= statsInterval {
			s.emitStats()
		}
		if idle := s.opts.CallerIdleTimeout; idle > 0 {
			last := time.Unix(0, s.lastCallerFrame.Load())
			if now.Sub(last) > idle {
				s.end(EndCallerTimeout, fmt.Errorf("no frames from Twilio for %s", idle))
				return
			}
		}
		if limit := s.opts.MaxDuration; limit > 0 {
			elapsed := now.Sub(s.began)
			if elapsed >= limit {
				s.end(EndMaxDuration, nil)
				return
			}
			if !wrapped && elapsed >= limit-s.opts.WrapUpBefore && s.ready.Load() {
				wrapped = true
				if err := s.Instruct(s.opts.WrapUpMessage); err != nil {
					s.end(EndModelDisconnected, err)
					return
				}
			}
		}
	}
}

// emitStats reports the audio relayed since the last report, if any.
func (s *Session) emitStats() {
	now := s.now()
	cur := statsMark{at: now, inF: s.inFrames.Load(), inB: s.inBytes.Load(), outF: s.outFrames.Load(), outB: s.outBytes.Load()}
	last := s.reported
	if cur.inF == last.inF && cur.outF == last.outF {
		return
	}
	s.reported = cur
	s.emit(MediaStats{Header: Header{Time: now, CallSID: s.CallSID()}, Interval: now.Sub(last.at),
		InFrames: int(cur.inF - last.inF), InBytes: int(cur.inB - last.inB),
		OutFrames: int(cur.outF - last.outF), OutBytes: int(cur.outB - last.outB)})
}
