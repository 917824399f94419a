package calllog_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// A call SID copied from the list or from a call marker, elided, finds its call.
func TestFindElidedSID(t *testing.T) {
	dir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir})
	writeCall(t, w, "CA1111aaaa", t0)
	writeCall(t, w, "CA1111bbbb", t0.Add(time.Hour))
	w.Close()
	for in, want := range map[string]string{"CA11…aaaa": "CA1111aaaa", "…bbbb": "CA1111bbbb", "CA1...bb": "CA1111bbbb", "CA1111a…a": "CA1111aaaa"} {
		if p, err := calllog.Find(dir, in); err != nil || !strings.HasSuffix(p, want+".jsonl") {
			t.Errorf("%q: %s %v", in, p, err)
		}
	}
	if _, err := calllog.Find(dir, "CA1111aa…aaaa"); !errors.Is(err, calllog.ErrNoCall) { // the ends overlap: too long
		t.Errorf("overlapping ends: %v", err)
	}
	if _, err := calllog.Find(dir, "…"); err == nil || !strings.Contains(err.Error(), "matches 2 calls") {
		t.Errorf("no ends: %v", err)
	}
}

// A call in progress when following begins is summed up from what it logged
// before, once, just before its first new line; a call that had ended is not,
// nor is a call that starts while following (its start is read).
func TestFollowerAttached(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	day := filepath.Join(dir, "2026-11-23")
	os.MkdirAll(day, 0o700)
	line := func(typ, sid, fields string, at time.Time) string {
		return `{"time":"` + at.Format(time.RFC3339Nano) + `","level":"info","ns":"callagent:session","type":"` + typ + `","call_sid":"` + sid + `","fields":` + fields + "}\n"
	}
	appendTo := func(sid, text string) {
		f, err := os.OpenFile(filepath.Join(day, sid+".jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
	appendTo("CAlive", line("call.started", "CAlive", `{"from":"+15550100001","to":"+15550100002"}`, t0))
	appendTo("CAdone", line("call.started", "CAdone", `{"from":"+1","to":"+2"}`, t0)+line("call.ended", "CAdone", `{"reason":"caller_hangup"}`, t0))

	var mu sync.Mutex
	var got []string
	fl := &calllog.Follower{Dir: dir, Poll: 5 * time.Millisecond, Attached: func(c calllog.Call) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, "attached "+c.CallSID+" "+c.From+" "+c.To+" "+c.Started.Format(time.RFC3339))
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- fl.Run(ctx, func(l calllog.Line, ev callevent.Event) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, l.Type+" "+l.CallSID)
		}, nil)
	}()
	seen := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(got, s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !seen("call.ended CAlive"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("not followed: %v", got)
		}
		if i%10 == 0 {
			appendTo("CAlive", line("agent.transcript", "CAlive", `{"text":"hi"}`, t0))
			appendTo("CAdone", line("call.warning", "CAdone", `{"message":"late"}`, t0))
			if seen("agent.transcript CAlive") { // following began before CAnew's file
				appendTo("CAnew", line("call.started", "CAnew", `{"from":"+3","to":"+4"}`, t0))
			}
		}
		if seen("call.started CAnew") {
			appendTo("CAlive", line("call.ended", "CAlive", `{"reason":"caller_hangup"}`, t0))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	var attached []string
	first := -1
	for i, s := range got {
		if strings.HasPrefix(s, "attached") {
			attached = append(attached, s)
		}
		if first < 0 && strings.Contains(s, "CAlive") {
			first = i
		}
	}
	if len(attached) != 1 || attached[0] != "attached CAlive +15550100001 +15550100002 2026-11-23T10:00:00Z" || !strings.HasPrefix(got[first], "attached") {
		t.Errorf("attached %v in %v", attached, got)
	}
}
