package offlinecall

import (
	"bytes"
	"math"
	"strings"

	"github.com/callagent/callagent/pkg/audio"
)

// Simulated speech: text rendered as speech-like tones, one short "syllable" per
// character, so the simulator needs neither recordings nor a speech engine. Because
// callagent relays audio byte for byte, the other side can read the text back
// exactly (Transcribe): that is how the simulated model understands the simulated
// caller, with no side channel.

// Voice is a simulated speaker.
type Voice struct {
	base float64 // Hz of character 0
	step float64 // Hz between characters
	key  byte    // tells the voices' markers apart
}

// The voices of the simulator.
var (
	CallerVoice = Voice{base: 420, step: 6, key: 1}
	AgentVoice  = Voice{base: 180, step: 5, key: 2}
)

// charSamples is the length of one character: 40 ms at 8 kHz, a brisk speaking rate.
const charSamples = 320

const (
	markStart = 0x02 // starts every utterance
	markEnd   = 0x03 // ends it
)

type codec struct {
	waves [256][]byte // μ-law waveform of each byte value
	index map[string]byte
}

var codecs = map[byte]*codec{}

func init() {
	for _, v := range []Voice{CallerVoice, AgentVoice} {
		c := &codec{index: map[string]byte{}}
		for b := range 256 {
			c.waves[b] = v.wave(byte(b))
			c.index[string(c.waves[b])] = byte(b)
		}
		codecs[v.key] = c
	}
}

// wave renders one byte: a tone with a raised-cosine envelope; spaces are quiet gaps
// between "words". Marker bytes carry the voice's key in their pitch, so the two
// voices never share a waveform.
func (v Voice) wave(b byte) []byte {
	samples := make([]int16, charSamples)
	if b == ' ' {
		return audio.EncodeMulaw(samples)
	}
	freq := v.base + v.step*float64(b)
	if b == markStart || b == markEnd {
		freq = 2400 + 200*float64(v.key) + 100*float64(b)
	}
	amp := 6000 + 3000*float64(b%7)/6
	for i := range samples {
		env := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(charSamples))
		samples[i] = int16(amp * env * (math.Sin(2*math.Pi*freq*float64(i)/8000) + 0.3*math.Sin(4*math.Pi*freq*float64(i)/8000)))
	}
	return audio.EncodeMulaw(samples)
}

// Speak renders text as simulated speech in voice v (μ-law, 8 kHz).
func (v Voice) Speak(text string) []byte {
	c := codecs[v.key]
	var out bytes.Buffer
	out.Write(c.waves[markStart])
	for _, b := range []byte(text) {
		out.Write(c.waves[b])
	}
	out.Write(c.waves[markEnd])
	return out.Bytes()
}

// Transcribe reads back every utterance of simulated speech in audio (either voice),
// joined by spaces. ok is false when there is none: the audio is real speech or noise.
func Transcribe(ulaw []byte) (text string, ok bool) {
	var parts []string
	for _, c := range codecs {
		// The marker is found from its first sound on: its envelope starts with
		// silent samples, and silence is what a carrier that suppresses it may leave
		// out (a caller's first frame that would hold only those samples is not
		// sent, and callagent fills no silence before a stream's first frame).
		start := c.waves[markStart]
		lead := 0
		for lead < len(start) && start[lead] == audio.MulawSilence {
			lead++
		}
		for rest := ulaw; ; {
			i := bytes.Index(rest, start[lead:])
			if i < 0 {
				break
			}
			rest = rest[i+len(start)-lead:]
			var sb strings.Builder
			for len(rest) >= charSamples {
				b, known := c.index[string(rest[:charSamples])]
				if !known || b == markEnd {
					break
				}
				sb.WriteByte(b)
				rest = rest[charSamples:]
			}
			parts = append(parts, sb.String())
		}
	}
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, " "), true
}

// SpeechMs is how long v speaks text.
func (v Voice) SpeechMs(text string) int { return (len(text) + 2) * charSamples / 8 }

// vad is energy-based voice activity detection on 20 ms μ-law frames, as the
// simulated model hears the caller: speech starts after two loud frames and stops
// after silenceMs of quiet.
type vad struct {
	silenceMs  int
	threshold  float64
	loudRun    int
	quietMs    int
	speaking   bool
	startedAt  int // byte offset where speech started
	lastLoudAt int // byte offset after the last loud frame
}

const vadFrame = 160

func newVAD(silenceMs int) *vad {
	if silenceMs <= 0 {
		silenceMs = 500
	}
	return &vad{silenceMs: silenceMs, threshold: 400}
}

// feed processes one frame at byte offset pos; it reports a start or a stop.
func (v *vad) feed(frame []byte, pos int) (started, stopped bool) {
	var sum float64
	for _, b := range frame {
		s := float64(audio.MulawToLinear(b))
		sum += s * s
	}
	loud := math.Sqrt(sum/float64(len(frame))) > v.threshold
	if loud {
		v.loudRun++
		v.quietMs = 0
		v.lastLoudAt = pos + len(frame)
	} else {
		v.loudRun = 0
		v.quietMs += len(frame) / 8
	}
	switch {
	case !v.speaking && v.loudRun >= 2:
		v.speaking = true
		v.startedAt = pos - vadFrame
		return true, false
	case v.speaking && v.quietMs >= v.silenceMs:
		v.speaking = false
		return false, true
	}
	return false, false
}
