package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

func TestParseDays(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2d", 48 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{" 14d ", 14 * 24 * time.Hour, true},
		{"0", 0, true},
		{"0d", 0, true},
		{"", 0, false},
		{"d", 0, false},
		{"2x", 0, false},
		{"-2d", 0, false},
		{"-1h", 0, false},
		{"1d-2h", 0, false},
		{"1e3d", 0, false},
		{"99999999d", 0, false},
		{"2dd", 0, false},
		{"+2h", 0, false},
	} {
		got, err := parseDays(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDays(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	var d days
	for _, s := range []string{"14d", "36h0m0s", "1h30m0s"} {
		if err := d.Set(s); err != nil || d.String() != s {
			t.Errorf("%q round trip: %q %v", s, d.String(), err)
		}
	}
}

// Issue 16: `--since 2d` was refused while `--call-log-max-age 14d` worked. Both
// take one syntax now, and a mistake names the flag and gives an example.
func TestFaultSinceTakesDays(t *testing.T) {
	state := t.TempDir()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for sid, ago := range map[string]time.Duration{"CAold": 3 * 24 * time.Hour, "CArecent": 30 * time.Hour} {
		h := callevent.Header{Time: now.Add(-ago), CallSID: sid}
		writeLog(t, state, []callevent.Event{callevent.CallStarted{Header: h, From: "+15550100001", To: "+15550100002"},
			callevent.CallEnded{Header: h, Reason: callevent.EndCallerHangup}})
	}
	f, out, errOut := logsFactory(state, "")
	if err := runLogs(t, f, "--since", "2d"); err != nil {
		t.Fatalf("--since 2d: %v %s", err, errOut)
	}
	if !strings.Contains(out.String(), "CArecent") || strings.Contains(out.String(), "CAold") {
		t.Errorf("--since 2d listed:\n%s", out)
	}
	for _, args := range [][]string{{"logs", "--since", "2x"}, {"serve", "--call-log-max-age", "2x"}, {"logs", "--since", "-1d"}} {
		f, _, _ := testFactory()
		root := NewRootCmd(f)
		root.SetArgs(args)
		ctx := context.Background()
		err := root.ExecuteContext(ctx)
		if code := ExitCode(ctx, err); code != 2 || !strings.Contains(err.Error(), `"`+args[1]+`"`) || !strings.Contains(err.Error(), "like 2d, 36h or 90m") {
			t.Errorf("%v: exit %d, %v", args, code, err)
		}
	}
}
