package audio

import (
	"math"
	"testing"
)

func tone(freq float64, rate, n int, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return out
}

// power is the energy of samples at freq (Goertzel), normalized to amplitude.
func power(samples []int16, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	var s1, s2 float64
	for _, x := range samples {
		s := float64(x) + 2*math.Cos(w)*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - 2*math.Cos(w)*s1*s2
	return 2 * math.Sqrt(p) / float64(len(samples))
}

func TestResamplePreservesInBand(t *testing.T) {
	for _, from := range []int{16000, 24000, 44100, 48000} {
		in := tone(1000, from, from, 10000) // one second of 1 kHz
		out := Resample(in, from, 8000)
		if len(out) != 8000 {
			t.Fatalf("%d Hz → 8 kHz gave %d samples", from, len(out))
		}
		if a := power(out[800:7200], 1000, 8000); a < 9000 || a > 11000 {
			t.Errorf("%d Hz → 8 kHz: 1 kHz amplitude %.0f, want ~10000", from, a)
		}
	}
}

func TestResampleRejectsAliases(t *testing.T) {
	in := tone(6000, 48000, 48000, 10000) // above 8 kHz's Nyquist: would fold to 2 kHz
	out := Resample(in, 48000, 8000)
	if a := power(out[800:7200], 2000, 8000); a > 300 {
		t.Errorf("6 kHz aliased to 2 kHz with amplitude %.0f", a)
	}
}

func TestUpsample(t *testing.T) {
	in := tone(500, 8000, 8000, 8000)
	out := Resample(in, 8000, 16000)
	if len(out) != 16000 {
		t.Fatalf("%d samples", len(out))
	}
	if a := power(out[1600:14400], 500, 16000); a < 7200 || a > 8800 {
		t.Errorf("500 Hz amplitude %.0f after upsampling", a)
	}
}
