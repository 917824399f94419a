package calllog_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// callEvents is a short call as a session reports it.
func callEvents(sid string, start time.Time) []callevent.Event {
	h := func(ms int) callevent.Header {
		return callevent.Header{Time: start.Add(time.Duration(ms) * time.Millisecond), CallSID: sid}
	}
	return []callevent.Event{
		callevent.CallStarted{Header: h(0), StreamSID: "MZ1", From: "+15550100001", To: "+14155550100"},
		callevent.ModelConnected{Header: h(40), DialTime: 40 * time.Millisecond},
		callevent.AgentTranscriptDelta{Header: h(300), ItemID: "i1", Delta: "Hel"},
		callevent.AgentTranscript{Header: h(900), ItemID: "i1", Text: "Hello! How can I help?"},
		callevent.SpeechStopped{Header: h(2500), ItemID: "i2", AudioEndMs: 2400},
		callevent.CallerTranscript{Header: h(2600), ItemID: "i2", Text: "What's the weather in Paris?"},
		callevent.ToolCall{Header: h(2700), CallID: "c1", Name: "weather", Arguments: `{"city":"Paris"}`},
		callevent.ToolResult{Header: h(2710), CallID: "c1", Name: "weather", Output: `{"sky":"clear"}`, Duration: 10 * time.Millisecond},
		callevent.TurnLatency{Header: h(2900), Latency: 400 * time.Millisecond},
		callevent.AgentTranscript{Header: h(4000), ItemID: "i3", Text: "It's clear in Paris."},
		callevent.TurnLatency{Header: h(6000), Latency: 600 * time.Millisecond},
		callevent.MediaStats{Header: h(6000), Interval: time.Second, InFrames: 50, InBytes: 8000},
		callevent.CallEnded{Header: h(7000), Reason: callevent.EndCallerHangup, Duration: 7 * time.Second, Turns: 2},
	}
}

func writeCall(t *testing.T, w *calllog.Writer, sid string, start time.Time) {
	t.Helper()
	for _, ev := range callEvents(sid, start) {
		w.Event(ev)
	}
}

