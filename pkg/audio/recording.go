package audio

import (
	"encoding/base64"
	"io"
	"sync"
	"time"
)

// Recording assembles a stereo recording of a call from the audio a session relays:
// the caller on the left, the agent on the right, time-aligned, silence where nobody
// spoke. Agent audio is placed where it plays (after what is queued) and a cut drops
// what had not played yet, so the recording holds what the caller heard.
// It implements session.Recorder; methods are safe for concurrent use.
type Recording struct {
	mu      sync.Mutex
	start   time.Time
	end     time.Time
	caller  []byte // μ-law at 8 kHz; position = bytes since start
	agent   []byte
	scratch []byte
	// anchor is where the caller's media timestamp 0 falls on the recording (in
	// bytes): arrival minus timestamp, the least of all frames so far (the frame
	// that met the least delay); anchored says a frame has set it.
	anchor   int
	anchored bool
}

// maxMediaMs is beyond any call (a day): a larger media timestamp is garbage and
// its frame is placed right after the one before.
const maxMediaMs = 24 * 3600 * 1000

// NewRecording starts a recording at start.
func NewRecording(start time.Time) *Recording {
	return &Recording{start: start}
}

// Begin moves the recording's time zero to at, the call's start, when no audio has
// been added yet (the setup before it, the model dial, is not part of the call).
func (r *Recording) Begin(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.caller) == 0 && len(r.agent) == 0 {
		r.start = at
	}
}

func (r *Recording) pos(at time.Time) int {
	return max(0, int(at.Sub(r.start).Microseconds()*8/1000))
}

func (r *Recording) decode(payload []byte) []byte {
	n := base64.StdEncoding.DecodedLen(len(payload))
	if cap(r.scratch) < n {
		r.scratch = make([]byte, n)
	}
	k, err := base64.StdEncoding.Decode(r.scratch[:n], payload)
	if err != nil {
		return nil
	}
	return r.scratch[:k]
}

// CallerAudio adds a caller frame received at at, whose media timestamp (ms since
// the stream started, on the caller's audio clock) is mediaMs. The frame is placed
// by its timestamp, not by when it arrived: a frame the network delayed keeps its
// place, and silence the carrier omitted (a jump of the timestamps) is silence in
// the recording. The clock is anchored on the frame that met the least delay; a
// frame whose place is already taken (a timestamp going backward, a repeat)
// follows the one before.
func (r *Recording) CallerAudio(at time.Time, mediaMs int64, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.decode(payload)
	if mediaMs >= 0 && mediaMs <= maxMediaMs {
		if a := r.pos(at) - int(mediaMs)*8; !r.anchored || a < r.anchor {
			r.anchor, r.anchored = a, true
		}
		if p := r.anchor + int(mediaMs)*8; p > len(r.caller) {
			r.caller = pad(r.caller, p)
		}
	}
	r.caller = append(r.caller, b...)
}

// AgentAudio adds agent audio sent at at: it plays after what is queued.
func (r *Recording) AgentAudio(at time.Time, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.decode(payload)
	r.agent = pad(r.agent, r.pos(at))
	r.agent = append(r.agent, b...)
}

// Cut drops agent audio that had not played at at.
func (r *Recording) Cut(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.pos(at); p < len(r.agent) {
		r.agent = r.agent[:p]
	}
}

// Finish marks the end of the call: the recording lasts until end.
func (r *Recording) Finish(end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.end = end
}

// pad extends t with silence up to n bytes.
func pad(t []byte, n int) []byte {
	for len(t) < n {
		t = append(t, MulawSilence)
	}
	return t
}

// Tracks returns copies of the caller and agent tracks (μ-law, 8 kHz), both as
// long as the recording.
func (r *Recording) Tracks() (caller, agent []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := max(len(r.caller), len(r.agent))
	if !r.end.IsZero() {
		n = r.pos(r.end)
	}
	caller = pad(append([]byte(nil), r.caller[:min(n, len(r.caller))]...), n)
	agent = pad(append([]byte(nil), r.agent[:min(n, len(r.agent))]...), n)
	return caller, agent
}

// WriteWAV writes the recording as a stereo 16-bit WAV at 8 kHz.
func (r *Recording) WriteWAV(w io.Writer) error {
	caller, agent := r.Tracks()
	return WriteStereoWAV(w, 8000, DecodeMulaw(caller), DecodeMulaw(agent))
}
