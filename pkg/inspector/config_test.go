package inspector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// The call's JSON carries the agent configurations it ran with (the first, and
// the one after a handoff, at its time), redacted again; a call logged before
// configurations were recorded says so (config_recorded false, no configs).
// The replays of a call are kept beside its log, the newest KeptReplays, a
// replay that could not run with its error, and listed with the call.
func TestFaultCallPageConfigsAndKeptReplays(t *testing.T) {
	const (
		sidNew = "CA000000000000000000000000000000c1"
		sidOld = "CA000000000000000000000000000000c2"
	)
	logDir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: logDir, Redactor: calllog.NewRedactor(secret)})
	at := func(sid string, ms int) callevent.Header {
		return callevent.Header{Time: t0.Add(time.Duration(ms) * time.Millisecond), CallSID: sid}
	}
	for _, ev := range []callevent.Event{
		callevent.CallStarted{Header: at(sidNew, 0)},
		callevent.CallConfig{Header: at(sidNew, 1), Agent: "front", Model: "gpt-realtime", Voice: "marin",
			Instructions: "Never say " + secret + ".", Tools: []callevent.ConfigTool{{Name: "lookup", Kind: "http"}}, Hash: "111111111111"},
		callevent.AgentChanged{Header: at(sidNew, 1500), From: "front", To: "billing"},
		callevent.CallConfig{Header: at(sidNew, 1500), Agent: "billing", Model: "gpt-realtime", Voice: "marin", Hash: "222222222222"},
		callevent.CallEnded{Header: at(sidNew, 3000), Reason: callevent.EndCallerHangup, Duration: 3 * time.Second},
		callevent.CallStarted{Header: at(sidOld, 60_000)},
		callevent.CallEnded{Header: at(sidOld, 61_000), Reason: callevent.EndCallerHangup, Duration: time.Second},
	} {
		w.Event(ev)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	s := start(t, func(o *Options) {
		o.LogDir = logDir
		o.Redactor = calllog.NewRedactor(secret)
		o.Replay = func(ctx context.Context, sid string) (ReplayResult, error) {
			n++
			if n == 1 {
				return ReplayResult{}, errors.New("no recording of " + sid)
			}
			return ReplayResult{Passed: true, CallSID: fmt.Sprintf("CAreplay%02d", n)}, nil
		}
	})
	type page struct {
		ConfigRecorded *bool `json:"config_recorded"`
		Configs        []struct {
			AtMs  int64 `json:"at_ms"`
			Agent string
			Tools []struct{ Name, Kind string }
		} `json:"configs"`
		Replays []struct {
			CallSID string `json:"call_sid"`
			Error   string
			At      time.Time
		} `json:"replays"`
	}
	read := func(sid string) (page, string) {
		t.Helper()
		res := s.get(t, "/api/calls/"+sid, s.token, nil)
		b := body(t, res)
		var p page
		if err := json.Unmarshal([]byte(b), &p); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %d %v %s", sid, res.StatusCode, err, b)
		}
		return p, b
	}
	p, b := read(sidNew)
	if p.ConfigRecorded == nil || !*p.ConfigRecorded || len(p.Configs) != 2 || p.Configs[0].Agent != "front" || p.Configs[0].AtMs != 1 ||
		len(p.Configs[0].Tools) != 1 || p.Configs[0].Tools[0].Kind != "http" || p.Configs[1].Agent != "billing" || p.Configs[1].AtMs != 1500 {
		t.Errorf("the configurations of a call that recorded them:\n%s", b)
	}
	if strings.Contains(b, "al'ue-42") || strings.Contains(b, `al\u0027ue-42`) || !strings.Contains(b, "redacted") {
		t.Errorf("the configuration's secret is not redacted:\n%s", b)
	}
	p, b = read(sidOld)
	if p.ConfigRecorded == nil || *p.ConfigRecorded || p.Configs == nil || len(p.Configs) != 0 || p.Replays == nil {
		t.Errorf("a call logged without its configuration:\n%s", b)
	}

	const kept = 20 // KeptReplays
	for range kept + 3 {
		code, b := s.post(t, "/api/calls/"+sidOld+"/replay", map[string]string{TokenHeader: s.token}, false)
		if code != 200 && code != 422 {
			t.Fatalf("replay: %d %s", code, b)
		}
	}
	p, b = read(sidOld)
	last := fmt.Sprintf("CAreplay%02d", kept+3)
	if len(p.Replays) != kept || p.Replays[len(p.Replays)-1].CallSID != last || p.Replays[0].CallSID != "CAreplay04" || p.Replays[0].At.IsZero() {
		t.Errorf("kept replays (want the newest %d, the last %s):\n%s", kept, last, b)
	}
	// The first replay's failure was kept too, before it was pushed out.
	s2 := start(t, func(o *Options) {
		o.LogDir = t.TempDir()
		copyCall(t, logDir, o.LogDir)
		o.Replay = func(ctx context.Context, sid string) (ReplayResult, error) {
			return ReplayResult{}, errors.New("no recording")
		}
	})
	s2.post(t, "/api/calls/"+sidOld+"/replay", map[string]string{TokenHeader: s2.token}, false)
	res := s2.get(t, "/api/calls/"+sidOld, s2.token, nil)
	if b := body(t, res); !strings.Contains(b, `"error":"replay: no recording"`) {
		t.Errorf("a replay that failed is not kept with its error:\n%s", b)
	}
}

// copyCall copies the call logs of src into dst.
func copyCall(t *testing.T, src, dst string) {
	t.Helper()
	files, err := calllog.Files(src)
	if err != nil {
		t.Fatal(err)
	}
	w := calllog.NewWriter(calllog.Options{Dir: dst})
	for _, f := range files {
		calllog.ReadFile(f.Path, func(_ calllog.Line, ev callevent.Event) { w.Event(ev) }, nil)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
