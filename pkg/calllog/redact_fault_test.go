package calllog_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// A configured secret with " \ & < > is written in escaped form: the call log
// file and serve's JSON log lines (LogEvent) must hold it in none of its forms,
// whether the event carried it raw or an API had encoded it.
func TestFaultSecretEncodingsInLogLines(t *testing.T) {
	leakcheck.Check(t)
	const secret = `s3"cr\et&<v>/al'ue`
	js, _ := json.Marshal(secret)
	carried := []string{secret, string(js), url.QueryEscape(secret), url.PathEscape(secret), html.EscapeString(secret),
		base64.StdEncoding.EncodeToString([]byte(secret)), "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+secret))}
	// The forms a reader could find: each carried form, as written inside a JSON
	// string (with and without HTML escapes), and base64 at every alignment.
	var forms []string
	for _, c := range carried {
		for _, esc := range []bool{true, false} {
			var b bytes.Buffer
			e := json.NewEncoder(&b)
			e.SetEscapeHTML(esc)
			e.Encode(c)
			q := strings.TrimSpace(b.String())
			forms = append(forms, q[1:len(q)-1])
		}
	}
	forms = append(forms, secret, base64.RawStdEncoding.EncodeToString([]byte(secret))[:16],
		base64.RawStdEncoding.EncodeToString([]byte("user:" + secret))[8:24])
	check := func(where, text string) {
		t.Helper()
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("%s holds the secret as %q:\n%s", where, f, text)
			}
		}
	}

	red := calllog.NewRedactor(secret)
	dir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir, Redactor: red})
	var slogOut bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&slogOut, nil))
	h := callevent.Header{Time: t0, CallSID: "CA0014"}
	for i, c := range carried {
		ev := callevent.ToolResult{Header: h, CallID: "call_" + string(rune('a'+i)), Name: "crm", Output: "echo: " + c + " end"}
		w.Event(ev)
		calllog.LogEvent(log, ev, red)
	}
	w.Close()
	data, err := os.ReadFile(filepath.Join(dir, "2026-11-23", "CA0014.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), "\n") != len(carried) || strings.Count(slogOut.String(), "\n") != len(carried) {
		t.Fatalf("lines lost:\n%s\n%s", data, slogOut.String())
	}
	check("the call log", string(data))
	check("serve's JSON log", slogOut.String())
}

// The patterns are found in any case: the words that let a line skip them are
// compared case-insensitively.
func TestRedactPatternsAnyCase(t *testing.T) {
	r := calllog.NewRedactor()
	for in, want := range map[string]string{
		`{"X-API-KEY":"abc123"}`:                `{"X-API-KEY":"[redacted]"}`,
		`{"Password":"hunter22"}`:               `{"Password":"[redacted]"}`,
		`{"h":"BEARER abcdefghijkl"}`:           `{"h":"BEARER [redacted]"}`,
		`{"h":"Basic dXNlcjpwYXNzd29yZA=="}`:    `{"h":"Basic [redacted]"}`,
		`{"m":"key sk-abcdefghijklmnopqrst"}`:   `{"m":"key sk-[redacted]"}`,
		`{"m":"nothing to see, no k-e-y here"}`: `{"m":"nothing to see, no k-e-y here"}`,
	} {
		if got := string(r.Redact([]byte(in))); got != want {
			t.Errorf("Redact(%s) = %s, want %s", in, got, want)
		}
	}
}