func TestWriterWritesOneFilePerCall(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir})
	writeCall(t, w, "CA0001", t0)
	writeCall(t, w, "CA0002", t0.Add(24*time.Hour))
	w.Close()

	path := filepath.Join(dir, "2026-11-23", "CA0001.jsonl")
	var types []string
	var bad []calllog.BadLine
	if err := calllog.ReadFile(path, func(l calllog.Line, ev callevent.Event) {
		types = append(types, l.Type)
		if l.CallSID != "CA0001" || ev.EventHeader().CallSID != "CA0001" {
			t.Errorf("line of another call: %+v", l)
		}
	}, func(b calllog.BadLine) { bad = append(bad, b) }); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("bad lines: %v", bad)
	}
	got := strings.Join(types, " ")
	want := "call.started model.connected agent.transcript caller.speech_stopped caller.transcript tool.call tool.result " +
		"turn.latency agent.transcript turn.latency media.stats call.ended"
	if got != want {
		t.Errorf("types:\n got %s\nwant %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "2026-11-24", "CA0002.jsonl")); err != nil {
		t.Errorf("second call's file: %v", err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v: transcripts are private", info.Mode().Perm())
	}
}

// A secret placed in an event never reaches the file: known values, fields named
// like secrets, bearer tokens, OpenAI keys.
func TestWriterRedacts(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	red := calllog.NewRedactor("twilio-auth-token-123456")
	w := calllog.NewWriter(calllog.Options{Dir: dir, Redactor: red})
	h := callevent.Header{Time: t0, CallSID: "CA0003"}
	red.SetSecrets("twilio-auth-token-123456", "mcp-secret-value-987")
	w.Event(callevent.CallStarted{Header: h, Parameters: map[string]string{"token": "param-token-value"}})
	w.Event(callevent.RawFrame{Header: h, Source: callevent.SourceRealtime, Sent: true, Type: "session.update",
		Data: []byte(`{"type":"session.update","session":{"tools":[{"type":"mcp","server_url":"https://mcp.example","authorization":"mcp-secret-value-987","headers":{"X-Api-Key":"hdr-key-value"}}]}}`)})
	w.Event(callevent.ModelError{Header: h, Message: "Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwxyz"})
	w.Event(callevent.ToolResult{Header: h, Name: "crm", Output: "called with Bearer abcdefghijklmnop and twilio-auth-token-123456"})
	w.Event(callevent.CallEnded{Header: h, Reason: callevent.EndCallerHangup})
	w.Close()
	data, err := os.ReadFile(filepath.Join(dir, "2026-11-23", "CA0003.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"twilio-auth-token-123456", "mcp-secret-value-987", "hdr-key-value", "param-token-value",
		"sk-proj-abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnop"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("%s reached the file:\n%s", secret, data)
		}
	}
	if !strings.Contains(string(data), calllog.Redacted) || !strings.Contains(string(data), "https://mcp.example") {
		t.Errorf("redaction lost the rest:\n%s", data)
	}
	// Every line still decodes.
	n := 0
	calllog.ReadFile(filepath.Join(dir, "2026-11-23", "CA0003.jsonl"), func(calllog.Line, callevent.Event) { n++ },
		func(b calllog.BadLine) { t.Error(b) })
	if n != 5 {
		t.Errorf("%d lines decode, want 5", n)
	}
}

// An unwritable directory is reported once; events keep being accepted at once.
func TestWriterUnwritableDir(t *testing.T) {
	leakcheck.Check(t)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(file, nil, 0o600)
	var mu sync.Mutex
	var errs []error
	w := calllog.NewWriter(calllog.Options{Dir: file, OnError: func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}})
	for i := range 3 {
		writeCall(t, w, "CA000"+string(rune('4'+i)), t0)
	}
	w.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "calls go on") {
		t.Fatalf("errors reported: %v", errs)
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	mk := func(day, sid string, size int, age time.Duration) string {
		p := filepath.Join(dir, day, sid+".jsonl")
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, make([]byte, size), 0o600)
		os.Chtimes(p, t0.Add(-age), t0.Add(-age))
		return p
	}
	old := mk("2026-11-01", "CAold", 10, 22*24*time.Hour)
	big1 := mk("2026-11-20", "CAbig1", 600, 3*24*time.Hour)
	big2 := mk("2026-11-21", "CAbig2", 600, 2*24*time.Hour)
	recent := mk("2026-11-23", "CAnow", 600, 10*time.Second)
	// What is kept beside a call's log (the inspector's replays) goes with it; a
	// call whose SID starts like another's keeps its own.
	replays := filepath.Join(dir, "2026-11-01", "CAold.replays.json")
	os.WriteFile(replays, []byte("[]"), 0o600)
	other := mk("2026-11-01", "CAold2", 1, time.Minute)
	n, err := calllog.Prune(dir, 14*24*time.Hour, 1000, t0)
	if err != nil || n != 3 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	for _, p := range []string{old, big1, big2} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s kept", p)
		}
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("a call in progress was removed: %v", err)
	}
	if _, err := os.Stat(replays); !errors.Is(err, os.ErrNotExist) {
		t.Error("the replays of a pruned call were kept")
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another call's log went with CAold's: %v", err)
	}
	os.Remove(other)
	calllog.Prune(dir, 14*24*time.Hour, 1000, t0)
	if _, err := os.Stat(filepath.Join(dir, "2026-11-01")); !errors.Is(err, os.ErrNotExist) {
		t.Error("empty date directory kept")
	}
}

func TestListFindSummarize(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir})
	writeCall(t, w, "CA1111aaaa", t0)
	writeCall(t, w, "CA1111bbbb", t0.Add(time.Hour))
	w.Close()
	calls, err := calllog.List(dir, time.Time{})
	if err != nil || len(calls) != 2 {
		t.Fatalf("list: %+v %v", calls, err)
	}
	c := calls[0]
	if c.CallSID != "CA1111bbbb" || c.From != "+15550100001" || !c.Ended || c.Reason != "caller_hangup" ||
		c.Duration != 7*time.Second || c.Turns != 2 || c.LatencyP50 != 400*time.Millisecond {
		t.Errorf("newest call %+v", c)
	}
	if _, err := calllog.Find(dir, "CA1111"); err == nil || !strings.Contains(err.Error(), "matches 2 calls") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	if p, err := calllog.Find(dir, "CA1111a"); err != nil || !strings.HasSuffix(p, "CA1111aaaa.jsonl") {
		t.Errorf("prefix: %s %v", p, err)
	}
	if _, err := calllog.Find(dir, "CA9"); !errors.Is(err, calllog.ErrNoCall) {
		t.Errorf("unknown: %v", err)
	}
}

