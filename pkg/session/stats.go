package session

import (
	"sync/atomic"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// relayStats measures a call. The pumps and tool dispatch add to it without a lock;
// the watchdog reads it. reported alone is not atomic: it belongs to the watchdog
// while the call runs, then to Run once every goroutine has stopped.
type relayStats struct {
	lastCallerFrame                 atomic.Int64 // unix nanoseconds; the watchdog's silence check
	inFrames, inBytes               atomic.Int64 // totals, caller → model (bytes decoded)
	outFrames, outBytes             atomic.Int64 // totals, model → caller (bytes decoded)
	turns, interruptions, toolCalls atomic.Int64

	reported statsMark // totals at the last callevent.MediaStats
}

// statsMark is the totals at one moment.
type statsMark struct {
	at                   time.Time
	inF, inB, outF, outB int64
}

// begin marks the start of the call: the first interval and the first silence
// are counted from at.
func (r *relayStats) begin(at time.Time) {
	r.reported.at = at
	r.lastCallerFrame.Store(at.UnixNano())
}

// callerFrame records that the caller leg sent a frame of any kind at at.
func (r *relayStats) callerFrame(at time.Time) { r.lastCallerFrame.Store(at.UnixNano()) }

// callerSilence is how long the caller leg has sent nothing, at now.
func (r *relayStats) callerSilence(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, r.lastCallerFrame.Load()))
}

// callerAudio counts a frame relayed to the model that decodes to n bytes.
func (r *relayStats) callerAudio(n int) {
	r.inFrames.Add(1)
	r.inBytes.Add(int64(n))
}

// agentAudio counts a chunk relayed to the caller that decodes to n bytes.
func (r *relayStats) agentAudio(n int) {
	r.outFrames.Add(1)
	r.outBytes.Add(int64(n))
}

// sinceReport returns the audio relayed since the last report, as of now, and makes
// now the last report; it returns false, and changes nothing, when no frame was
// relayed either way.
func (r *relayStats) sinceReport(now time.Time) (callevent.MediaStats, bool) {
	cur := statsMark{at: now, inF: r.inFrames.Load(), inB: r.inBytes.Load(), outF: r.outFrames.Load(), outB: r.outBytes.Load()}
	last := r.reported
	if cur.inF == last.inF && cur.outF == last.outF {
		return callevent.MediaStats{}, false
	}
	r.reported = cur
	return callevent.MediaStats{Interval: now.Sub(last.at),
		InFrames: int(cur.inF - last.inF), InBytes: int(cur.inB - last.inB),
		OutFrames: int(cur.outF - last.outF), OutBytes: int(cur.outB - last.outB)}, true
}

// due reports whether a statistics interval has passed since the last report.
func (r *relayStats) due(now time.Time) bool { return now.Sub(r.reported.at) >= statsInterval }

// totals fills the call's totals into its CallEnded.
func (r *relayStats) totals(ev *callevent.CallEnded) {
	ev.Turns, ev.Interruptions, ev.ToolCalls = int(r.turns.Load()), int(r.interruptions.Load()), int(r.toolCalls.Load())
	ev.InBytes, ev.OutBytes = r.inBytes.Load(), r.outBytes.Load()
}
