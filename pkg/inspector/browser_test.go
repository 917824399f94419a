package inspector_test

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/inspector"
)

// findChromium is the browser the test drives: $CALLAGENT_CHROMIUM, else the
// first of Debian's and others' names on the PATH.
func findChromium() string {
	if p := os.Getenv("CALLAGENT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifactsDir is where the screenshots go: $CALLAGENT_ARTIFACTS_DIR (CI sets
// .ci/artifacts), else a new temporary directory that outlives the test.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CALLAGENT_ARTIFACTS_DIR")
	if dir == "" {
		d, err := os.MkdirTemp("", "callagent-artifacts-")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A real browser opens the inspector on a simulated call with a tool call and
// a barge-in: the list links to the call, the call's timeline shows the tool
// and the cut answer with its heard and unheard parts, the <audio> plays to
// its end and lasts as long as the recording, and both pages are saved as
// screenshots (inspector-list.png, inspector-call.png, inspector-call-phone.png);
// the list fits 1280 px and the call page does not scroll sideways at phone
// width (390 px).
func TestFaultBrowserShowsTheCall(t *testing.T) {
	bin := chromium(t)
	logDir, recDir, res := recordOfflineCall(t)
	wav, err := os.ReadFile(filepath.Join(recDir, res.CallSID+".wav"))
	if err != nil {
		t.Fatal(err)
	}
	rate, chans, err := audio.ReadWAVChannels(wav)
	if err != nil || len(chans) != 2 {
		t.Fatalf("recording: %v, %d channels", err, len(chans))
	}
	wavMs := float64(len(chans[0])) * 1000 / float64(rate)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Listener.Close()
	srv.Listener = ln
	token, _ := inspector.NewToken()
	h, err := inspector.New(inspector.Options{LogDir: logDir, RecordDir: recDir, Token: token, Port: ln.Addr().(*net.TCPAddr).Port})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close() // after the browser is gone: its event stream is closed by then

	bctx, stop := startBrowser(t, bin, chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	defer stop()
	dir := artifactsDir(t)
	shot := func(name string) { t.Helper(); screenshot(t, bctx, dir, name) }
	waitFor := func(what, cond string) { t.Helper(); waitInPage(t, bctx, what, cond) }

	// The list, opened with the token as the banner prints it.
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/?token="+token)); err != nil {
		t.Fatal(err)
	}
	waitFor("the call in the list", `document.querySelector("#calls a")`)
	link, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#calls a").textContent`))
	if err != nil || link != res.CallSID {
		t.Fatalf("the list links %q (%v), want %s", link, err, res.CallSID)
	}
	if width, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || width > 1280 {
		t.Errorf("at 1280 px the list is %d px wide (%v)", width, err)
	}
	shot("inspector-list.png")

	// The call, opened by the list's link (followed with Navigate, which waits
	// for the new page: a click would leave the next query racing the load).
	href, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#calls a").href`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(href)); err != nil {
		t.Fatal(err)
	}
	waitFor("the call's timeline", `document.getElementById("track") && document.getElementById("track").dataset.ready === "1"`)
	type box struct {
		Text  string  `json:"text"`
		Width float64 `json:"width"`
	}
	var page struct {
		Tools   []box `json:"tools"`
		Heard   []box `json:"heard"`
		Unheard []box `json:"unheard"`
		Said    []box `json:"said"` // the transcript's unheard parts
	}
	js := `(function () {
	  const boxes = function (sel) { return Array.from(document.querySelectorAll(sel)).map(function (e) {
	    return { text: e.textContent, width: e.getBoundingClientRect().width }; }); };
	  return JSON.stringify({ tools: boxes("#lane-tools .tool"), heard: boxes("#lane-agent .answer.cut .heard"),
	    unheard: boxes("#lane-agent .answer.cut .unheard"), said: boxes("#transcript .unheard") });
	})()`
	out, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Tools) == 0 || page.Tools[0].Text == "" || page.Tools[0].Width < 2 {
		t.Errorf("no tool call on the timeline: %s", out)
	}
	if len(page.Heard) == 0 || len(page.Unheard) == 0 || page.Heard[0].Width <= 0 || page.Unheard[0].Width <= 0 {
		t.Errorf("no answer split into heard and unheard on the timeline: %s", out)
	}
	if len(page.Said) == 0 || strings.TrimSpace(page.Said[0].Text) == "" {
		t.Errorf("the transcript does not show what was not heard: %s", out)
	}

	// The recording plays to its end (16 times as fast) and lasts as long as
	// the WAV says; the playhead follows it.
	play := `new Promise(function (ok, fail) {
	  const p = document.getElementById("player");
	  const go = function () {
	    p.addEventListener("ended", function () { ok(JSON.stringify({ duration: p.duration, at: p.currentTime,
	      head: document.getElementById("playhead").style.left })); }, { once: true });
	    p.addEventListener("error", function () { fail(new Error("audio error " + (p.error && p.error.code))); }, { once: true });
	    p.playbackRate = 16;
	    p.play().catch(fail);
	  };
	  if (p.readyState >= 1) go(); else p.addEventListener("loadedmetadata", go, { once: true });
	})`
	out, err = chromedp.Run(bctx, chromedp.Evaluate[string](play, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("playing the recording: %v", err)
	}
	var played struct {
		Duration, At float64
		Head         string
	}
	if err := json.Unmarshal([]byte(out), &played); err != nil {
		t.Fatal(err)
	}
	if d := played.Duration * 1000; math.Abs(d-wavMs) > 50 || math.Abs(played.At*1000-wavMs) > 50 {
		t.Errorf("the <audio> lasted %.0f ms and ended at %.0f ms; the recording is %.0f ms", d, played.At*1000, wavMs)
	}
	if played.Head == "" || played.Head == "0%" || played.Head == "0px" {
		t.Errorf("the playhead did not move: left %q", played.Head)
	}
	// Back to the middle of the cut answer for the picture.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(function () {
	  const p = document.getElementById("player"); p.currentTime = p.duration / 2;
	  document.querySelector("#lane-agent .answer.cut").scrollIntoView(); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	waitFor("the playhead to follow a seek", `document.getElementById("playhead").style.left !== "`+played.Head+`"`)
	shot("inspector-call.png")

	// At phone width the page does not scroll sideways: the timeline scrolls
	// inside its own box.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil || width > 390 {
		t.Errorf("at 390 px the call page is %d px wide (%v)", width, err)
	}
	shot("inspector-call-phone.png")
}

// chromium returns the browser the tests drive; without one the test is skipped,
// or fails when CALLAGENT_REQUIRE_BROWSER is set (CI).
func chromium(t *testing.T) string {
	t.Helper()
	bin := findChromium()
	if bin == "" {
		if os.Getenv("CALLAGENT_REQUIRE_BROWSER") != "" {
			t.Fatal("CALLAGENT_REQUIRE_BROWSER is set but no Chromium was found (chromium, chromium-browser, google-chrome on the PATH, or CALLAGENT_CHROMIUM): apt-get install chromium")
		}
		t.Skip("no Chromium on the PATH (apt-get install chromium, or set CALLAGENT_CHROMIUM); CALLAGENT_REQUIRE_BROWSER=1 makes this a failure")
	}
	return bin
}

// startBrowser starts headless Chromium (1280×800, nothing fetched but the
// test's pages) and returns a tab's context, bounded by a minute, and the stop
// that ends the browser: deferred before the inspector's server closes, so no
// request of the page is left open.
func startBrowser(t *testing.T, bin string, extra ...chromedp.ExecAllocatorOption) (context.Context, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("mute-audio", true)}, extra...)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	return bctx, func() { bcancel(); acancel(); cancel() }
}

// screenshot saves the whole page as dir/name.
func screenshot(t *testing.T, bctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d KB)", p, len(png)/1024)
}

// waitInPage polls a condition in the page, bounded by the context.
func waitInPage(t *testing.T, bctx context.Context, what, cond string) {
	t.Helper()
	js := `new Promise(function (ok) { (function poll() { if (` + cond + `) ok(true); else setTimeout(poll, 50); })(); })`
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
