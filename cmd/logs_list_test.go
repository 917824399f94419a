package cmd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/callagent/callagent/pkg/callevent"
)

// listState logs calls of every shape: long endings, a long caller ID, a call
// without its stream, costs known and unknown.
func listState(t *testing.T) string {
	t.Helper()
	state := t.TempDir()
	at := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	usd := func(v float64) *float64 { return &v }
	for i, c := range []struct {
		sid, from string
		end       callevent.EndReason
		cost      *float64
	}{
		{"CA0123456789abcdef0123456789abcdef", "+15550100001", callevent.EndModelRejected, usd(0.139968)},
		{"CAfedcba9876543210fedcba9876543210", "sip:alice.very.long.name@pbx.example.com", callevent.EndCallerDisconnected, nil},
		{"CA00000000000000000000000000000003", "+442071838750", callevent.EndCallerHangup, usd(0.0123)},
	} {
		h := callevent.Header{Time: at.Add(time.Duration(i) * time.Minute), CallSID: c.sid}
		end := h
		end.Time = h.Time.Add(754300 * time.Millisecond)
		writeLog(t, state, []callevent.Event{
			callevent.CallStarted{Header: h, From: c.from, To: "+15550100002"},
			callevent.TurnLatency{Header: h, Latency: 1234 * time.Millisecond},
			callevent.CallEnded{Header: end, Reason: c.end, Duration: 754300 * time.Millisecond, Turns: 12, CostUSD: c.cost},
		})
	}
	h := callevent.Header{Time: at.Add(10 * time.Minute), CallSID: "CAnostream0000000000000000000000004"}
	writeLog(t, state, []callevent.Event{callevent.HTTPRequest{Header: h, Method: "POST", Path: "/incoming-call", Status: 200, From: "+15550100007", To: "+15550100008"}})
	return state
}

func listAt(t *testing.T, state string, tty bool, width func() int, columns string) string {
	t.Helper()
	f, out, errOut := logsFactory(state, "")
	f.IO.OutTTY = tty
	f.IO.Width = width
	f.Env.Getenv = func(k string) string {
		switch k {
		case "CALLAGENT_STATE_DIR":
			return state
		case "COLUMNS":
			return columns
		}
		return ""
	}
	if err := runLogs(t, f); err != nil {
		t.Fatal(err, errOut)
	}
	return out.String()
}

// checkTable fails unless out's table is whole and its lines fit width: every
// row has its cells where the header's columns start.
func checkTable(t *testing.T, out string, width int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	end := len(lines)
	for i, l := range lines {
		if strings.HasPrefix(l, "cost of ") {
			end = i
		}
	}
	if !strings.HasSuffix(out, "\n") || strings.Join(strings.Fields(strings.Join(lines[end:], " ")), " ") != "cost of the 4 calls listed: $0.1523; 2 without usage logged" {
		t.Errorf("the cost's line is not the last, whole: %q", out)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); width > 0 && w > width {
			t.Errorf("width %d: a line of %d: %q", width, w, l)
		}
	}
	head := []rune(lines[0])
	var starts []int
	for i := range head {
		if head[i] != ' ' && (i == 0 || head[i-1] == ' ' && i >= 2 && head[i-2] == ' ') {
			starts = append(starts, i)
		}
	}
	for _, l := range lines[1:end] {
		r := []rune(l)
		for _, p := range starts {
			if p >= len(r) || r[p] == ' ' || p > 0 && r[p-1] != ' ' {
				t.Errorf("width %d: row out of its columns (at %d):\n%s\n%s", width, p, lines[0], l)
				break
			}
		}
	}
}

