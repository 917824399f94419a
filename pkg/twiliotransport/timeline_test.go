package twiliotransport

import "testing"

func TestTimeline(t *testing.T) {
	type step struct {
		ts, size int64
		pad      int64 // when set: a Pad(pad, 1000) instead of a frame
		want     FrameResult
		wantPad  int64
	}
	frame := func(ts int64, fill int64) step {
		return step{ts: ts, size: 160, want: FrameResult{FillMs: fill, Omitted: fill > 0}}
	}
	late := func(ts int64) step { return step{ts: ts, size: 160, want: FrameResult{Omitted: true}} }
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"contiguous", []step{frame(0, 0), frame(20, 0), frame(40, 0), frame(60, 0)}},
		{"first frame late: no fill before it, but silence was omitted", []step{late(5000), frame(5020, 0)}},
		{"first frame on time", []step{frame(20, 0), frame(40, 0)}},
		{"gap of omitted frames", []step{frame(0, 0), frame(20, 0), frame(500, 460), frame(520, 0)}},
		{"jitter below a frame is not a gap", []step{frame(0, 0), frame(25, 0), frame(44, 0)}},
		{"gap bounded", []step{frame(0, 0), frame(60_000, MaxGapFillMs), frame(60_020, 0)}},
		{"backward ignored, clock kept", []step{frame(0, 0), frame(20, 0), frame(0, 0), frame(40, 0)}},
		{"repeated ignored", []step{frame(20, 0), frame(20, 0), frame(20, 0), frame(40, 0)}},
		{"absurd ignored", []step{frame(0, 0), frame(-5, 0), frame(MaxTimestampMs+1, 0), frame(20, 0)}},
		{"partial frames", []step{{ts: 0, size: 80}, {ts: 10, size: 80}, frame(20, 0), frame(100, 60)}},
		{"pad then later frame: fill the rest", []step{frame(0, 0), {pad: 300, wantPad: 300}, frame(1020, 700)}},
		{"pad bounded", []step{frame(0, 0), {pad: 800, wantPad: 800}, {pad: 800, wantPad: 200}, {pad: 5, wantPad: 0}}},
		{"pad and fill within the bound", []step{frame(0, 0), {pad: 1000, wantPad: 1000}, frame(60_000, MaxGapFillMs-1000)}},
		{"pad overlapped by late audio", []step{frame(0, 0), {pad: 500, wantPad: 500},
			{ts: 20, size: 160, want: FrameResult{Overlap: true}}, frame(40, 0)}},
		{"no pad before the first frame", []step{{pad: 500, wantPad: 0}, frame(0, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tl Timeline
			for i, s := range tc.steps {
				if s.pad != 0 {
					if got := tl.Pad(s.pad, 1000); got != s.wantPad {
						t.Fatalf("step %d: Pad(%d) = %d, want %d", i, s.pad, got, s.wantPad)
					}
					continue
				}
				if got := tl.Frame(s.ts, int(s.size)); got != s.want {
					t.Fatalf("step %d: Frame(%d, %d) = %+v, want %+v", i, s.ts, s.size, got, s.want)
				}
			}
		})
	}
}

// The timestamp arithmetic holds for any sequence: a fill is never negative nor over
// the bound, and contiguous frames never get one.
func FuzzTimeline(f *testing.F) {
	f.Add(int64(0), int64(20), int64(500), int64(-3), uint16(160), int64(300))
	f.Add(int64(MaxTimestampMs), int64(0), int64(1), int64(2), uint16(1), int64(0))
	f.Fuzz(func(t *testing.T, a, b, c, d int64, size uint16, pad int64) {
		var tl Timeline
		var padded int64
		for i, ts := range []int64{a, b, c, d} {
			if i == 2 {
				padded = tl.Pad(pad, 1000)
				if padded < 0 || padded > 1000 {
					t.Fatalf("Pad(%d) = %d", pad, padded)
				}
			}
			r := tl.Frame(ts, int(size))
			if r.FillMs < 0 || r.FillMs > MaxGapFillMs || (r.FillMs > 0 && r.FillMs < MinGapMs) {
				t.Fatalf("Frame(%d) filled %d ms", ts, r.FillMs)
			}
			if r.FillMs+padded > MaxGapFillMs {
				t.Fatalf("pad %d + fill %d over the bound", padded, r.FillMs)
			}
			if i != 2 {
				padded = 0
			}
			// The frame that continues the clock never needs a fill.
			if tl.started {
				saved := tl
				if got := tl.Frame(tl.next, int(size)); got.FillMs != 0 || got.Overlap {
					t.Fatalf("contiguous frame at %d after %d: %+v", saved.next, ts, got)
				}
				tl = saved
			}
		}
	})
}
