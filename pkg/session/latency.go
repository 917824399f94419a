package session

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// Where a turn's latency goes. A turn runs along these points, each taken when the
// bridge saw it:
//
//	end   the caller's real end of speech (speech_stopped's audio_end_ms, mapped)
//	p0    speech_stopped reached the bridge
//	p1    the model's response.created
//	p2    the last tool result (or MCP approval answer) sent, if any
//	p3    the answer's first audio delta received
//	p4    its frame written to Twilio
//	echo  that frame's mark echoed as played
//
// Each part is the time between two points less the time a person spent approving
// tools meanwhile, so the parts add up exactly: ModelWait+Tools+FirstAudio+Relay is
// TurnLatency.Latency (unchanged from before the parts), and with Endpointing and
// Approval they make Total. The playout (p4 → echo) is its own event, TurnPlayout:
// the echo comes after TurnLatency has gone out (dev's line, the metrics and
// simulate's bounds read it at p4, as before), and may never come (a barge-in, a
// hang-up); events are never changed once sent.

// audioAnchors maps the model's audio clock (bytes of caller audio relayed, silence
// fills and pads included: what audio_end_ms counts) to the wall clock: each entry is
// where the audio stood after a frame (and the silence filled before it) or a pad,
// and when that audio was real. The caller pump and the watchdog add under
// callerClock.mu; the model pump reads under it. Fixed size: nothing allocates.
type audioAnchors struct {
	ring [64]audioAnchor // 64 frames: over a second of 20 ms frames, more than the VAD's silence
	next int
	n    int
	pos  int64     // bytes relayed so far
	base time.Time // the first entry's time: entries keep theirs as an offset, half the size
}

type audioAnchor struct {
	pos int64         // bytes relayed after this piece
	at  time.Duration // when the end of this piece was real, after base
}

// add records n bytes relayed whose end was real at at.
func (a *audioAnchors) add(n int64, at time.Time) {
	a.pos += n
	if a.base.IsZero() {
		a.base = at
	}
	a.ring[a.next] = audioAnchor{pos: a.pos, at: at.Sub(a.base)}
	a.next = (a.next + 1) % len(a.ring)
	a.n = min(a.n+1, len(a.ring))
}

// wallAt is when the audio at position pos (bytes) was real: the end of the piece
// holding it, less the audio after pos in that piece. Older audio than the ring
// holds is extrapolated from its oldest entry. ok is false before any audio.
func (a *audioAnchors) wallAt(pos int64) (time.Time, bool) {
	if a.n == 0 {
		return time.Time{}, false
	}
	newest := a.ring[(a.next+len(a.ring)-1)%len(a.ring)]
	if pos >= newest.pos {
		return a.base.Add(newest.at), true // the model counts no more than was relayed
	}
	hold := newest
	for i := 1; i < a.n; i++ {
		e := a.ring[(a.next+len(a.ring)-1-i)%len(a.ring)]
		if e.pos < pos {
			break
		}
		hold = e
	}
	return a.base.Add(hold.at - time.Duration(hold.pos-pos)*time.Millisecond/twiliotransport.BytesPerMs), true
}

// turnParts holds the points of the turn in progress.
type turnParts struct {
	// Owned by the model pump.
	endpointing time.Duration
	created     time.Time // p1, zero until the turn's first response.created
	createdWait time.Duration
	silence     time.Duration // the server VAD's silence duration, as the server last confirmed it

	// Tool results are sent from tool goroutines.
	mu         sync.Mutex
	result     time.Time // p2: the last tool result sent, any turn
	resultWait time.Duration

	// The playout of the last answer: set by the model pump, ended by the caller
	// pump's mark echo or a cut-off.
	playPending atomic.Bool
	playMu      sync.Mutex
	playResp    string
	playItem    string
	playOffset  int64
	playWritten time.Time
}

// turnSilence is how much silence the server's VAD waits before speech_stopped, as
// the session it confirmed says: audio_end_ms includes it ("the end of audio sent to
// the model, and thus includes the min_silence_duration_ms configured in the
// Session"). semantic_vad has no fixed wait: 0.
func turnSilence(cfg realtime.SessionConfig) time.Duration {
	if cfg.Audio == nil || cfg.Audio.Input == nil || cfg.Audio.Input.TurnDetection == nil {
		return 0
	}
	td := cfg.Audio.Input.TurnDetection
	if td.Type != realtime.ServerVAD {
		return 0
	}
	if td.SilenceDurationMs != nil {
		return time.Duration(*td.SilenceDurationMs) * time.Millisecond
	}
	return defaultSilence
}

