package inspector_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/inspector"
	"github.com/callagent/callagent/pkg/offlinecall"
)

// A real offline call (a tool call, then a barge-in),
// logged and recorded as dev does, reads back through the API: the list sums it
// up as the call's end did, the timeline has the tool call and an answer cut
// off with its heard and unheard parts, and the recording is served.
func TestOfflineCallThroughTheAPI(t *testing.T) {
	leakcheck.Check(t)
	logDir, recDir, res := recordOfflineCall(t)

	srv := httptest.NewUnstartedServer(nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	token, _ := inspector.NewToken()
	h, err := inspector.New(inspector.Options{LogDir: logDir, RecordDir: recDir, Token: token, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()
	get := func(path string) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, r.StatusCode, b)
		}
		return b
	}

	var list struct{ Calls []inspector.Call }
	if err := json.Unmarshal(get("/api/calls"), &list); err != nil || len(list.Calls) != 1 {
		t.Fatalf("calls %+v %v", list, err)
	}
	c, end := list.Calls[0], res.Ended
	if c.SID != res.CallSID || c.Outcome != string(end.Reason) || c.Turns != end.Turns || c.Interruptions != end.Interruptions ||
		c.ToolCalls != end.ToolCalls || c.Interruptions < 1 || c.ToolCalls < 1 || !c.Recording || c.LatencyP50Ms <= 0 {
		t.Errorf("listed %+v; the call ended %+v", c, end)
	}

	var tl inspector.Timeline
	if err := json.Unmarshal(get("/api/calls/"+res.CallSID), &tl); err != nil {
		t.Fatal(err)
	}
	if len(tl.Tools) < 1 || tl.Tools[0].Name == "" || tl.Tools[0].EndMs == nil || tl.Tools[0].Output == "" {
		t.Errorf("tools %+v", tl.Tools)
	}
	var cut *inspector.Answer
	for i, a := range tl.Answers {
		if a.Cut {
			cut = &tl.Answers[i]
		}
	}
	if cut == nil {
		t.Fatalf("no answer cut off: %+v", tl.Answers)
	}
	if cut.HeardMs >= cut.SentMs || cut.Heard+cut.Unheard != cut.Text || cut.Unheard == "" || cut.EndMs < cut.StartMs {
		t.Errorf("cut answer %+v", *cut)
	}
	if len(tl.CallerSpeech) < 2 || tl.End == nil || tl.End.Reason != string(end.Reason) || len(tl.Latencies) != end.Turns {
		t.Errorf("speech %+v end %+v latencies %+v", tl.CallerSpeech, tl.End, tl.Latencies)
	}
	for i, s := range tl.CallerSpeech {
		if s.EndMs < s.StartMs || s.StartMs < 0 || s.EndMs > tl.DurationMs {
			t.Errorf("speech span %d: %+v (call %d ms)", i, s, tl.DurationMs)
		}
	}

	var frames struct{ Frames []inspector.Frame }
	if err := json.Unmarshal(get("/api/calls/"+res.CallSID+"/frames?debug=twilio"), &frames); err != nil || len(frames.Frames) == 0 {
		t.Fatalf("twilio frames: %d %v", len(frames.Frames), err)
	}
	for _, f := range frames.Frames {
		if f.NS != "callagent:twilio" {
			t.Fatalf("frame of %s with debug=twilio", f.NS)
		}
	}

	snd, err := audio.ReadWAV(get("/api/calls/" + res.CallSID + "/audio"))
	if err != nil || snd.DurationMs() <= 0 {
		t.Fatalf("recording: %v", err)
	}
	if d := int64(snd.DurationMs()); d < tl.DurationMs/2 || !strings.HasPrefix(c.SID, "CA") {
		t.Errorf("recording of %d ms for a call of %d ms", d, tl.DurationMs)
	}
}

// recorded is the offline call the tests read, made once per test binary:
// it takes seconds of real time, and the tests only read it.
var recorded struct {
	once           sync.Once
	dir            string
	logDir, recDir string
	res            *offlinecall.Result
	err            error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if recorded.dir != "" {
		os.RemoveAll(recorded.dir)
	}
	os.Exit(code)
}

// recordOfflineCall returns a real offline call (a tool call, then a
// barge-in), logged and recorded as dev does; the recording is
// RECDIR/CALLSID.wav. Callers must not change the directories.
func recordOfflineCall(t *testing.T) (logDir, recDir string, res *offlinecall.Result) {
	t.Helper()
	recorded.once.Do(func() {
		recorded.dir, recorded.err = os.MkdirTemp("", "inspector-offline-")
		if recorded.err == nil {
			recorded.logDir, recorded.recDir, recorded.res, recorded.err = recordCall(recorded.dir)
		}
	})
	if recorded.err != nil {
		t.Fatalf("recording the offline call: %v", recorded.err)
	}
	return recorded.logDir, recorded.recDir, recorded.res
}

func recordCall(dir string) (logDir, recDir string, res *offlinecall.Result, err error) {
	logDir, recDir = filepath.Join(dir, "logs"), filepath.Join(dir, "recordings")
	if err := os.MkdirAll(recDir, 0o700); err != nil {
		return "", "", nil, err
	}
	w := calllog.NewWriter(calllog.Options{Dir: logDir})
	rec := filepath.Join(recDir, "call.wav")
	// The demo's first two turns on a quick agent: no greeting, and a caller
	// who hangs up after the barge-in's answer (a few seconds of real time).
	cfg, err := agent.Parse("quick.yaml", []byte(`model: gpt-realtime
agents:
  - name: quick
    instructions: Be brief.
    greeting: false
tools:
  - builtin: weather
  - builtin: hang_up
`), func(string) string { return "" })
	if err != nil {
		return "", "", nil, err
	}
	sc := &offlinecall.Scenario{Name: "tool and barge-in", Turns: []offlinecall.Turn{
		{Say: "Weather in Paris?"},
		{Say: "Weather in London?", BargeInAfter: offlinecall.Duration(300 * time.Millisecond)},
		{Hangup: true},
	}}
	res, err = offlinecall.Run(context.Background(), offlinecall.Options{Agent: cfg, Scenario: sc, OnEvent: w.Event,
		RecordPath: rec, Debug: true, Brain: &offlinecall.Brain{Pace: 20 * time.Millisecond, ThinkTime: 50 * time.Millisecond}})
	if err != nil {
		return "", "", nil, err
	}
	if err := w.Close(); err != nil {
		return "", "", nil, err
	}
	if err := os.Rename(rec, filepath.Join(recDir, res.CallSID+".wav")); err != nil {
		return "", "", nil, err
	}
	return logDir, recDir, res, nil
}
