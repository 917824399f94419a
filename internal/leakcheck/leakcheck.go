// Package leakcheck fails a test that leaves goroutines behind.
//
// Call it first in a test, so its cleanup runs after every other cleanup and defer
// (httptest servers closed with t.Cleanup included):
//
//	leakcheck.Check(t)
//
// It records the goroutines alive at the start and, at the end, waits (up to a few
// seconds, since shutdown is asynchronous) for every goroutine started since to exit.
// Tests using it must not run in parallel with other tests of the same package.
package leakcheck

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Wait is how long Check waits for new goroutines to end.
var Wait = 5 * time.Second

// Check snapshots the running goroutines and registers a cleanup that fails t if
// any goroutine started since is still running.
func Check(t testing.TB) {
	t.Helper()
	t.Cleanup(Snapshot(t))
}

// Snapshot records the running goroutines and returns the function that verifies
// none was added, for callers that choose when to check.
func Snapshot(t testing.TB) func() {
	t.Helper()
	before := map[int]bool{}
	for _, g := range goroutines() {
		before[g.id] = true
	}
	return func() {
		t.Helper()
		deadline := time.Now().Add(Wait)
		var extra []goroutine
		for {
			extra = extra[:0]
			for _, g := range goroutines() {
				if !before[g.id] && !benign(g.stack) {
					extra = append(extra, g)
				}
			}
			if len(extra) == 0 {
				return
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		var b strings.Builder
		for _, g := range extra {
			b.WriteString(g.stack)
			b.WriteString("\n\n")
		}
		t.Errorf("%d goroutine(s) left running after the test:\n%s", len(extra), b.String())
	}
}

type goroutine struct {
	id    int
	stack string
}

func goroutines() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for _, s := range bytes.Split(buf, []byte("\n\n")) {
		// "goroutine 12 [chan receive]:"
		rest, ok := bytes.CutPrefix(s, []byte("goroutine "))
		if !ok {
			continue
		}
		sp := bytes.IndexByte(rest, ' ')
		if sp < 0 {
			continue
		}
		id, err := strconv.Atoi(string(rest[:sp]))
		if err != nil {
			continue
		}
		out = append(out, goroutine{id: id, stack: string(s)})
	}
	return out
}

// benign reports goroutines that belong to the runtime or the test framework.
func benign(stack string) bool {
	for _, s := range []string{
		"testing.(*T).Run",
		"testing.tRunner.func1",
		"testing.runFuzzing",
		"runtime.goexit0",
		"os/signal.signal_recv",
		"leakcheck.goroutines",
		// muxado's heartbeat goroutines (under the ngrok client) notice a closed or
		// dropped session only at their next tick, up to 25s later; a session left
		// open is still caught by its reader and writer goroutines.
		"muxado/v2.(*Heartbeat).requester",
		"muxado/v2.(*Heartbeat).check",
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}