// defaultSilence is server_vad's silence_duration_ms when the session sets none.
const defaultSilence = 500 * time.Millisecond

// noteSpeechStopped starts a turn's parts at p0 (model pump).
func (s *Session) noteSpeechStopped(at time.Time, audioEndMs int) {
	t := &s.parts
	t.created, t.createdWait, t.endpointing = time.Time{}, 0, 0
	s.clock.mu.Lock()
	spoke, ok := s.clock.audio.wallAt(int64(audioEndMs) * twiliotransport.BytesPerMs)
	s.clock.mu.Unlock()
	if ok {
		t.endpointing = max(at.Sub(spoke.Add(-t.silence)), 0)
	}
}

// noteResponseCreated takes p1 for the turn awaiting its answer (model pump).
func (s *Session) noteResponseCreated() {
	if !s.awaitingAudio || !s.parts.created.IsZero() {
		return
	}
	now := s.now()
	s.parts.created, s.parts.createdWait = now, s.human.at(now)
}

// noteToolResult takes p2: a result went to the model (tool goroutines).
func (s *Session) noteToolResult() {
	now := s.now()
	wait := s.human.at(now)
	s.parts.mu.Lock()
	s.parts.result, s.parts.resultWait = now, wait
	s.parts.mu.Unlock()
}

// turnLatency builds the turn's event at p4 from p3 (received) and p4 (written), and
// starts waiting for the playout of the answer's first frame, which ends at offset
// bytes into item (model pump).
func (s *Session) turnLatency(responseID, itemID string, offset int64, received, written time.Time) callevent.TurnLatency {
	t := &s.parts
	p0, w0 := s.speechStoppedAt, s.waitedAtStop
	p4, w4 := written, s.human.at(written)
	p3, w3 := received, s.human.at(received)
	p1, w1 := t.created, t.createdWait
	if p1.IsZero() || p1.Before(p0) || p1.After(p3) {
		p1, w1 = p3, w3 // no response.created seen: the wait is the model's first audio
	}
	t.mu.Lock()
	p2, w2 := t.result, t.resultWait
	t.mu.Unlock()
	if p2.Before(p1) || p2.After(p3) {
		p2, w2 = p1, w1 // no tool result in this turn
	}
	part := func(a, b time.Time, wa, wb time.Duration) time.Duration { return b.Sub(a) - (wb - wa) }
	ev := callevent.TurnLatency{Header: s.hdr(), ResponseID: responseID,
		Latency:     part(p0, p4, w0, w4),
		Endpointing: t.endpointing,
		ModelWait:   part(p0, p1, w0, w1),
		Tools:       part(p1, p2, w1, w2),
		Approval:    w4 - w0,
		FirstAudio:  part(p2, p3, w2, w3),
		Relay:       part(p3, p4, w3, w4),
	}
	ev.Total = ev.Endpointing + ev.Latency + ev.Approval
	t.playMu.Lock()
	t.playResp, t.playItem, t.playOffset, t.playWritten = responseID, itemID, offset, written
	t.playMu.Unlock()
	t.playPending.Store(true)
	return ev
}

// cancelPlayout forgets the answer's playout: its audio is being cleared, and the
// echoes a clear brings do not mean it played (model pump, before the clear).
func (s *Session) cancelPlayout() { s.parts.playPending.Store(false) }

// markEchoed ends the playout of the last answer when Twilio echoes its first
// frame's mark, or a later one of the same item, as played (caller pump). Mark names
// are twiliotransport's gen:item:offset; parsing them allocates nothing.
func (s *Session) markEchoed(name string, now time.Time) {
	t := &s.parts
	if !t.playPending.Load() {
		return
	}
	i, j := strings.IndexByte(name, ':'), strings.LastIndexByte(name, ':')
	if i < 0 || j <= i {
		return
	}
	off, err := strconv.ParseInt(name[j+1:], 10, 64)
	if err != nil {
		return
	}
	t.playMu.Lock()
	if name[i+1:j] != t.playItem || off < t.playOffset || !t.playPending.Load() {
		t.playMu.Unlock()
		return
	}
	t.playPending.Store(false)
	resp, written := t.playResp, t.playWritten
	t.playMu.Unlock()
	s.emit(callevent.TurnPlayout{Header: s.hdr(), ResponseID: resp, Playout: now.Sub(written)})
}
