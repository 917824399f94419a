// Package audio has the little audio processing callagent needs around its calls:
// G.711 μ-law (the telephone encoding Twilio streams), WAV files (caller audio for the
// simulator, call recordings), and resampling to and from 8 kHz.
//
// The call path itself never decodes audio: it relays base64 μ-law as it comes. This
// package serves the simulator, recordings and tests.
package audio

// μ-law constants from ITU-T G.711.
const (
	ulawBias = 0x84
)

var ulawToLinear = func() (t [256]int16) {
	for i := range t {
		u := ^byte(i)
		sign := u & 0x80
		exponent := (u >> 4) & 0x07
		mantissa := int(u & 0x0F)
		sample := ((mantissa<<3)+ulawBias)<<exponent - ulawBias
		if sign != 0 {
			sample = -sample
		}
		t[i] = int16(sample)
	}
	return t
}()

// MulawToLinear decodes one μ-law byte to a 16-bit sample.
func MulawToLinear(b byte) int16 { return ulawToLinear[b] }

// segmentEnds are the upper bounds of the eight μ-law segments, in 14-bit units.
var segmentEnds = [8]int{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}

// LinearToMulaw encodes a 16-bit sample as μ-law, as the G.711 reference code does:
// on the 14-bit value, so negative samples round toward minus infinity.
func LinearToMulaw(sample int16) byte {
	pcm := int(sample) >> 2
	mask := byte(0xFF)
	if pcm < 0 {
		pcm = -pcm
		mask = 0x7F
	}
	pcm = min(pcm, 8159) + ulawBias>>2 // 14-bit clip and bias
	seg := 0
	for seg < len(segmentEnds) && pcm > segmentEnds[seg] {
		seg++
	}
	if seg == len(segmentEnds) {
		return 0x7F ^ mask
	}
	return (byte(seg<<4) | byte(pcm>>(seg+1))&0x0F) ^ mask
}

// DecodeMulaw decodes μ-law bytes to samples.
func DecodeMulaw(ulaw []byte) []int16 {
	out := make([]int16, len(ulaw))
	for i, b := range ulaw {
		out[i] = ulawToLinear[b]
	}
	return out
}

// EncodeMulaw encodes samples as μ-law bytes.
func EncodeMulaw(samples []int16) []byte {
	out := make([]byte, len(samples))
	for i, s := range samples {
		out[i] = LinearToMulaw(s)
	}
	return out
}

// MulawSilence is the μ-law byte of a zero sample.
const MulawSilence = 0xFF
