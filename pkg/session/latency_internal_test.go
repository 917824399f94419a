package session

import (
	"testing"
	"time"
)

// The model's audio clock maps to when the audio was real, silence filled for
// omitted frames included: a position inside a fill is placed before the frame
// that revealed the gap, by the audio after it.
func TestAudioAnchorsWallAt(t *testing.T) {
	var a audioAnchors
	if _, ok := a.wallAt(0); ok {
		t.Fatal("a position before any audio is known")
	}
	t0 := time.Unix(1000, 0)
	a.add(160, t0)                                 // frame 0-20 ms
	a.add(160, t0.Add(20*time.Millisecond))        // 20-40 ms
	a.add(8*400+160, t0.Add(440*time.Millisecond)) // 400 ms omitted, filled, then 440-460 ms
	for _, c := range []struct {
		ms   int64
		want time.Duration
	}{
		{20, 0},    // the end of the first frame
		{30, 10},   // inside the second
		{40, 20},   // its end
		{100, 80},  // inside the filled silence
		{460, 440}, // the last frame's end
		{900, 440}, // beyond what was relayed: no later than the last audio
	} {
		got, _ := a.wallAt(c.ms * 8)
		if want := t0.Add(c.want * time.Millisecond); !got.Equal(want) {
			t.Errorf("wallAt(%d ms) = +%s, want +%s", c.ms, got.Sub(t0), want.Sub(t0))
		}
	}
	for i := 0; i < 200; i++ { // the ring wraps: older audio is extrapolated from its oldest entry
		a.add(160, t0.Add(time.Duration(440+20*(i+1))*time.Millisecond))
	}
	if got, _ := a.wallAt(0); !got.Equal(t0.Add(-20 * time.Millisecond)) {
		t.Errorf("wallAt(0) after wrapping = +%s, want -20ms", got.Sub(t0))
	}
}
