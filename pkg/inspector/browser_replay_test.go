package inspector_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/callagent/callagent/pkg/inspector"
)

// copyTree copies the call logs of src into dst (the replays kept beside a
// call's log must not reach the other tests' shared copy).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A real browser opens a simulated call: its Agent config panel shows the
// agent's name and a tool; a click on Replay shows the replay's outcome (here
// a replay that no longer calls the weather tool: "Changed", the expected and
// the actual tool calls, the changed agent config), and after a reload the
// replay is in the call's past replays. Screenshots: inspector-replay.png,
// inspector-replay-phone.png.
func TestFaultBrowserReplayShowsWhatChanged(t *testing.T) {
	bin := chromium(t)
	shared, recDir, res := recordOfflineCall(t)
	logDir := t.TempDir()
	copyTree(t, shared, logDir)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Listener.Close()
	srv.Listener = ln
	token, _ := inspector.NewToken()
	var replays atomic.Int32
	h, err := inspector.New(inspector.Options{LogDir: logDir, RecordDir: recDir, Token: token, Port: ln.Addr().(*net.TCPAddr).Port,
		Replay: func(ctx context.Context, sid string) (inspector.ReplayResult, error) {
			replays.Add(1)
			if sid != res.CallSID {
				t.Errorf("replayed %s, want %s", sid, res.CallSID)
			}
			// From JSON, as a replay's answer is read: the test compiles
			// against an inspector without the configuration's fields.
			var r inspector.ReplayResult
			err := json.Unmarshal([]byte(`{"passed":false,"call_sid":"CAreplay0001",
			  "failures":["expected the tool calls, in order: weather, weather; the call made: none"],
			  "expected_tools":["weather","weather"],"actual_tools":[],
			  "expected_ending":"caller_hangup","actual_ending":"caller_hangup",
			  "config_hash":"aaaaaaaaaaaa","replay_config_hash":"bbbbbbbbbbbb","config_changed":true}`), &r)
			return r, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()

	bctx, stop := startBrowser(t, bin)
	defer stop()
	dir := artifactsDir(t)
	shot := func(name string) { t.Helper(); screenshot(t, bctx, dir, name) }
	waitFor := func(what, cond string) { t.Helper(); waitInPage(t, bctx, what, cond) }
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll(`+jsString(sel)+`)).map(function (e) { return e.textContent; }).join("\n")`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	open := func() {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/call.html?sid="+res.CallSID+"&token="+token)); err != nil {
			t.Fatal(err)
		}
		waitFor("the call's timeline", `document.getElementById("track") && document.getElementById("track").dataset.ready === "1"`)
	}
	open()

	// The agent configuration: collapsed, with the agent and its tools inside.
	if brief := text("#config-brief"); !strings.Contains(brief, "quick") || !strings.Contains(brief, "gpt-realtime") {
		t.Errorf("the Agent config panel's summary: %q", brief)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector("#config summary").click(), true`)); err != nil {
		t.Fatal(err)
	}
	waitFor("the panel to open", `document.getElementById("config").open`)
	if body := text("#config-body"); !strings.Contains(body, "quick") || !strings.Contains(text("#config-body .cfg-tool"), "weather (builtin)") {
		t.Errorf("the Agent config panel shows no agent name or weather tool:\n%s", body)
	}

	// Replay: a click, and the outcome appears.
	waitFor("the Replay button", `!document.getElementById("replay").hidden`)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById("replay-run").click(), true`)); err != nil {
		t.Fatal(err)
	}
	waitFor("the replay's result", `document.getElementById("replay-result").dataset.done === "1"`)
	status, result := text("#replay-status"), text("#replay-result li")
	if !strings.Contains(status, "Changed") || !strings.Contains(status, "CAreplay0001") {
		t.Errorf("the replay's status: %q", status)
	}
	for _, want := range []string{"tool calls: expected weather, weather; now none", "agent config: changed", "✗ expected the tool calls"} {
		if !strings.Contains(result, want) {
			t.Errorf("the replay's result lacks %q:\n%s", want, result)
		}
	}
	if replays.Load() != 1 {
		t.Errorf("%d replays ran, want 1", replays.Load())
	}
	waitFor("the past replays", `!document.getElementById("replays").hidden`)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById("replay").scrollIntoView(), true`)); err != nil {
		t.Fatal(err)
	}
	shot("inspector-replay.png")

	// After a reload the replay is still listed with the call.
	open()
	waitFor("the past replays after a reload", `!document.getElementById("replays").hidden`)
	if past := text("#replay-list .past-replay"); !strings.Contains(past, "changed (replay CAreplay0001)") ||
		!strings.Contains(past, "now none") {
		t.Errorf("the past replays after a reload:\n%s", past)
	}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	if width, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || width > 390 {
		t.Errorf("at 390 px the call page is %d px wide (%v)", width, err)
	}
	shot("inspector-replay-phone.png")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
