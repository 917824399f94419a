package audio

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"
)

func b64(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) }

func fill(n int, v byte) []byte { return bytes.Repeat([]byte{v}, n) }

func TestRecordingAlignsTracks(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r := NewRecording(t0)
	for i := range 3 {
		r.CallerAudio(at(i*20+3*(i%2)), int64(i*20), b64(fill(160, byte(0x10+i)))) // jitter of a few ms: no gap
	}
	r.CallerAudio(at(500), 497, b64(fill(160, 0x20))) // after omitted silence: placed by its timestamp
	r.AgentAudio(at(100), b64(fill(1600, 0x30)))
	r.AgentAudio(at(120), b64(fill(800, 0x31))) // queued behind the first chunk
	r.Cut(at(200))                              // the caller barged in: the rest never played
	r.Finish(at(1000))

	caller, agent := r.Tracks()
	if len(caller) != 8000 || len(agent) != 8000 {
		t.Fatalf("tracks of %d and %d bytes, want 8000 (1 s)", len(caller), len(agent))
	}
	if caller[0] != 0x10 || caller[160] != 0x11 || caller[479] != 0x12 || caller[480] != MulawSilence || caller[3976] != 0x20 || caller[3975] != MulawSilence {
		t.Fatalf("caller track misplaced")
	}
	if agent[799] != MulawSilence || agent[800] != 0x30 || agent[1599] != 0x30 || agent[1600] != MulawSilence {
		t.Fatalf("agent track: the cut at 200 ms must end it at byte 1600")
	}
	var w bytes.Buffer
	if err := r.WriteWAV(&w); err != nil {
		t.Fatal(err)
	}
	rate, ch, err := ReadWAVChannels(w.Bytes())
	if err != nil || rate != 8000 || len(ch) != 2 || len(ch[0]) != 8000 {
		t.Fatalf("WAV: %d Hz, %d channels, %v", rate, len(ch), err)
	}
	if ch[0][0] != MulawToLinear(0x10) || ch[1][800] != MulawToLinear(0x30) || ch[1][1600] != 0 {
		t.Fatal("WAV samples do not match the tracks")
	}
}

// Begin moves time zero to the call's start while nothing is recorded, and never
// after: audio already placed keeps its place.
func TestRecordingBegin(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	r := NewRecording(t0)
	r.Begin(t0.Add(500 * time.Millisecond))
	r.CallerAudio(t0.Add(500*time.Millisecond), 0, []byte("//8=")) // two bytes
	r.Begin(t0.Add(time.Second))
	r.Finish(t0.Add(600 * time.Millisecond))
	caller, _ := r.Tracks()
	if len(caller) != 800 { // 100 ms at 8 kHz from the call's start
		t.Fatalf("%d bytes, want 800 (100 ms from Begin)", len(caller))
	}
}

// Caller frames are placed by their media timestamps, not by when they arrived: a
// burst of frames the network held back keeps its place (arrival placement put the
// whole burst late, and everything after it), and omitted silence stays silence.
func TestFaultRecordingPlacesLateCallerFramesByTimestamp(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r := NewRecording(t0)
	// 0–180 ms arrive on time; 200–380 ms are held back and arrive together at 600 ms;
	// 400 ms onward arrive on time again.
	for i := range 25 {
		ts := i * 20
		arrive := ts + 2*(i%2) // a little jitter
		if ts >= 200 && ts < 400 {
			arrive = 600
		}
		r.CallerAudio(at(arrive), int64(ts), b64(fill(160, byte(i+1))))
	}
	r.Finish(at(1000))
	caller, _ := r.Tracks()
	for i := range 25 {
		if got := caller[i*160]; got != byte(i+1) {
			t.Fatalf("frame %d (timestamp %d ms) is not at %d ms: found %#x there", i, i*20, i*20, got)
		}
	}
	if caller[25*160] != MulawSilence {
		t.Error("audio after the last frame")
	}
}
