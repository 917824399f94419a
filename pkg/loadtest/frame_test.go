package loadtest

import (
	"bytes"
	"testing"
	"time"
)

func frames(n int) []byte {
	b := make([]byte, n*frameBytes)
	for i := range n {
		putFrame(b[i*frameBytes:], frameID{dir: dirCaller, target: 3, call: 0x4C54, serial: uint32(i), turn: 7, index: uint16(i), last: i == n-1})
	}
	return b
}

// Frames are found however the relay cuts, pads or damages the stream.
func TestScannerFindsFramesInAnyChunking(t *testing.T) {
	stream := frames(20)
	silence := bytes.Repeat([]byte{0xFF}, 37)
	padded := append(append(append([]byte{}, stream[:5*frameBytes]...), silence...), stream[5*frameBytes:]...)
	damaged := bytes.Clone(stream)
	damaged[3*frameBytes+100] ^= 0x55 // frame 3's filler
	damaged[9*frameBytes+1] = 'x'     // frame 9's magic: not found at all
	for name, tc := range map[string]struct {
		audio         []byte
		chunk         int
		ok, bad, want int
	}{
		"whole frames": {stream, frameBytes, 20, 0, 20},
		"odd chunks":   {stream, 33, 20, 0, 20},
		"one byte":     {stream, 1, 20, 0, 20},
		"silence fill": {padded, 100, 20, 0, 20},
		"damaged":      {damaged, 77, 18, 1, 18},
	} {
		t.Run(name, func(t *testing.T) {
			var s scanner
			ok, bad := 0, 0
			var offs []int64
			for off := 0; off < len(tc.audio); off += tc.chunk {
				s.feed(tc.audio[off:min(off+tc.chunk, len(tc.audio))], func(id frameID, good bool, at int64) {
					if !good {
						bad++
						return
					}
					if id.call != 0x4C54 || id.target != 3 || id.turn != 7 || id.index != uint16(id.serial) || id.last != (id.serial == 19) {
						t.Errorf("frame %+v", id)
					}
					ok++
					offs = append(offs, at)
				})
			}
			if ok != tc.ok || bad != tc.bad {
				t.Errorf("found %d whole, %d damaged; want %d, %d", ok, bad, tc.ok, tc.bad)
			}
			if name == "odd chunks" && (offs[0] != 0 || offs[19] != 19*frameBytes) {
				t.Errorf("offsets %v", offs)
			}
			if len(s.buf) > frameBytes {
				t.Errorf("scanner keeps %d bytes", len(s.buf))
			}
		})
	}
}

func TestParseProc(t *testing.T) {
	stat := []byte("4242 (call agent) S 1 4242 4242 0 -1 4194560 2319 0 0 0 250 130 0 0 20 0 12 0 123 1 2 3\n")
	cpu, err := parseStat(stat)
	if err != nil || cpu != 3800*time.Millisecond {
		t.Errorf("parseStat = %v, %v; want 3.8s", cpu, err)
	}
	if _, err := parseStat([]byte("garbage")); err == nil {
		t.Error("parseStat of garbage: no error")
	}
	rss, err := parseRSS([]byte("Name:\tcallagent\nVmPeak:\t  900 kB\nVmRSS:\t   20480 kB\n"))
	if err != nil || rss != 20480 {
		t.Errorf("parseRSS = %d, %v", rss, err)
	}
	if _, err := parseRSS([]byte("Name: x\n")); err == nil {
		t.Error("parseRSS without VmRSS: no error")
	}
	io := []byte("rchar: 100\nwchar: 50\nsyscr: 1234\nsyscw: 567\nread_bytes: 0\n")
	if r, w := procField(io, "syscr:"), procField(io, "syscw:"); r != 1234 || w != 567 {
		t.Errorf("syscr, syscw = %d, %d; want 1234, 567", r, w)
	}
	status := []byte("Name:\tcallagent\nvoluntary_ctxt_switches:\t42\nnonvoluntary_ctxt_switches:\t7\n")
	if v, n := procField(status, "voluntary_ctxt_switches:"), procField(status, "nonvoluntary_ctxt_switches:"); v != 42 || n != 7 {
		t.Errorf("context switches = %d, %d; want 42, 7", v, n)
	}
	if got := procField(status, "syscr:"); got != 0 {
		t.Errorf("a missing field = %d, want 0", got)
	}
}

func TestDist(t *testing.T) {
	var v []float64
	for i := 1; i <= 100; i++ {
		v = append(v, float64(i))
	}
	d := distOf(v)
	if d != (Dist{N: 100, Min: 1, P50: 50, P90: 90, P99: 99, Max: 100}) {
		t.Errorf("%+v", d)
	}
	if distOf(nil) != (Dist{}) {
		t.Error("empty")
	}
}
