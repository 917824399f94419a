package session

import (
	"testing"
	"time"
)

// The limiter reports the first occurrence, then at most one warning per
// warnInterval counting the ones in between, and leaves the rest to the final
// summary; the counts it hands out add up to every occurrence.
func TestWarnLimiter(t *testing.T) {
	var l warnLimiter
	t0 := time.Unix(1000, 0)
	reported := int64(0)
	report := func(now time.Time) int64 {
		n := l.note(warnTwilioFrame, now)
		if n > 0 {
			l.reported(warnTwilioFrame, n, now)
			reported += n
		}
		return n
	}
	if n := report(t0); n != 1 {
		t.Fatalf("first occurrence: %d, want 1", n)
	}
	for i := range 999 {
		if n := report(t0.Add(time.Duration(i) * time.Millisecond)); n != 0 {
			t.Fatalf("occurrence %d within the interval reported %d", i+2, n)
		}
	}
	if n, total := l.pending(warnTwilioFrame, t0.Add(time.Second), false); n != 0 || total != 1000 {
		t.Fatalf("a summary before the interval: %d of %d", n, total)
	}
	if n, _ := l.pending(warnTwilioFrame, t0.Add(warnInterval), false); n != 999 {
		t.Fatalf("the periodic summary counts %d, want 999", n)
	}
	if n := report(t0.Add(warnInterval)); n != 1000 { // 999 waiting and this one
		t.Fatalf("after the interval: %d, want 1000", n)
	}
	report(t0.Add(warnInterval + time.Second))
	n, total := l.pending(warnTwilioFrame, t0.Add(warnInterval+2*time.Second), true)
	if n != 1 || total != 1002 || reported+n != total {
		t.Fatalf("final: %d pending, %d in all, %d reported", n, total, reported)
	}
	if n, _ := l.pending(warnModelEvent, t0, true); n != 0 {
		t.Fatalf("another kind: %d pending", n)
	}
}