// A call whose media stream never came: the webhook's numbers, not streamed.
func TestSummarizeCallWithoutStream(t *testing.T) {
	dir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir})
	h := callevent.Header{Time: t0, CallSID: "CAnostream"}
	w.Event(callevent.HTTPRequest{Header: h, Method: "POST", Path: "/incoming-call", Status: 200, From: "+15550100007", To: "+15550100008"})
	h.Time = t0.Add(15 * time.Second)
	w.Event(callevent.Warning{Header: h, Message: "no media stream came within 15s of the webhook"})
	writeCall(t, w, "CAstreamed", t0)
	w.Close()
	calls, err := calllog.List(dir, time.Time{})
	if err != nil || len(calls) != 2 {
		t.Fatalf("list: %+v %v", calls, err)
	}
	for _, c := range calls {
		switch c.CallSID {
		case "CAnostream":
			if c.From != "+15550100007" || c.To != "+15550100008" || c.Ended || c.Streamed || !c.Started.Equal(t0) {
				t.Errorf("call %+v", c)
			}
		case "CAstreamed":
			if !c.Streamed || !c.Ended {
				t.Errorf("call %+v", c)
			}
		}
	}
}

// Corrupt and cut-short lines are skipped with their file and line; other JSON
// log lines (serve's own messages) are passed over; reading goes on.
func TestReadBadLines(t *testing.T) {
	input := strings.Join([]string{
		`{"time":"2026-11-23T10:00:00Z","level":"INFO","msg":"callagent serving","listen":"127.0.0.1:5050"}`,
		`{"time":"2026-11-23T10:00:01Z","level":"INFO","msg":"call.started","ns":"callagent:session","type":"call.started","call_sid":"CA1","fields":{"from":"+1"}}`,
		`not json at all`,
		`{"time":"2026-11-23T10:00:02Z","level":"info","ns":"callagent:session","type":"caller.transcript","call_sid":"CA1","fields":{"text":5}}`,
		`{"time":"2026-11-23T10:00:03Z","level":"info","ns":"callagent:session","type":"some.future_event","call_sid":"CA1"}`,
		``,
		`{"time":"2026-11-23T10:00:04Z","level":"info","ns":"callagent:session","type":"caller.transcript","call_sid":"CA1","fields":{"text":"hi"}}`,
		`{"time":"2026-11-23T10:00:05Z","level":"info","ns":"callagent:sess`,
	}, "\n")
	var got []string
	var bad []string
	err := calllog.Read(strings.NewReader(input), "stdin", func(l calllog.Line, ev callevent.Event) {
		got = append(got, l.Type+"/"+l.Level)
	}, func(b calllog.BadLine) { bad = append(bad, b.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "call.started/info caller.transcript/info" {
		t.Errorf("events: %v", got)
	}
	if len(bad) != 3 || !strings.HasPrefix(bad[0], "stdin:3: skipped:") || !strings.HasPrefix(bad[1], "stdin:4: skipped:") ||
		!strings.Contains(bad[2], "stdin:8: skipped: the line is cut short") {
		t.Errorf("bad lines: %q", bad)
	}
}

// The follower sees lines appended to a call in progress and a call that starts
// after it, and a line written in two parts once it is whole.
func TestFollower(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	day := filepath.Join(dir, "2026-11-23")
	os.MkdirAll(day, 0o700)
	existing := filepath.Join(day, "CAold.jsonl")
	line := func(sid, typ, fields string) string {
		return `{"time":"2026-11-23T10:00:00Z","level":"info","ns":"callagent:session","type":"` + typ + `","call_sid":"` + sid + `","fields":` + fields + "}\n"
	}
	os.WriteFile(existing, []byte(line("CAold", "caller.transcript", `{"text":"before"}`)), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 10)
	done := make(chan error, 1)
	fl := &calllog.Follower{Dir: dir, Poll: 10 * time.Millisecond}
	go func() {
		done <- fl.Run(ctx, func(l calllog.Line, ev callevent.Event) {
			if e, ok := ev.(callevent.CallerTranscript); ok {
				got <- l.CallSID + ":" + e.Text
			}
		}, func(b calllog.BadLine) { t.Error(b) })
	}()
	next := func() string {
		select {
		case s := <-got:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("nothing followed")
			return ""
		}
	}
	time.Sleep(50 * time.Millisecond)
	f, _ := os.OpenFile(existing, os.O_APPEND|os.O_WRONLY, 0o600)
	f.WriteString(line("CAold", "caller.transcript", `{"text":"after"}`))
	if s := next(); s != "CAold:after" {
		t.Fatalf("appended: %s", s)
	}
	l := line("CAnew", "caller.transcript", `{"text":"new call"}`)
	nf, _ := os.Create(filepath.Join(day, "CAnew.jsonl"))
	nf.WriteString(l[:20])
	time.Sleep(50 * time.Millisecond)
	nf.WriteString(l[20:])
	if s := next(); s != "CAnew:new call" {
		t.Fatalf("new file: %s", s)
	}
	f.Close()
	nf.Close()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{
		`{"time":"2026-11-23T10:00:00Z","level":"info","ns":"callagent:session","type":"caller.transcript","call_sid":"CA1","fields":{"text":"hi"}}`,
		`{"type":"call.ended","fields":{"reason":"idle","error":"x","duration_ns":5}}` + "\n" + `{"type":"debug.frame","fields":{"data":"\u0000"}}`,
		`{"type":"agent.interrupted","fields":{"truncations":[{"item_id":1}]}}`,
		"{\n}\n\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		calllog.Read(strings.NewReader(input), "fuzz", func(calllog.Line, callevent.Event) {}, func(calllog.BadLine) {})
	})
}

// Files are closed once their call goes quiet, ended or not (a call whose stream
// never came has no end); a line that comes later (Twilio's request after the
// stream) goes to the same file, even when the date has changed since.
func TestWriterClosesIdleFiles(t *testing.T) {
	leakcheck.Check(t)
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd to count open files")
		}
		return len(entries)
	}
	dir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir, IdleClose: 40 * time.Millisecond})
	defer w.Close()
	before := fds()
	for i := range 50 {
		writeCall(t, w, fmt.Sprintf("CA%04d", i), t0) // ended
		w.Event(callevent.HTTPRequest{Header: callevent.Header{Time: t0, CallSID: fmt.Sprintf("CAnostream%04d", i)}, Path: "/incoming-call"})
	}
	deadline := time.Now().Add(10 * time.Second)
	for fds() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := fds(); n > before+2 {
		t.Fatalf("%d files still open (%d before the calls)", n, before)
	}
	// After the end and after midnight: the same file.
	late := callevent.HTTPRequest{Header: callevent.Header{Time: t0.Add(24 * time.Hour), CallSID: "CA0007"}, Path: "/stream-ended"}
	w.Event(late)
	w.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*", "CA0007.jsonl"))
	if len(files) != 1 {
		t.Fatalf("files of CA0007: %q", files)
	}
	data, _ := os.ReadFile(files[0])
	if !strings.Contains(string(data), `"type":"call.ended"`) || !strings.HasSuffix(strings.TrimSpace(string(data)), `"path":"/stream-ended"}}`) {
		t.Errorf("CA0007's file:\n%s", data)
	}
}

