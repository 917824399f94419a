package leakcheck

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

type recorder struct {
	testing.TB
	msgs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func TestCheckReportsLeak(t *testing.T) {
	old := Wait
	Wait = 50 * time.Millisecond
	defer func() { Wait = old }()

	rec := &recorder{TB: t}
	done := Snapshot(rec)
	release := make(chan struct{})
	exited := make(chan struct{})
	go func() { <-release; close(exited) }()
	done()
	close(release)
	<-exited
	if len(rec.msgs) != 1 || !strings.Contains(rec.msgs[0], "TestCheckReportsLeak") {
		t.Fatalf("leak not reported with its stack: %q", rec.msgs)
	}
}

func TestCheckWaitsForExit(t *testing.T) {
	rec := &recorder{TB: t}
	done := Snapshot(rec)
	go func() { time.Sleep(30 * time.Millisecond) }()
	done()
	if len(rec.msgs) != 0 {
		t.Fatalf("a goroutine that ends in time was reported: %q", rec.msgs)
	}
}
