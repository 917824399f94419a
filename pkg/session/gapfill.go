package session

import (
	"bytes"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// Some calls arrive with the caller's silent frames omitted (a carrier's silence
// suppression): Twilio's media.timestamp then jumps, and a relay of only what arrives
// starves the model's voice activity detection of the silence that ends a turn. The
// caller pump fills each gap the timestamps show with μ-law silence (bounded), and the
// watchdog pads silence while the model reports the caller speaking and no frame
// arrives, so the turn can end although the carrier sends nothing. The pad is a
// guess made on the wall clock, and frames that are only late (a loaded machine, a
// slow network) must never be covered by it, so it runs only on a call whose
// timestamps have already shown a gap: a carrier that suppresses silence, and
// waits longer (padHoldMax at most) each time real audio still came late into it,
// and the longest when the last frame was speech (a carrier stops sending after
// the caller went quiet, so frames stopping mid-word are late ones). Calls
// whose frames all come contiguously are never padded. (A call with suppression has
// such a gap before the caller's first turn ends in practice: the silence while the
// agent greets, or before the caller's first word, which makes the first frame start
// late.) The gap logic is in
// the session rather than in twiliotransport.Stream because filling means writing to
// the model (in order with the frames, through the input queue while the model
// connects), and the pad depends on the model's speech events; the arithmetic is
// twiliotransport.Timeline's.
const (
	// padHold is how long no frame may arrive, while the caller speaks, before the
	// pad starts: longer than network jitter, so late frames are not covered.
	padHold = 300 * time.Millisecond
	// padHoldMax bounds the hold: each time real audio arrives late inside a pad,
	// the hold doubles up to this. Padding never stops: a call that no longer pads
	// (what a first late frame used to cause) has turns that end only when the
	// caller speaks again, for the rest of the call.
	padHoldMax = 1200 * time.Millisecond
	// padLimitMs bounds the pad of one silence: a server VAD's silence duration
	// (500 ms by default) with room to spare.
	padLimitMs = 1000
	// padTick is the watchdog's interval while the pad may be needed.
	padTick = 50 * time.Millisecond
)

// silenceB64 holds base64 μ-law silence (0xFF bytes: "////" per three), long enough
// for the largest fill, ending in each of the three possible tails (none, one byte,
// two bytes); a fill is a suffix of one of them, so filling allocates nothing.
var silenceB64 = func() (b [3][]byte) {
	body := bytes.Repeat([]byte("////"), twiliotransport.MaxGapFillMs*twiliotransport.BytesPerMs/3+1)
	for r, tail := range []string{"", "/w==", "//8="} {
		b[r] = append(append([]byte(nil), body...), tail...)
	}
	return b
}()

// silence returns base64 of ms of μ-law silence, exactly ms*8 bytes (ms at most
// MaxGapFillMs).
func silence(ms int64) []byte {
	n := min(ms, twiliotransport.MaxGapFillMs) * twiliotransport.BytesPerMs
	b := silenceB64[n%3]
	size := 4 * ((n + 2) / 3) // base64 length of n bytes, padded
	return b[int64(len(b))-size:]
}

// callerClock follows the caller's audio clock. The caller pump and the watchdog
// share it; mu also keeps fills, pads and frames in order on their way to the model.
type callerClock struct {
	speaking atomic.Bool // the model reports caller speech (model pump writes)
	// suppressed: the timestamps showed omitted silence, so padding may be needed
	// (and the watchdog ticks finely). Set once, by the caller pump.
	suppressed atomic.Bool

	mu        sync.Mutex
	tl        twiliotransport.Timeline
	lastFrame time.Time          // when the last frame arrived
	last      [lastFrameCap]byte // the start of the last frame's payload (base64)
	lastN     int
	hold      time.Duration // the pad's hold: padHold, doubled after each late frame a pad met (padHoldMax)
	audio     audioAnchors  // the model's audio clock against the wall clock, for turn latency's endpointing
}

// callerFrame relays a caller media frame, after the silence its timestamp shows was
// omitted. Contiguous frames go through untouched.
func (s *Session) callerFrame(f *twiliotransport.Media, now time.Time) {
	c := &s.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastFrame = now
	r := c.tl.Frame(int64(f.Media.Timestamp), f.Size)
	if r.Overlap && c.padHold() < padHoldMax {
		c.hold = min(2*c.padHold(), padHoldMax)
		s.warn("caller audio arrived late, inside silence padded for it: padding now waits %v for late audio", c.hold)
	}
	if r.Omitted && !c.suppressed.Load() {
		c.suppressed.Store(true)
	}
	if c.suppressed.Load() {
		c.lastN = copy(c.last[:], f.Media.Payload) // only the pad reads it (lastLoud)
	}
	if r.FillMs > 0 {
		s.relayCallerAudio(silence(r.FillMs))
	}
	s.relayCallerAudio(f.Media.Payload)
	c.audio.add(r.FillMs*twiliotransport.BytesPerMs+int64(f.Size), now)
}

// padSilence pads the caller's audio with silence when the model hears the caller
// speaking and no frame has arrived for padHold, up to padLimitMs per silence. The
// pad sits on the caller's audio clock: the next frame's gap is filled only beyond it.
func (s *Session) padSilence(now time.Time) {
	c := &s.clock
	if !c.speaking.Load() || !s.ready.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.suppressed.Load() || c.lastFrame.IsZero() {
		return
	}
	hold := c.padHold()
	if c.lastLoud() {
		// A carrier suppresses silence: it stops sending once the caller has gone
		// quiet, so its last frame is quiet. Frames that stop in the middle of
		// speech are late (a loaded machine, a slow network), and silence padded
		// there would split the caller's words into two turns: wait the longest.
		hold = padHoldMax
	}
	want := (now.Sub(c.lastFrame) - hold).Milliseconds() - c.tl.Padded()
	if ms := c.tl.Pad(want, padLimitMs); ms > 0 {
		s.relayCallerAudio(silence(ms))
		c.audio.add(ms*twiliotransport.BytesPerMs, c.lastFrame.Add(time.Duration(c.tl.Padded())*time.Millisecond))
	}
}

// lastFrameCap bounds the copy of the last frame kept for lastLoud: 20 ms of
// μ-law in base64 (216 bytes) fits.
const lastFrameCap = 256

// loudRMS is the level (16-bit linear RMS) above which a frame is speech, as the
// twins' voice activity detectors take it.
const loudRMS = 400

// lastLoud reports whether the last frame was speech (mu held). Only the pad asks,
// on the watchdog's tick: the per-frame path only copies the payload.
func (c *callerClock) lastLoud() bool {
	var pcm [lastFrameCap / 4 * 3]byte
	n, err := base64.StdEncoding.Decode(pcm[:], c.last[:c.lastN])
	if err != nil || n == 0 {
		return false
	}
	var sum float64
	for _, b := range pcm[:n] {
		v := float64(audio.MulawToLinear(b))
		sum += v * v
	}
	return sum/float64(n) > loudRMS*loudRMS
}

// padHold is the pad's current hold (mu held).
func (c *callerClock) padHold() time.Duration {
	if c.hold == 0 {
		return padHold
	}
	return c.hold
}
