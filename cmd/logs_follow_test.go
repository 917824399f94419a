package cmd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
)

// Issue 16: `logs -f` with several calls interleaved their lines with no call
// marker, and a call joined midway had no header. Now every line names its call
// the way dev does ([…sid]) and a call in progress is introduced before its
// first new line, with its numbers and since when it runs.
func TestFaultLogsFollowMarksCalls(t *testing.T) {
	leakcheck.Check(t)
	state := t.TempDir()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a := callevent.Header{Time: now.Add(-2 * time.Minute), CallSID: "CAaaaa0000000000000000000000000001"}
	writeLog(t, state, []callevent.Event{
		callevent.CallStarted{Header: a, From: "+15550100001", To: "+15550100002"},
		callevent.CallerTranscript{Header: a, ItemID: "i0", Text: "said before following"},
	})
	f, out, errOut := logsFactory(state, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		root := NewRootCmd(f)
		root.SetArgs([]string{"logs", "-f"})
		done <- root.ExecuteContext(ctx)
	}()
	wait := func(what string, cond func() bool, step func(int)) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for i := 0; !cond(); i++ {
			if time.Now().After(deadline) {
				t.Fatalf("%s:\n%s\n%s", what, out, errOut)
			}
			if step != nil {
				step(i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("not following", func() bool { return strings.Contains(errOut.String(), "Following calls") }, nil)
	// Lines written before the follower looked are the call's past; the first
	// one after is shown, after the header.
	wait("call A's new lines were not shown", func() bool { return strings.Contains(out.String(), "caller  line ") }, func(i int) {
		writeLog(t, state, []callevent.Event{callevent.CallerTranscript{Header: a, ItemID: "a", Text: fmt.Sprintf("line %d", i)}})
	})
	b := callevent.Header{Time: now, CallSID: "CAbbbb0000000000000000000000000002"}
	writeLog(t, state, []callevent.Event{
		callevent.CallStarted{Header: b, From: "+15550100003", To: "+15550100002"},
		callevent.AgentTranscript{Header: b, ItemID: "b1", Text: "Hello from B"},
	})
	writeLog(t, state, []callevent.Event{callevent.AgentTranscript{Header: a, ItemID: "a1", Text: "Hello from A"}})
	writeLog(t, state, []callevent.Event{callevent.CallEnded{Header: b, Reason: callevent.EndCallerHangup}})
	wait("call B did not end", func() bool {
		return strings.Contains(out.String(), "call ended") && strings.Contains(out.String(), "Hello from A")
	}, nil)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	markA, markB := "["+shortSID(a.CallSID)+"] ", "["+shortSID(b.CallSID)+"] "
	for _, l := range lines {
		if !strings.HasPrefix(l, markA) && !strings.HasPrefix(l, markB) {
			t.Errorf("line without its call's marker: %q", l)
		}
	}
	if !strings.HasPrefix(lines[0], markA+"● call "+a.CallSID+" from +15550100001 to +15550100002 (in progress since ") ||
		!strings.Contains(lines[0], "2m0s ago; following from here)") {
		t.Errorf("no header before call A's first line: %q", lines[0])
	}
	if strings.Contains(out.String(), "said before following") {
		t.Errorf("the past was shown:\n%s", out)
	}
	if n := strings.Count(out.String(), "in progress since"); n != 1 {
		t.Errorf("%d headers of a call in progress, want 1:\n%s", n, out)
	}
	for _, want := range []string{markB + "● call " + b.CallSID + " from +15550100003", markB + "agent   Hello from B", markA + "agent   Hello from A", markB + "● call ended"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
}

// A call that had ended before following began gets no header for a late line.
func TestLogsFollowNoHeaderForEndedCall(t *testing.T) {
	leakcheck.Check(t)
	state := t.TempDir()
	writeLog(t, state, everyEvent())
	f, out, errOut := logsFactory(state, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		root := NewRootCmd(f)
		root.SetArgs([]string{"logs", "-f"})
		done <- root.ExecuteContext(ctx)
	}()
	h := everyEvent()[0].EventHeader()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !strings.Contains(out.String(), "late "); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("late line not shown:\n%s\n%s", out, errOut)
		}
		writeLog(t, state, []callevent.Event{callevent.Warning{Header: h, Message: fmt.Sprintf("late %d", i)}})
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "in progress since") {
		t.Errorf("header for an ended call:\n%s", out)
	}
}
