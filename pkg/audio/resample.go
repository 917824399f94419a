package audio

import "math"

// Resample converts samples from rate from to rate to with a windowed-sinc low-pass
// filter, so downsampling does not alias (a 6 kHz tone does not fold into a 2 kHz one
// at 8 kHz). The output has round(len·to/from) samples.
func Resample(in []int16, from, to int) []int16 {
	if from == to || len(in) == 0 {
		return append([]int16(nil), in...)
	}
	ratio := float64(to) / float64(from)
	cutoff := min(1, ratio) * 0.92 // of the input Nyquist frequency
	const lobes = 16               // zero crossings each side, at the lower rate
	width := float64(lobes) / min(1, ratio)
	n := int(math.Round(float64(len(in)) * ratio))
	out := make([]int16, n)
	for i := range out {
		t := float64(i) / ratio // position in the input
		lo := max(0, int(math.Ceil(t-width)))
		hi := min(len(in)-1, int(math.Floor(t+width)))
		var sum, weights float64
		for k := lo; k <= hi; k++ {
			d := t - float64(k)
			w := cutoff * sinc(cutoff*d) * blackman(d/width)
			sum += w * float64(in[k])
			weights += w
		}
		if weights != 0 {
			sum /= weights
		}
		out[i] = int16(max(-32768, min(32767, math.Round(sum))))
	}
	return out
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// blackman is the Blackman window on [-1, 1].
func blackman(x float64) float64 {
	if x <= -1 || x >= 1 {
		return 0
	}
	p := math.Pi * (x + 1)
	return 0.42 - 0.5*math.Cos(p) + 0.08*math.Cos(2*p)
}

// ToMulaw8k converts a sound to 8 kHz μ-law, the audio of a phone call.
func ToMulaw8k(s Sound) []byte {
	return EncodeMulaw(Resample(s.Samples, s.Rate, 8000))
}
