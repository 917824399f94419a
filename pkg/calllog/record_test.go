package calllog_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// readRecords returns the server records and the event types of input.
func readRecords(input string) ([]calllog.ServerRecord, []string) {
	var recs []calllog.ServerRecord
	var types []string
	calllog.ReadRecords(strings.NewReader(input), "stdin", func(l calllog.Line, _ callevent.Event) { types = append(types, l.Type) },
		func(r calllog.ServerRecord) { recs = append(recs, r) }, nil)
	return recs, types
}

// serve's output mixes events and its own records; each goes its way, in order,
// records with their attributes as written.
func TestReadRecords(t *testing.T) {
	var b strings.Builder
	log := slog.New(slog.NewJSONHandler(&b, nil))
	log.Warn("request refused: Twilio signature invalid", "path", "/incoming-call", "remote", "10.0.0.1:4", "n", 2, slog.Group("g", "k", true))
	calllog.LogEvent(log, callevent.CallStarted{Header: callevent.Header{CallSID: "CA1"}}, nil)
	b.WriteString(`{"time":"2026-11-23T10:00:00Z","level":"nonsense","msg":"odd","msg":"second"}` + "\n")
	b.WriteString(`{"level":"WARN","msg":5}` + "\n") // no text message: not a record
	b.WriteString(`["msg"]` + "\n")
	recs, types := readRecords(b.String())
	if len(types) != 1 || types[0] != "call.started" {
		t.Errorf("events %v", types)
	}
	if len(recs) != 2 {
		t.Fatalf("records %+v", recs)
	}
	r := recs[0]
	if r.Msg != "request refused: Twilio signature invalid" || r.Level != slog.LevelWarn || r.Time.IsZero() {
		t.Errorf("record %+v", r)
	}
	want := []calllog.Attr{{"path", "/incoming-call"}, {"remote", "10.0.0.1:4"}, {"n", "2"}, {"g", `{"k":true}`}}
	if len(r.Attrs) != len(want) {
		t.Fatalf("attrs %v", r.Attrs)
	}
	for i := range want {
		if r.Attrs[i] != want[i] {
			t.Errorf("attr %d: %v, want %v", i, r.Attrs[i], want[i])
		}
	}
	// An unknown level is an attribute, not a guess; the first msg is the message.
	if o := recs[1]; o.Msg != "odd" || o.Level != slog.LevelInfo || len(o.Attrs) != 2 {
		t.Errorf("odd record %+v", o)
	}
	// Read, as before, passes records over.
	n := 0
	calllog.Read(strings.NewReader(b.String()), "stdin", func(calllog.Line, callevent.Event) { n++ }, nil)
	if n != 1 {
		t.Errorf("Read: %d events", n)
	}
}

// Lines from stdin are untrusted: whatever they hold, a record is a JSON object
// with a text msg, its Raw one line of valid JSON in valid UTF-8 (for --json).
func FuzzReadRecords(f *testing.F) {
	for _, s := range []string{
		`{"time":"2026-11-23T10:00:00Z","level":"WARN","msg":"request refused: Twilio signature invalid","path":"/incoming-call","remote":"1.2.3.4:5"}`,
		`{"level":"ERROR+2","msg":"a\u001b[2Jb","g":{"x":[1,2,{"y":null}]},"n":1e400}`,
		`{"msg":"` + "\xff\xfe" + `"}` + "\n" + `{"msg":"x"} {"msg":"y"}`,
		`{"type":"call.started","msg":"call.started","call_sid":"CA1"}`,
		"{\"msg\":\"\"}\r\n{}\n[]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		recs, _ := readRecords(input)
		for _, r := range recs {
			if !json.Valid(r.Raw) || !utf8.Valid(r.Raw) || strings.ContainsAny(string(r.Raw), "\n\r") {
				t.Fatalf("raw %q", r.Raw)
			}
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(r.Raw))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("raw %q: %v", r.Raw, err)
			}
			if _, ok := m["msg"].(string); !ok {
				t.Fatalf("record without a text msg: %q", r.Raw)
			}
		}
	})
}
