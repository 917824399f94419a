package inspector_test

import (
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callagent/callagent/pkg/inspector"
)

// openBound is how long the call page of a 10-minute call may take to draw
// before the test fails: generous, as CI is two noisy cores and timing is the
// benchmarks' to check (BenchmarkCallJSON10MinCall, BenchmarkPeaks10MinCall);
// issue 17 asks for under a second, which the log line reports. Under the
// race detector the server's side is several times slower: four times the bound.
const openBound = 5 * time.Second

func bound() time.Duration {
	if raceDetector {
		return 4 * openBound
	}
	return openBound
}

// A real browser opens the page of a synthetic 10-minute call (its log as dev
// writes it, 30 000 debug frames included, and its stereo recording): the time
// from the navigation to the timeline, the latency bars and the waveform all
// drawn (the page sets data-drawn and the performance.now() it was done at) is
// logged, first opening and reload, and the page is saved as
// inspector-call-10min.png.
func TestBrowserOpensATenMinuteCall(t *testing.T) {
	bin := chromium(t)
	logDir, recDir := t.TempDir(), t.TempDir()
	sid, _, lines := inspector.WriteLongCall(t, logDir, recDir, 600_000)

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
	defer srv.Close()

	bctx, stop := startBrowser(t, bin)
	defer stop()

	// The token's cookie, from a small file (not the list: reading the list
	// computes its newest calls ahead, and the first opening below is the cold one).
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/app.css?token="+token)); err != nil {
		t.Fatal(err)
	}
	open := func(what string) (page, wall time.Duration) {
		t.Helper()
		t0 := time.Now()
		if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/call.html?sid="+sid)); err != nil {
			t.Fatal(err)
		}
		js := `new Promise(function (ok) { (function poll() {
		  const tr = document.getElementById("track");
		  if (tr && tr.dataset.drawn === "1") ok(tr.dataset.drawnMs); else setTimeout(poll, 10); })(); })`
		ms, err := chromedp.Run(bctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("waiting for the %s to be drawn: %v", what, err)
		}
		wall = time.Since(t0)
		if res, err := chromedp.Run(bctx, chromedp.Evaluate[string](`JSON.stringify(performance.getEntriesByType("resource").map(function (e) { return [e.name.replace(location.origin, ""), Math.round(e.startTime), Math.round(e.responseEnd)]; }))`)); err == nil {
			t.Logf("%s: requests (start, end ms): %s", what, res)
		}
		n, err := strconv.Atoi(ms)
		if err != nil {
			t.Fatalf("data-drawn-ms %q: %v", ms, err)
		}
		return time.Duration(n) * time.Millisecond, wall
	}
	fi, err := os.Stat(filepath.Join(recDir, sid+".wav"))
	if err != nil {
		t.Fatal(err)
	}
	page, wall := open("first opening")
	t.Logf("10-minute call (%d log lines, %.1f MB of stereo WAV): drawn %s after the navigation (performance.now), %s as the test saw it",
		lines, float64(fi.Size())/1e6, page, wall.Round(time.Millisecond))
	reload, reloadWall := open("reload")
	t.Logf("reloaded (timeline and peaks cached): drawn %s after the navigation, %s as the test saw it", reload, reloadWall.Round(time.Millisecond))

	// The way a user comes to a call: the list first (the banner's URL), which
	// computes the newest ended calls ahead while the user reads it, then a click.
	inspector.ResetCaches()
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`new Promise(function (ok) { (function poll() {
	  if (document.querySelector("a[href*='`+sid+`']")) ok(true); else setTimeout(poll, 10); })(); })`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("the list did not show the call: %v", err)
	}
	h.Wait() // the user reads the list meanwhile
	listed, listedWall := open("from the list")
	t.Logf("opened from the list (computed ahead while the list was read): drawn %s after the navigation, %s as the test saw it", listed, listedWall.Round(time.Millisecond))

	// What was drawn: every turn's latency bar with its parts, and the waveform.
	got, err := chromedp.Run(bctx, chromedp.Evaluate[[]int](`[
	  document.querySelectorAll("#lane-events .latbar").length,
	  document.querySelectorAll("#latencies .latbar .part").length,
	  document.getElementById("wave-caller").width,
	  document.getElementById("wave-agent").width]`))
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 100 || got[1] != 100*6 || got[2] == 0 || got[3] == 0 {
		t.Errorf("drawn: %d latency bars on the axis, %d parts in the list (want 100 and 600), waveforms %d and %d px", got[0], got[1], got[2], got[3])
	}
	if label, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#latencies .latbar .part").textContent`)); err != nil || label != "endpointing 550 ms" {
		t.Errorf("the first part is labeled %q (%v), want %q", label, err, "endpointing 550 ms")
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById("latencies").scrollIntoView(), true`)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(artifactsDir(t), "inspector-call-10min.png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	if page > bound() {
		t.Errorf("the 10-minute call took %s to draw, more than %s", page, bound())
	}
	// The recording's download started after the drawing: stop it before the
	// server closes.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
}
