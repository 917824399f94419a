package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/offlinecall"
)

// logsFactory is a Factory whose CALLAGENT_STATE_DIR is dir.
func logsFactory(dir string, stdin string) (*Factory, *syncbuf.Buffer, *syncbuf.Buffer) {
	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	f, _, _ := testFactory()
	f.IO = &IOStreams{In: strings.NewReader(stdin), Out: out, ErrOut: errOut}
	f.Env = &Env{Getenv: func(k string) string {
		if k == "CALLAGENT_STATE_DIR" {
			return dir
		}
		return ""
	}, Path: "/nonexistent/.env"}
	return f, out, errOut
}

func runLogs(t *testing.T, f *Factory, args ...string) error {
	t.Helper()
	root := NewRootCmd(f)
	root.SetArgs(append([]string{"logs"}, args...))
	return root.ExecuteContext(context.Background())
}

// writeLog writes events through the call log writer, as dev and serve do.
func writeLog(t *testing.T, state string, events []callevent.Event) {
	t.Helper()
	w := calllog.NewWriter(calllog.Options{Dir: filepath.Join(state, "calls")})
	for _, ev := range events {
		w.Event(ev)
	}
	w.Close()
}

// A logged call renders as dev showed it: every event type, debug events with
// --debug; the list sums it up.
func TestLogsShowGolden(t *testing.T) {
	state := t.TempDir()
	writeLog(t, state, everyEvent())
	f, out, errOut := logsFactory(state, "")
	if err := runLogs(t, f, "CA01"); err != nil {
		t.Fatal(err, errOut.String())
	}
	golden(t, "logs_show.golden", out.String())

	f, out, _ = logsFactory(state, "")
	if err := runLogs(t, f, "CA0123", "--debug", "all"); err != nil {
		t.Fatal(err)
	}
	golden(t, "logs_show_debug.golden", out.String())

	f, out, _ = logsFactory(state, "")
	if err := runLogs(t, f, "--json"); err != nil {
		t.Fatal(err)
	}
	var calls []calllog.Call
	if err := json.Unmarshal([]byte(out.String()), &calls); err != nil || len(calls) != 1 {
		t.Fatalf("list --json: %v\n%s", err, out.String())
	}
	c := calls[0]
	if c.CallSID != "CA0123" || c.From != "+15550100001" || c.Reason != "model_disconnected" || c.LatencyP50 != 420*time.Millisecond {
		t.Errorf("summary %+v", c)
	}
	f, out, _ = logsFactory(state, "")
	if err := runLogs(t, f); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CALL SID", "CA0123", "+15550100001", "14.2s", "the model connection was lost", "420ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, out.String())
		}
	}
}

// A call simulated end to end and logged renders from its log exactly as it was
// rendered live (transcript deltas aside, which are not logged).
func TestLogsMatchLiveRendering(t *testing.T) {
	leakcheck.Check(t)
	state := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: filepath.Join(state, "calls")})
	var live bytes.Buffer
	p := newPrinter(&live, newStyles(false), false, calllog.Filter{})
	res, err := offlinecall.Run(context.Background(), offlinecall.Options{OnEvent: func(ev callevent.Event) {
		p.print(ev)
		w.Event(ev)
	}})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	f, out, errOut := logsFactory(state, "")
	if err := runLogs(t, f, res.CallSID); err != nil {
		t.Fatal(err, errOut.String())
	}
	if out.String() != live.String() || !strings.Contains(out.String(), "tool    weather") {
		t.Errorf("logged:\n%s\nlive:\n%s", out.String(), live.String())
	}
}

func TestLogsNamespaceFilters(t *testing.T) {
	state := t.TempDir()
	writeLog(t, state, everyEvent())
	h := callevent.Header{Time: time.Date(2026, 11, 23, 12, 0, 1, 0, time.UTC), CallSID: "CA0123"}
	writeLog(t, state, []callevent.Event{callevent.RawFrame{Header: h, Source: callevent.SourceRealtime, Type: "response.done", Data: []byte(`{"type":"response.done"}`)}})
	for _, tc := range []struct {
		args     []string
		debug    string // DEBUG
		twilio   bool
		realtime bool
		session  bool
	}{
		{nil, "", false, false, false},
		{[]string{"--debug", "twilio"}, "", true, false, false},
		{[]string{"--debug", "all,-realtime"}, "", true, false, true},
		{nil, "callagent:*,-callagent:twilio", false, true, true},
		{nil, "callagent:t*", true, false, false},
		{[]string{"--debug", "realtime"}, "callagent:session", false, true, true},
	} {
		f, out, _ := logsFactory(state, "")
		if tc.debug != "" {
			f.Env.Getenv = func(k string) string {
				switch k {
				case "CALLAGENT_STATE_DIR":
					return state
				case "DEBUG":
					return tc.debug
				}
				return ""
			}
		}
		if err := runLogs(t, f, append([]string{"CA0123"}, tc.args...)...); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if strings.Contains(s, "twilio → mark") != tc.twilio || strings.Contains(s, "realtime ← response.done") != tc.realtime ||
			strings.Contains(s, "· media:") != tc.session {
			t.Errorf("%v DEBUG=%q:\n%s", tc.args, tc.debug, s)
		}
	}
}

