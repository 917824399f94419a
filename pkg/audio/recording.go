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
}

// gapBytes is how late a caller frame must be before it is placed at its arrival
// time instead of right after the previous one (network jitter is not a gap).
const gapBytes = 60 * 8

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

// CallerAudio adds a caller frame received at at.
func (r *Recording) CallerAudio(at time.Time, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.decode(payload)
	if p := r.pos(at); p-len(r.caller) > gapBytes {
		r.caller = pad(r.caller, p)
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
