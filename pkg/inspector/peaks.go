package inspector

import (
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/callagent/callagent/pkg/audio"
)

// Peaks is a recording's waveform drawn small: for each of N equal buckets
// of time, the lowest and highest sample of each channel, scaled to
// -128..127 (a 16-bit sample's high byte). A page draws a 10-minute call
// from a few kilobytes instead of its megabytes of audio.
type Peaks struct {
	Rate       int            `json:"rate"`
	DurationMs int64          `json:"duration_ms"`
	Buckets    int            `json:"buckets"`
	Channels   []ChannelPeaks `json:"channels"`
}

// ChannelPeaks is one channel's buckets. A call recording is stereo: the
// caller on the left, the agent on the right.
type ChannelPeaks struct {
	Name string `json:"name"`
	Min  []int8 `json:"min"`
	Max  []int8 `json:"max"`
}

// Bounds of ?n=.
const (
	defaultPeaks = 1000
	maxPeaks     = 10000
)

func (h *Handler) peaks(w http.ResponseWriter, r *http.Request) {
	n := defaultPeaks
	if s := strings.TrimSpace(r.URL.Query().Get("n")); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxPeaks {
			writeError(w, http.StatusBadRequest, "n: a number of buckets from 1 to "+strconv.Itoa(maxPeaks))
			return
		}
		n = v
	}
	_, sid, ok := h.find(w, r)
	if !ok {
		return
	}
	pk, status, err := h.peaksOf(sid, n)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	h.writeJSON(w, pk)
}

// peaksOf returns the peaks of sid's recording in n buckets, from the cache when
// the file has not changed, with the HTTP status of a failure.
func (h *Handler) peaksOf(sid string, n int) (Peaks, int, error) {
	p := h.recording(sid)
	if p == "" {
		return Peaks{}, http.StatusNotFound, errors.New("no recording of " + sid)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Peaks{}, http.StatusNotFound, errors.New("no recording of " + sid)
	}
	key := peaksKey{keyOf(p, fi), n}
	if pk, ok := peakCache.get(key); ok {
		return pk, 0, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return Peaks{}, http.StatusNotFound, errors.New("no recording of " + sid)
	}
	pk, ok := peaksPCM16(data, n)
	if !ok { // not the recorder's 16-bit PCM: decoded in full
		rate, chans, err := audio.ReadWAVChannels(data)
		if err != nil {
			return Peaks{}, http.StatusInternalServerError, errors.New("reading the recording: " + err.Error())
		}
		pk = computePeaks(rate, chans, n)
	}
	if int64(len(data)) == fi.Size() { // what was read is the version stat saw
		peakCache.put(key, pk)
	}
	return pk, 0, nil
}

// peaksCache keeps the peaks of the last recordings drawn, by file version and
// bucket count: a 10-minute stereo recording is ~19 MB of WAV to read and
// decode, its peaks a few kilobytes. Shared by every Handler of the process.
type peaksCache struct {
	mu      sync.Mutex
	entries [8]peaksEntry
	next    int
}

type peaksKey struct {
	file fileKey
	n    int
}

type peaksEntry struct {
	key   peaksKey
	peaks Peaks
	set   bool
}

var peakCache peaksCache

func (c *peaksCache) get(k peaksKey) (Peaks, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.set && e.key == k {
			return e.peaks, true // its slices are never changed
		}
	}
	return Peaks{}, false
}

func (c *peaksCache) put(k peaksKey, p Peaks) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.set && e.key.file.path == k.file.path && e.key.n == k.n {
			c.entries[i] = peaksEntry{key: k, peaks: p, set: true}
			return
		}
	}
	c.entries[c.next] = peaksEntry{key: k, peaks: p, set: true}
	c.next = (c.next + 1) % len(c.entries)
}

// peaksPCM16 computes the peaks of a plain 16-bit PCM WAV (what callagent
// records: one fmt and one data chunk) straight from its bytes, as
// computePeaks would from the decoded channels, without decoding them into
// slices first (a 10-minute call is 19 MB of them). ok is false for anything
// else, which the full decoder handles or refuses.
func peaksPCM16(data []byte, n int) (p Peaks, ok bool) {
	if len(data) < 44 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" ||
		string(data[12:16]) != "fmt " || binary.LittleEndian.Uint32(data[16:]) != 16 ||
		binary.LittleEndian.Uint16(data[20:]) != 1 || binary.LittleEndian.Uint16(data[34:]) != 16 ||
		string(data[36:40]) != "data" {
		return Peaks{}, false
	}
	chans := int(binary.LittleEndian.Uint16(data[22:]))
	rate := int(binary.LittleEndian.Uint32(data[24:]))
	if chans < 1 || chans > 2 || rate < 4000 || rate > 192000 {
		return Peaks{}, false
	}
	pcm := data[44:]
	if size := int(binary.LittleEndian.Uint32(data[40:])); size < len(pcm) {
		pcm = pcm[:size]
	}
	length := len(pcm) / (2 * chans)
	names := []string{"caller", "agent"}
	if chans == 1 {
		names = []string{"mix"}
	}
	b := min(n, length)
	p = Peaks{Rate: rate, Buckets: b, DurationMs: int64(length) * 1000 / int64(rate), Channels: make([]ChannelPeaks, chans)}
	for c := range chans {
		p.Channels[c] = ChannelPeaks{Name: names[c], Min: make([]int8, b), Max: make([]int8, b)}
	}
	for i := range b {
		lo, hi := i*length/b, (i+1)*length/b
		for c := range chans {
			var mn, mx int16
			for k := lo; k < hi; k++ {
				s := int16(binary.LittleEndian.Uint16(pcm[(k*chans+c)*2:]))
				mn, mx = min(mn, s), max(mx, s)
			}
			p.Channels[c].Min[i], p.Channels[c].Max[i] = int8(mn>>8), int8(mx>>8)
		}
	}
	return p, true
}

// computePeaks makes at most n buckets (fewer when the sound has fewer
// samples). Bucket i covers samples [i*len/b, (i+1)*len/b).
func computePeaks(rate int, chans [][]int16, n int) Peaks {
	names := []string{"caller", "agent"}
	if len(chans) == 1 {
		names = []string{"mix"}
	}
	length := 0
	for _, c := range chans {
		length = max(length, len(c))
	}
	b := min(n, length)
	out := Peaks{Rate: rate, Buckets: b, Channels: make([]ChannelPeaks, 0, len(chans))}
	if rate > 0 {
		out.DurationMs = int64(length) * 1000 / int64(rate)
	}
	for ci, c := range chans {
		name := "channel " + strconv.Itoa(ci+1)
		if ci < len(names) {
			name = names[ci]
		}
		cp := ChannelPeaks{Name: name, Min: make([]int8, b), Max: make([]int8, b)}
		for i := range b {
			lo, hi := i*length/b, (i+1)*length/b
			lo, hi = min(lo, len(c)), min(hi, len(c))
			var mn, mx int16
			for _, s := range c[lo:hi] {
				mn, mx = min(mn, s), max(mx, s)
			}
			cp.Min[i], cp.Max[i] = int8(mn>>8), int8(mx>>8)
		}
		out.Channels = append(out.Channels, cp)
	}
	return out
}
