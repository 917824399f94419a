package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

// serveOutput runs serve, sends it a webhook whose signature is wrong (what the
// README's troubleshooting is about), stops it and returns its stdout.
func serveOutput(t *testing.T) string {
	t.Helper()
	model := &realtimetest.Model{APIKey: "sk-test"}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()
	defer model.Close()
	f, _, errOut := testFactory()
	out := &syncbuf.Buffer{}
	f.IO.Out = out
	opts := &serveOptions{Addr: "127.0.0.1:0", PublicURL: "https://calls.example.com", agentOverrides: agentOverrides{Model: "gpt-realtime", Voice: "marin"},
		DrainTimeout: time.Second, LogFormat: "json", LogLevel: "info", AuthToken: "tok",
		commonOptions: commonOptions{APIKey: "sk-test", BaseURL: modelSrv.URL + "/v1", callLog: callLogOptions{Dir: t.TempDir()}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveRun(ctx, f, opts) }()
	addr := ""
	for addr == "" {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, errOut)
		case <-time.After(5 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "callagent serving" {
				addr, _ = line["listen"].(string)
			}
		}
	}
	form := url.Values{"CallSid": {"CAbadsig"}, "From": {"+1"}, "To": {"+2"}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/incoming-call", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signForTest("not-the-token", "https://calls.example.com/incoming-call", form))
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("webhook with a wrong signature: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// Issue 16: `logs -` dropped the server's own warnings, among them the line the
// README's troubleshooting says to look for. They are shown now, as dev shows
// them, with their details; info lines only with --debug http.
func TestFaultLogsStdinKeepsServerWarnings(t *testing.T) {
	leakcheck.Check(t)
	serve := serveOutput(t)
	if !strings.Contains(serve, `"msg":"request refused: Twilio signature invalid"`) {
		t.Fatalf("serve did not log the refusal:\n%s", serve)
	}
	f, out, errOut := logsFactory(t.TempDir(), serve)
	if err := runLogs(t, f, "-"); err != nil {
		t.Fatal(err, errOut)
	}
	want := "http    request refused: Twilio signature invalid path=/incoming-call remote=127.0.0.1:"
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "hint=check TWILIO_AUTH_TOKEN") {
		t.Errorf("logs - lacks %q:\n%s", want, out)
	}
	if strings.Contains(out.String(), "callagent serving") || errOut.String() != "" {
		t.Errorf("info line shown or complaint:\n%s\n%s", out, errOut)
	}
	f, out, _ = logsFactory(t.TempDir(), serve)
	if err := runLogs(t, f, "-", "--debug", "http"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "http    callagent serving") {
		t.Errorf("--debug http lacks the info lines:\n%s", out)
	}
	f, out, _ = logsFactory(t.TempDir(), serve)
	if err := runLogs(t, f, "-", "--json"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"msg":"request refused: Twilio signature invalid"`) {
		t.Errorf("--json lacks the warning:\n%s", out)
	}
}

// A record's text comes from whoever reached the server: escapes and controls
// are removed before the terminal; errors are shown too, non-records are not.
func TestLogsStdinServerRecordsSanitized(t *testing.T) {
	in := `{"time":"2026-11-23T12:00:00Z","level":"WARN","msg":"stream refused: \u001b[31mred\u0007","remote":"1.2.3.4:5\u009b2J","n":3,"g":{"a": 1}}
{"time":"2026-11-23T12:00:01Z","level":"ERROR","msg":"setting up the call","call_sid":"CA1","error":"boom"}
{"time":"2026-11-23T12:00:02Z","level":"WARN","note":"no msg: not a record"}
{"time":"2026-11-23T11:00:03Z","level":"WARN","msg":"old line"}
`
	f, out, _ := logsFactory(t.TempDir(), in)
	if err := runLogs(t, f, "-", "--since", "1m"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, bad := range []string{"\x1b", "\a", "\u009b"} {
		if strings.Contains(got, bad) {
			t.Errorf("%q reached the terminal: %q", bad, got)
		}
	}
	for _, want := range []string{"stream refused: red", "remote=1.2.3.4:5 n=3", "n=3", `g={"a":1}`, "setting up the call call_sid=CA1 error=boom"} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not a record") || strings.Contains(got, "old line") {
		t.Errorf("a line without msg was shown:\n%s", got)
	}
}

// Whatever a line from stdin holds, the server record it makes reaches the
// terminal without escapes or control characters, on one line.
func FuzzLogsServerRecord(f *testing.F) {
	f.Add(`{"time":"2026-11-23T12:00:00Z","level":"WARN","msg":"stream refused: \u001b[31mred\u0007","remote":"1.2.3.4:5\u009b2J","n":3,"g":{"a":"\u202e"}}`)
	f.Add(`{"level":"ERROR","msg":"a\nb\r","k\u001b":"v\u0085"}`)
	f.Fuzz(func(t *testing.T, input string) {
		fac, out, _ := logsFactory("", input)
		v := newLogView(fac, &logsOptions{Call: "-"})
		calllog.ReadRecords(fac.IO.In, "stdin", func(calllog.Line, callevent.Event) {}, func(r calllog.ServerRecord) {
			before := len(out.String())
			v.record(r)
			got := out.String()[before:]
			if got == "" {
				return // not at warning level
			}
			for i, r := range strings.TrimSuffix(got, "\n") {
				if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
					t.Fatalf("%U at %d reached the terminal: %q", r, i, got)
				}
			}
		}, nil)
	})
}

// On a terminal a long server record wraps past its label, like the events.
func TestLogsStdinServerRecordWraps(t *testing.T) {
	in := `{"time":"2026-11-23T12:00:00Z","level":"WARN","msg":"request refused: Twilio signature invalid","path":"/incoming-call","remote":"203.0.113.9:40112","hint":"check TWILIO_AUTH_TOKEN and that --public-url is the URL Twilio calls"}` + "\n"
	f, out, _ := logsFactory("", in)
	f.IO.OutTTY = true
	f.IO.Width = func() int { return 80 }
	f.Env.Getenv = func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}
	if err := runLogs(t, f, "-"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "http    request refused: Twilio signature invalid") {
		t.Fatalf("not wrapped:\n%s", out)
	}
	for _, l := range lines[1:] {
		if len(l) > 80 || !strings.HasPrefix(l, indent) {
			t.Errorf("continuation %q", l)
		}
	}
}