// Issue 16: the list needed ~140 columns and wrapped to column 0 at 80. On a
// terminal (COLUMNS when it does not say its width, 80 when nothing does) it
// now fits, eliding (…) or leaving out what does not fit, never breaking the
// table; wider terminals get more.
func TestFaultLogsListFitsTheTerminal(t *testing.T) {
	state := listState(t)
	for _, width := range []int{80, 100, 120, 200} {
		out := listAt(t, state, true, nil, fmt.Sprint(width))
		checkTable(t, out, width)
		for _, want := range []string{"STARTED", "CALL SID", "FROM", "DURATION", "ENDED", "COST", "754.3s", "$0.1400", "1.2s", "caller hung up"} {
			if !strings.Contains(out, want) {
				t.Errorf("width %d lacks %q:\n%s", width, want, out)
			}
		}
		if strings.Contains(out, "…") != (width < 200) {
			t.Errorf("width %d: elided or not:\n%s", width, out)
		}
		if strings.Contains(out, "TURNS") != (width >= 100) || strings.Contains(out, "+15550100008") != (width >= 120) {
			t.Errorf("width %d: the wrong columns went:\n%s", width, out)
		}
	}
}

// The terminal's own width comes first; nothing known means 80. Piped output is
// never cut: whole values for grep and scripts.
func TestLogsListWidth(t *testing.T) {
	state := listState(t)
	out := listAt(t, state, true, func() int { return 200 }, "80")
	checkTable(t, out, 200)
	if strings.Contains(out, "…") {
		t.Errorf("the terminal's width was not used:\n%s", out)
	}
	out = listAt(t, state, true, func() int { return 0 }, "")
	checkTable(t, out, 80)
	if !strings.Contains(out, "…") {
		t.Errorf("80 columns by default:\n%s", out)
	}
	for w := 20; w <= 220; w += 7 { // whole at every width; within it from the narrowest table up
		out := listAt(t, state, true, func() int { return w }, "")
		if w < 73 {
			checkTable(t, out, 0)
		} else {
			checkTable(t, out, w)
		}
	}
	out = listAt(t, state, false, func() int { return 80 }, "80")
	checkTable(t, out, 0)
	for _, want := range []string{"CA0123456789abcdef0123456789abcdef", "sip:alice.very.long.name@pbx.example.com", "the model refused the session's configuration", "2026-11-23"} {
		if !strings.Contains(out, want) || strings.Contains(out, "…") {
			t.Errorf("piped output lacks %q or was cut:\n%s", want, out)
		}
	}
}

// Issue 16: long transcript lines went back to column 0 at 80 columns. On a
// terminal they wrap under their text, past the label (and the call marker).
func TestFaultLogsTranscriptWrapsWithHangingIndent(t *testing.T) {
	state := t.TempDir()
	h := callevent.Header{Time: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), CallSID: "CAwrap"}
	said := strings.Repeat("I would like to move my appointment to next Tuesday afternoon please ", 3)
	writeLog(t, state, []callevent.Event{
		callevent.CallStarted{Header: h, From: "+15550100001", To: "+15550100002"},
		callevent.CallerTranscript{Header: h, ItemID: "i1", Text: said},
		callevent.AgentTranscript{Header: h, ItemID: "i2", Text: "Sure."},
	})
	f, out, errOut := logsFactory(state, "")
	f.IO.OutTTY = true
	f.Env.Getenv = func(k string) string {
		switch k {
		case "CALLAGENT_STATE_DIR":
			return state
		case "COLUMNS":
			return "80"
		}
		return ""
	}
	if err := runLogs(t, f, "CAwrap"); err != nil {
		t.Fatal(err, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(ansi.Strip(out.String()), "\n"), "\n")
	var caller []string
	for _, l := range lines {
		if ansi.StringWidth(l) > 80 {
			t.Errorf("a line of %d: %q", ansi.StringWidth(l), l)
		}
		if strings.HasPrefix(l, "caller  ") || len(caller) > 0 && strings.HasPrefix(l, indent) {
			caller = append(caller, l)
		} else if len(caller) > 0 {
			break
		}
	}
	if len(caller) < 3 {
		t.Fatalf("the caller's line did not wrap under itself:\n%s", strings.Join(lines, "\n"))
	}
	var words []string
	for _, l := range caller {
		words = append(words, strings.Fields(strings.TrimPrefix(l, "caller  "))...)
	}
	if strings.Join(words, " ") != strings.TrimSpace(said) {
		t.Errorf("words lost in wrapping:\n%s", strings.Join(caller, "\n"))
	}
	if !strings.Contains(lines[len(lines)-1], "agent   Sure.") {
		t.Errorf("the next line: %q", lines[len(lines)-1])
	}
}
