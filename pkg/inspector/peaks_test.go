package inspector

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/audio"
)

// The waveform endpoint sums the fixture's 7 s stereo recording (caller: a
// ramp 0..1999 repeating, agent: silence) into n buckets per channel; bad n
// and calls without a recording are refused with what to do.
func TestFaultPeaksOfTheRecording(t *testing.T) {
	s := start(t, nil)
	var p Peaks
	s.getJSON(t, "/api/calls/"+sidTool+"/peaks?n=7", &p)
	if p.Rate != 8000 || p.DurationMs != 7000 || p.Buckets != 7 || len(p.Channels) != 2 {
		t.Fatalf("peaks %+v", p)
	}
	caller, agent := p.Channels[0], p.Channels[1]
	if caller.Name != "caller" || agent.Name != "agent" {
		t.Errorf("channels %q %q", caller.Name, agent.Name)
	}
	for i := range 7 {
		if caller.Min[i] != 0 || caller.Max[i] != 1999>>8 || agent.Min[i] != 0 || agent.Max[i] != 0 {
			t.Fatalf("bucket %d: caller %d..%d agent %d..%d", i, caller.Min[i], caller.Max[i], agent.Min[i], agent.Max[i])
		}
	}
	s.getJSON(t, "/api/calls/"+sidTool+"/peaks", &p)
	if p.Buckets != defaultPeaks || len(p.Channels[0].Max) != defaultPeaks {
		t.Errorf("default: %d buckets", p.Buckets)
	}
	for _, q := range []string{"0", "-1", "x", "10001"} {
		res := s.get(t, "/api/calls/"+sidTool+"/peaks?n="+q, s.token, nil)
		if b := body(t, res); res.StatusCode != 400 || !strings.Contains(b, "n: a number of buckets") {
			t.Errorf("n=%s: %d %s", q, res.StatusCode, b)
		}
	}
	res := s.get(t, "/api/calls/"+sidShort+"/peaks", s.token, nil)
	if b := body(t, res); res.StatusCode != 404 || !strings.Contains(b, "no recording") {
		t.Errorf("no recording: %d %s", res.StatusCode, b)
	}
	if res := s.get(t, "/api/calls/"+sidTool+"/peaks", "", nil); res.StatusCode != 401 {
		t.Errorf("no token: %d", res.StatusCode)
	}
}

func TestComputePeaks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		chans    [][]int16
		n        int
		min, max [][]int8
	}{
		{"one bucket per sample", [][]int16{{-32768, 32767, 256}, {0, -512, 0}}, 3,
			[][]int8{{-128, 0, 0}, {0, -2, 0}}, [][]int8{{0, 127, 1}, {0, 0, 0}}},
		{"fewer samples than buckets", [][]int16{{1024, -1024}}, 10,
			[][]int8{{0, -4}}, [][]int8{{4, 0}}},
		{"two samples a bucket", [][]int16{{512, -512, 0, 32767}, {}}, 2,
			[][]int8{{-2, 0}, {0, 0}}, [][]int8{{2, 127}, {0, 0}}},
		{"empty", [][]int16{{}, {}}, 5, [][]int8{{}, {}}, [][]int8{{}, {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := computePeaks(8000, tc.chans, tc.n)
			for i, c := range p.Channels {
				if !slices.Equal(c.Min, tc.min[i]) || !slices.Equal(c.Max, tc.max[i]) {
					t.Errorf("channel %d (%s): min %v max %v, want %v %v", i, c.Name, c.Min, c.Max, tc.min[i], tc.max[i])
				}
			}
		})
	}
}

// The fast path over the recorder's 16-bit PCM gives what decoding the
// channels gives, stereo and mono.
func TestPeaksPCM16MatchesDecoded(t *testing.T) {
	n := 8000*3 + 17
	left, right := make([]int16, n), make([]int16, n)
	for i := range n {
		left[i] = int16((i*7919)%65536 - 32768)
		right[i] = int16((i * 31) % 20000)
	}
	for _, stereo := range []bool{true, false} {
		var b bytes.Buffer
		var err error
		if stereo {
			err = audio.WriteStereoWAV(&b, 8000, left, right)
		} else {
			err = audio.WriteMonoWAV(&b, 8000, left)
		}
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := peaksPCM16(b.Bytes(), 333)
		if !ok {
			t.Fatal("the recorder's WAV did not take the fast path")
		}
		rate, chans, err := audio.ReadWAVChannels(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if want := computePeaks(rate, chans, 333); !reflect.DeepEqual(fast, want) {
			t.Errorf("stereo %v: the fast path's peaks differ from the decoded ones", stereo)
		}
	}
}
