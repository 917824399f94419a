package inspector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// Ingest keeps each call's lines in the call logs' layout and publishes each
// event after its line; serve's other records pass, and an event whose call
// SID could name another path (or none) is skipped as a bad line: nothing is
// written outside the directory.
func TestIngestKeepsCallsAndRefusesPathSIDs(t *testing.T) {
	dir := t.TempDir()
	in := strings.Join([]string{
		`{"time":"2026-11-23T10:00:00Z","level":"INFO","msg":"callagent serving","listen":"127.0.0.1:8080"}`,
		`{"time":"2026-11-23T10:00:01Z","level":"INFO","msg":"call.started","ns":"callagent:session","type":"call.started","call_sid":"CA01","fields":{"from":"+1555"}}`,
		`{"time":"2026-11-23T10:00:02Z","level":"INFO","msg":"call.started","ns":"callagent:session","type":"call.started","call_sid":"../../evil","fields":{}}`,
		`{"time":"2026-11-23T10:00:02Z","level":"INFO","msg":"call.started","ns":"callagent:session","type":"call.started","fields":{}}`,
		`not json`,
		`{"time":"2026-11-23T10:00:03Z","level":"INFO","msg":"call.ended","ns":"callagent:session","type":"call.ended","call_sid":"CA01","fields":{"reason":"caller_hangup","duration_ns":2000000000}}`,
	}, "\n")
	var published []string
	bad := 0
	err := Ingest(strings.NewReader(in), dir, func(ev callevent.Event) { published = append(published, ev.Kind()) },
		func(calllog.BadLine) { bad++ })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(published, ",") != "call.started,call.ended" || bad != 3 {
		t.Errorf("published %v, %d bad lines (want 3)", published, bad)
	}
	p, err := calllog.Find(dir, "CA01")
	if err != nil || p != filepath.Join(dir, "2026-11-23", "CA01.jsonl") {
		t.Fatalf("the call's file: %s %v", p, err)
	}
	c, err := calllog.Summarize(p)
	if err != nil || !c.Ended || c.Reason != "caller_hangup" || c.From != "+1555" {
		t.Errorf("the kept call: %+v %v", c, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil.jsonl")); err == nil {
		t.Error("a call SID wrote outside the directory")
	}
}
