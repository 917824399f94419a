package calllog_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// openUnder counts this process's open files under dir.
func openUnder(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count open files")
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, dir) {
			n++
		}
	}
	return n
}

// A call's log file is closed when the call ends, not a minute later: at 10 calls a
// second an idle timeout held ~900 descriptors for calls long over. A line that
// comes after the end (Twilio's request once the stream is over) is appended to the
// same file, which is closed again at once.
func TestFaultCallLogClosedAtCallEnd(t *testing.T) {
	leakcheck.Check(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := calllog.NewWriter(calllog.Options{Dir: dir}) // IdleClose: the default minute
	defer w.Close()
	const calls = 20
	for i := range calls {
		writeCall(t, w, fmt.Sprintf("CA%04d", i), t0)
	}
	// Every call's lines are on disk: the writer has handled the ends.
	waitFor(t, "every call's end on disk", func() bool {
		for i := range calls {
			data, _ := os.ReadFile(filepath.Join(dir, "2026-11-23", fmt.Sprintf("CA%04d.jsonl", i)))
			if !strings.Contains(string(data), `"type":"call.ended"`) {
				return false
			}
		}
		return true
	})
	waitFor(t, "no call log file open once the calls ended", func() bool { return openUnder(t, dir) == 0 })

	late := callevent.HTTPRequest{Header: callevent.Header{Time: t0.Add(24 * time.Hour), CallSID: "CA0007"}, Path: "/stream-ended"}
	w.Event(late)
	path := filepath.Join(dir, "2026-11-23", "CA0007.jsonl")
	waitFor(t, "the late line appended to the call's file", func() bool {
		data, _ := os.ReadFile(path)
		return strings.HasSuffix(strings.TrimSpace(string(data)), `"path":"/stream-ended"}}`)
	})
	waitFor(t, "the file closed again after the late line", func() bool { return openUnder(t, dir) == 0 })
	data, _ := os.ReadFile(path)
	if strings.Count(string(data), `"type":"call.started"`) != 1 || !strings.Contains(string(data), `"type":"call.ended"`) {
		t.Errorf("CA0007's file:\n%s", data)
	}
}

// waitFor polls cond for up to 5 s (far below the writer's idle close of a minute).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
