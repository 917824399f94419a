package calllog_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

func TestLineRoundTrip(t *testing.T) {
	h := callevent.Header{Time: time.Date(2026, 11, 23, 10, 0, 1, 500_000_000, time.UTC), CallSID: "CA123"}
	for _, tc := range []struct {
		ev           callevent.Event
		ns, level    string
		fieldsSubstr string
	}{
		{callevent.CallerTranscript{Header: h, ItemID: "i1", Text: "hello"}, callevent.NSSession, "info", `"text":"hello"`},
		{callevent.RawFrame{Header: h, Source: callevent.SourceTwilio, Type: "start", Data: []byte(`{"event":"start"}`)}, callevent.NSTwilio, "debug", `"data":{"event":"start"}`},
		{callevent.RawFrame{Header: h, Source: callevent.SourceRealtime, Sent: true, Type: "session.update", Data: []byte(`{}`)}, callevent.NSRealtime, "debug", `"sent":true`},
		{callevent.ToolResult{Header: h, Name: "refund", Err: errors.New("denied")}, callevent.NSTool, "warn", `"error":"denied"`},
		{callevent.ModelError{Header: h, Code: "x"}, callevent.NSSession, "warn", `"code":"x"`},
		{callevent.CallEnded{Header: h, Reason: callevent.EndModelDisconnected, Err: errors.New("eof")}, callevent.NSSession, "error", `"reason":"model_disconnected"`},
		{callevent.DTMF{Header: h, Digit: "7"}, callevent.NSSession, "info", `"digit":"7"`},
		{callevent.HTTPRequest{Header: h, Method: "POST", Path: "/incoming-call", Status: 200}, callevent.NSHTTP, "debug", `"status":200`},
	} {
		data, err := calllog.Marshal(tc.ev)
		if err != nil {
			t.Fatal(err)
		}
		var l calllog.Line
		if err := json.Unmarshal(data, &l); err != nil {
			t.Fatal(err)
		}
		if l.NS != tc.ns || l.Level != tc.level || l.Type != tc.ev.Kind() || l.CallSID != "CA123" || !l.Time.Equal(h.Time) {
			t.Errorf("%s: line %s", tc.ev.Kind(), data)
		}
		if !strings.Contains(string(l.Fields), tc.fieldsSubstr) {
			t.Errorf("%s: fields %s lack %s", tc.ev.Kind(), l.Fields, tc.fieldsSubstr)
		}
		if !strings.HasPrefix(string(data), `{"time":"2026-11-23T10:00:01.5Z","level":`) {
			t.Errorf("line does not start with time and level: %s", data)
		}
		back, err := l.Event()
		if err != nil {
			t.Fatal(err)
		}
		if back.Kind() != tc.ev.Kind() || back.EventHeader() != h {
			t.Errorf("%s: decoded %#v", tc.ev.Kind(), back)
		}
		if _, ok := tc.ev.(callevent.CallerTranscript); ok && !reflect.DeepEqual(back, tc.ev) {
			t.Errorf("decoded %#v, want %#v", back, tc.ev)
		}
	}
}

