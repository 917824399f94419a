package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// inspect - reads serve's JSON log lines (as serve's own logger writes them)
// from stdin: the list starts empty, an events client hears the call start
// and end as the lines arrive, the list and the call's page show the call
// (its timeline with the tool call, its agent configuration), its audio is
// "no recording" (not a broken player: recording false, /audio 404), and
// inspect stops at the signal once stdin has ended.
func TestFaultInspectStdinServeLines(t *testing.T) {
	leakcheck.Check(t)
	state := t.TempDir()
	f, out, errOut := logsFactory(state, "")
	stdin, lines := io.Pipe()
	f.IO.In = stdin
	log, err := newLogger(lines, "json", "info", false, calllog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		root := NewRootCmd(f)
		root.SetArgs([]string{"inspect", "-", "--addr", "127.0.0.1:0"})
		done <- root.ExecuteContext(ctx)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "token=") {
		select {
		case err := <-done:
			t.Fatalf("inspect - ended: %v\n%s", err, errOut)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL:\n%s\n%s", out, errOut)
		}
	}
	base, token, _ := strings.Cut(strings.TrimSpace(out.String()), "/?token=")
	get := func(path string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	type list struct {
		Calls []struct {
			SID, Outcome string
			Recording    bool
		} `json:"calls"`
	}
	var l list
	if code, b := get("/api/calls"); code != 200 || json.Unmarshal(b, &l) != nil || len(l.Calls) != 0 {
		t.Fatalf("before any line: %d %s", code, b)
	}

	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	events, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Body.Close()
	next := make(chan string, 16)
	go func() {
		defer close(next)
		buf := make([]byte, 4096)
		for {
			n, err := events.Body.Read(buf)
			if n > 0 {
				next <- string(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	<-next
	waitEvent := func(what string) {
		t.Helper()
		for got := ""; !strings.Contains(got, what); {
			select {
			case s := <-next:
				got += s
			case <-time.After(5 * time.Second):
				t.Fatalf("no %s event: %q", what, got)
			}
		}
	}
	sid := "CA00000000000000000000000000005701"
	h := callevent.Header{Time: time.Now().UTC(), CallSID: sid}
	at := func(ms int) callevent.Header {
		x := h
		x.Time = h.Time.Add(time.Duration(ms) * time.Millisecond)
		return x
	}
	emit := func(evs ...callevent.Event) {
		for _, ev := range evs {
			calllog.LogEvent(log, ev, nil)
		}
	}
	emit(callevent.CallStarted{Header: at(0), From: "+15550100001", To: "+15550100002"})
	// The agent configuration's line, as serve's logger writes it.
	io.WriteString(lines, `{"time":"`+at(1).Time.Format(time.RFC3339Nano)+`","level":"INFO","msg":"call.config","ns":"callagent:session",`+
		`"type":"call.config","call_sid":"`+sid+`","fields":{"agent":"front","model":"gpt-realtime","voice":"marin",`+
		`"tools":[{"name":"weather","kind":"builtin"}],"hash":"0123456789ab"}}`+"\n")
	waitEvent(`"call.started"`)
	if code, b := get("/api/calls"); code != 200 || json.Unmarshal(b, &l) != nil || len(l.Calls) != 1 ||
		l.Calls[0].SID != sid || l.Calls[0].Outcome != "in_progress" {
		t.Fatalf("after the call's start: %d %s", code, b)
	}
	emit(callevent.CallerTranscript{Header: at(900), ItemID: "i1", Text: "weather in Rome?"},
		callevent.ToolCall{Header: at(1200), CallID: "c1", Name: "weather", Arguments: `{"city":"Rome"}`},
		callevent.ToolResult{Header: at(1300), CallID: "c1", Name: "weather", Output: "sunny", Duration: 100 * time.Millisecond},
		callevent.CallEnded{Header: at(3000), Reason: callevent.EndCallerHangup, Duration: 3 * time.Second, ToolCalls: 1})
	waitEvent(`"call.ended"`)
	code, b := get("/api/calls/" + sid)
	var page struct {
		Call struct {
			Outcome   string
			Recording bool
		}
		Tools          []struct{ Name string }
		ConfigRecorded bool `json:"config_recorded"`
		Configs        []struct{ Agent string }
	}
	if code != 200 || json.Unmarshal(b, &page) != nil || page.Call.Outcome != "caller_hangup" || page.Call.Recording ||
		len(page.Tools) != 1 || page.Tools[0].Name != "weather" || !page.ConfigRecorded || page.Configs[0].Agent != "front" {
		t.Fatalf("the call's page: %d %s", code, b)
	}
	if code, b := get("/api/calls/" + sid + "/audio"); code != http.StatusNotFound {
		t.Errorf("audio of a call from stdin: %d %s", code, b)
	}
	lines.Close()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(errOut.String(), "stdin ended"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no word of stdin's end:\n%s", errOut)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("inspect -: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("inspect - did not stop")
	}
	for range next {
	}
}