// --follow shows a call that starts after it.
func TestLogsFollow(t *testing.T) {
	leakcheck.Check(t)
	state := t.TempDir()
	os.MkdirAll(filepath.Join(state, "calls"), 0o700)
	f, out, _ := logsFactory(state, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := NewRootCmd(f)
		root.SetArgs([]string{"logs", "-f"})
		done <- root.ExecuteContext(ctx)
	}()
	time.Sleep(300 * time.Millisecond) // the follower has looked at the directory
	writeLog(t, state, everyEvent())
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "● call ended") {
		if time.Now().After(deadline) {
			t.Fatalf("the new call was not followed:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "caller  What's the weather in Paris?") {
		t.Errorf("followed:\n%s", out.String())
	}
}

// serve's JSON output piped in renders the calls; its other lines are passed over.
func TestLogsStdin(t *testing.T) {
	var serveOut bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&serveOut, nil))
	log.Info("callagent serving", "listen", "127.0.0.1:5050")
	for _, ev := range everyEvent() {
		calllog.LogEvent(log, ev, nil)
	}
	serveOut.WriteString("garbage line\n")
	f, out, errOut := logsFactory(t.TempDir(), serveOut.String())
	if err := runLogs(t, f, "-"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"● call CA0123 from +15550100001", "caller  What's the weather in Paris?", "● call ended after 14.2s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdin rendering lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "stdin:") || !strings.Contains(errOut.String(), "skipped") {
		t.Errorf("the garbage line was not reported: %q", errOut.String())
	}
}

// A corrupt or cut line is skipped with its file and line; the rest renders.
// An unknown call SID says how to list calls.
func TestLogsBadInput(t *testing.T) {
	state := t.TempDir()
	writeLog(t, state, everyEvent())
	path, _ := calllog.Find(filepath.Join(state, "calls"), "CA0123")
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	corrupt := strings.Join(lines[:3], "") + "{\"time\": broken\n" + strings.Join(lines[3:], "") + `{"time":"2026-11-23T12:00:09Z","level":"info","ns":"callag`
	os.WriteFile(path, []byte(corrupt), 0o600)
	f, out, errOut := logsFactory(state, "")
	if err := runLogs(t, f, "CA0123"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), path+":4: skipped:") || !strings.Contains(errOut.String(), "cut short") {
		t.Errorf("warnings: %s", errOut.String())
	}
	if !strings.Contains(out.String(), "● call ended") {
		t.Errorf("the rest was not rendered:\n%s", out.String())
	}
	f, _, _ = logsFactory(state, "")
	err := runLogs(t, f, "CA999")
	if err == nil || !strings.Contains(err.Error(), "run callagent logs to list the calls") {
		t.Fatalf("unknown call: %v", err)
	}
}

// A call whose stream never came is listed as such, with the webhook's numbers.
func TestLogsListCallWithoutStream(t *testing.T) {
	state := t.TempDir()
	h := callevent.Header{Time: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC), CallSID: "CAnostream"}
	warn := h
	warn.Time = h.Time.Add(15 * time.Second)
	writeLog(t, state, []callevent.Event{
		callevent.HTTPRequest{Header: h, Method: "POST", Path: "/incoming-call", Status: 200, From: "+15550100007", To: "+15550100008"},
		callevent.Warning{Header: warn, Message: "no media stream came within 15s of the webhook"},
	})
	f, out, errOut := logsFactory(state, "")
	if err := runLogs(t, f); err != nil {
		t.Fatal(err, errOut.String())
	}
	if !regexp.MustCompile(`CAnostream\s+\+15550100007\s+\+15550100008\s+15\.0s\s+no media stream came`).MatchString(out.String()) {
		t.Errorf("list:\n%s", out)
	}
}

// The list shows each call's cost and sums them: a call still in progress counts
// with its running cost, a call whose model has no price is counted apart, never
// as zero. $0.139968 + $0.0474456 + $0.01 = $0.1974136, shown as $0.1974.
func TestFaultLogsSumTheCost(t *testing.T) {
	state := t.TempDir()
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	usd := func(v float64) *float64 { return &v }
	call := func(sid string, min int, evs ...callevent.Event) []callevent.Event {
		h := callevent.Header{Time: at.Add(time.Duration(min) * time.Minute), CallSID: sid}
		out := []callevent.Event{callevent.CallStarted{Header: h, From: "+15550100001", To: "+15550100002"}}
		for _, ev := range evs {
			switch e := ev.(type) {
			case callevent.CallUsage:
				e.Header = h
				ev = e
			case callevent.CallEnded:
				e.Header = h
				ev = e
			}
			out = append(out, ev)
		}
		return out
	}
	writeLog(t, state, call("CA1", 0, callevent.CallUsage{Model: "gpt-realtime", CostUSD: usd(0.139968)},
		callevent.CallEnded{Reason: callevent.EndCallerHangup, CostUSD: usd(0.139968)}))
	writeLog(t, state, call("CA2", 1, callevent.CallUsage{Model: "gpt-realtime", CostUSD: usd(0.0474456)},
		callevent.CallEnded{Reason: callevent.EndMaxCost, CostUSD: usd(0.0474456)}))
	writeLog(t, state, call("CA3", 2, callevent.CallUsage{Model: "gpt-realtime", CostUSD: usd(0.01)})) // in progress
	writeLog(t, state, call("CA4", 3, callevent.CallUsage{Model: "my-voice", Tokens: callevent.TokenCounts{AudioIn: 5}},
		callevent.CallEnded{Reason: callevent.EndCallerHangup}))
	writeLog(t, state, call("CA5", 4, callevent.CallEnded{Reason: callevent.EndCallerHangup}))
	f, out, errOut := logsFactory(state, "")
	if err := runLogs(t, f); err != nil {
		t.Fatal(err, errOut.String())
	}
	for _, want := range []string{"$0.1400", "$0.0474", "$0.0100", "unknown", "the cost limit was reached",
		"cost of the 5 calls listed: $0.1974 (and 1 call whose model has no known price); 1 without usage logged"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, out.String())
		}
	}
}