func TestFilter(t *testing.T) {
	all := callevent.Namespaces
	for _, tc := range []struct {
		spec string
		want []string // enabled namespaces
	}{
		{"", nil},
		{"callagent:*", all},
		{"*", all},
		{"callagent:twilio", []string{callevent.NSTwilio}},
		{"callagent:t*", []string{callevent.NSTwilio, callevent.NSTool, callevent.NSTunnel}},
		{"callagent:*,-callagent:realtime", []string{callevent.NSTwilio, callevent.NSSession, callevent.NSTool, callevent.NSHTTP, callevent.NSTunnel, callevent.NSProvision}},
		{"callagent:twilio* callagent:http", []string{callevent.NSTwilio, callevent.NSHTTP}},
		{"-callagent:twilio,callagent:twilio", nil}, // exclusions win, whatever the order
		{"express:*,other", nil},
	} {
		f := calllog.ParseFilter(tc.spec)
		var got []string
		for _, ns := range all {
			if f.Enabled(ns) {
				got = append(got, ns)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DEBUG=%q enables %v, want %v", tc.spec, got, tc.want)
		}
		if f.Any() != (len(tc.want) > 0) {
			t.Errorf("DEBUG=%q: Any() = %v", tc.spec, f.Any())
		}
	}
}

func TestParseDebugFlag(t *testing.T) {
	f, err := calllog.ParseDebugFlag("twilio, realtime")
	if err != nil || !f.Enabled(callevent.NSTwilio) || !f.Enabled(callevent.NSRealtime) || f.Enabled(callevent.NSHTTP) {
		t.Fatalf("twilio,realtime: %v %v", f, err)
	}
	f, err = calllog.ParseDebugFlag("all,-realtime")
	if err != nil || !f.Enabled(callevent.NSHTTP) || f.Enabled(callevent.NSRealtime) {
		t.Fatalf("all,-realtime: %v %v", f, err)
	}
	if _, err := calllog.ParseDebugFlag("twillio"); err == nil || !strings.Contains(err.Error(), "twilio, realtime") {
		t.Fatalf("typo: %v", err)
	}
	merged := calllog.ParseFilter("callagent:http").Merge(f)
	if !merged.Enabled(callevent.NSHTTP) || merged.Enabled(callevent.NSRealtime) {
		t.Errorf("merge: %v", merged)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"callagent:*", "-a,b*", "**,--x", "a b\tc", "[", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		flt := calllog.ParseFilter(spec)
		for _, ns := range callevent.Namespaces {
			flt.Enabled(ns)
		}
	})
}

// A server logging at info shows the debug events of the namespaces DEBUG names.
func TestNamespaceHandler(t *testing.T) {
	var buf strings.Builder
	log := slog.New(&calllog.NamespaceHandler{Next: slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}),
		Min: slog.LevelInfo, Filter: calllog.ParseFilter("callagent:twilio")})
	h := callevent.Header{Time: time.Now(), CallSID: "CA1"}
	calllog.LogEvent(log, callevent.RawFrame{Header: h, Source: callevent.SourceTwilio, Type: "start", Data: []byte(`{}`)}, nil)
	calllog.LogEvent(log, callevent.RawFrame{Header: h, Source: callevent.SourceRealtime, Type: "session.update", Data: []byte(`{}`)}, nil)
	calllog.LogEvent(log, callevent.MediaStats{Header: h, InFrames: 1}, nil)
	calllog.LogEvent(log, callevent.CallerTranscript{Header: h, Text: "hi"}, nil)
	calllog.LogEvent(log, callevent.CallerTranscriptDelta{Header: h, Delta: "h"}, nil)
	log.Debug("plain debug message")
	got := buf.String()
	if !strings.Contains(got, `"type":"debug.frame","call_sid":"CA1","fields":{"source":"twilio"`) || !strings.Contains(got, `"caller.transcript"`) {
		t.Errorf("missing lines:\n%s", got)
	}
	for _, not := range []string{"session.update", "media.stats", "transcript_delta", "plain debug message"} {
		if strings.Contains(got, not) {
			t.Errorf("%s logged:\n%s", not, got)
		}
	}
}

// Secret fields are redacted where they are JSON, and where they are JSON inside
// a JSON string (a tool's output); the line stays valid JSON.
func TestRedactFields(t *testing.T) {
	r := calllog.NewRedactor()
	for in, want := range map[string]string{
		`{"authorization":"Bearer abc.def.ghi-123"}`:                        `{"authorization":"[redacted]"}`,
		`{"output":"{\"access_token\":\"eyJhbGciOi.J9x\",\"n\":1}"}`:        `{"output":"{\"access_token\":\"[redacted]\",\"n\":1}"}`,
		`{"output":"{\"password\": \"p\\\"w\\\\d\", \"user\":\"ann\"}"}`:    `{"output":"{\"password\": \"[redacted]\", \"user\":\"ann\"}"}`,
		`{"output":"{\"tokens\":\"not a secret field\"}"}`:                  `{"output":"{\"tokens\":\"not a secret field\"}"}`,
		`{"data":{"customParameters":{"callagent_stream_token":"0f3a9c"}}}`: `{"data":{"customParameters":{"callagent_stream_token":"[redacted]"}}}`,
		`{"usage":{"input_tokens":"12","total_tokens":"30"}}`:               `{"usage":{"input_tokens":"12","total_tokens":"30"}}`,
	} {
		got := string(r.Redact([]byte(in)))
		if got != want || !json.Valid([]byte(got)) {
			t.Errorf("Redact(%s)\n got %s\nwant %s", in, got, want)
		}
	}
}