// Lines are taken in batches, not one wake-up each: every FlushEvery, at once when
// the queue is half full, and at Close. A follower sees a line within FlushEvery.
func TestWriterTakesLinesInBatches(t *testing.T) {
	leakcheck.Check(t)
	lines := func(dir, sid string) int {
		files, _ := filepath.Glob(filepath.Join(dir, "*", sid+".jsonl"))
		if len(files) == 0 {
			return 0
		}
		data, _ := os.ReadFile(files[0])
		return strings.Count(string(data), "\n")
	}
	waitLines := func(dir, sid string, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for lines(dir, sid) < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := lines(dir, sid); got != n {
			t.Fatalf("%s: %d lines, want %d", sid, got, n)
		}
	}
	ev := func(sid string, i int) callevent.Event {
		return callevent.HTTPRequest{Header: callevent.Header{Time: t0, CallSID: sid}, Path: fmt.Sprintf("/p%d", i)}
	}

	// A short FlushEvery: a line reaches its file without Close.
	dir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir, FlushEvery: 10 * time.Millisecond})
	w.Event(ev("CAtick", 0))
	waitLines(dir, "CAtick", 1)
	w.Close()

	// A FlushEvery longer than the test: a half-full queue is taken at once, and
	// Close takes the rest.
	dir = t.TempDir()
	w = calllog.NewWriter(calllog.Options{Dir: dir, FlushEvery: time.Hour, Queue: 8})
	for i := range 4 {
		w.Event(ev("CAhalf", i))
	}
	waitLines(dir, "CAhalf", 4)
	w.Event(ev("CAhalf", 4))
	w.Close()
	if got := lines(dir, "CAhalf"); got != 5 {
		t.Fatalf("after Close: %d lines, want 5", got)
	}

	// A call's end is taken at once, with what came before it: `callagent logs`
	// run when the terminal says the call ended finds it ended.
	dir = t.TempDir()
	w = calllog.NewWriter(calllog.Options{Dir: dir, FlushEvery: time.Hour, Queue: 64})
	defer w.Close()
	w.Event(ev("CAend", 0))
	w.Event(callevent.CallEnded{Header: callevent.Header{Time: t0, CallSID: "CAend"}, Reason: callevent.EndCallerHangup})
	waitLines(dir, "CAend", 2)
	if d := w.Dropped(); d != 0 {
		t.Fatalf("%d lines dropped", d)
	}
}
