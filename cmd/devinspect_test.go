package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
)

var inspectRow = regexp.MustCompile(`Inspect\s+(http://127\.0\.0\.1:\d+)/\?token=([0-9a-f]+)`)

// inspectURL is the inspector's base URL and token from dev's banner.
func (h *devHarness) inspectURL() (base, token string) {
	h.t.Helper()
	m := inspectRow.FindStringSubmatch(h.errOut.String())
	if m == nil {
		h.t.Fatalf("no Inspect row in the banner:\n%s", h.errOut.String())
	}
	return m[1], m[2]
}

// dev serves the inspector live: the banner's URL and its token open it (the
// cookie flow), nothing without the token; an events client connected before a
// call hears its start and end; the call is in /api/calls once logged; the
// token is in neither the call log nor dev --json's output.
func TestDevInspectorLive(t *testing.T) {
	leakcheck.Check(t)
	h := newDevHarness(t)
	h.start("--json")
	base, token := h.inspectURL()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	get := func(c *http.Client, url string, auth bool) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	plain := &http.Client{Transport: tr}
	res := get(plain, base+"/api/calls", false)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: HTTP %d", res.StatusCode)
	}
	// The browser's way: the banner's URL sets the cookie, then the API answers.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: tr, Jar: jar}
	res = get(browser, base+"/?token="+token, false)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.RawQuery != "" {
		t.Fatalf("the banner's URL: HTTP %d at %s", res.StatusCode, res.Request.URL)
	}
	res = get(browser, base+"/api/calls", false)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("with the cookie: HTTP %d", res.StatusCode)
	}

	// An events client connected before the call.
	events := get(plain, base+"/api/events", true)
	defer events.Body.Close()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(events.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	if l := <-lines; !strings.HasPrefix(l, ":") {
		t.Fatalf("events stream opens with %q", l)
	}
	const sid = "CA00000000000000000000000000000017"
	// next waits for the events stream to say change about the call.
	next := func(change string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("events stream ended before %s", change)
				}
				var c struct{ Type, SID string }
				if d, ok := strings.CutPrefix(l, "data: "); ok && json.Unmarshal([]byte(d), &c) == nil && c.SID == sid && c.Type == change {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %s on the events stream", change)
			}
		}
	}
	// listed waits for /api/calls to list the call with an outcome that is, or
	// is not, in_progress.
	listed := func(inProgress bool) {
		t.Helper()
		for {
			res := get(plain, base+"/api/calls", true)
			var list struct {
				Calls []struct{ SID, Outcome string } `json:"calls"`
			}
			err := json.NewDecoder(res.Body).Decode(&list)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Calls) == 1 && list.Calls[0].SID == sid && (list.Calls[0].Outcome == "in_progress") == inProgress {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("calls (in progress %v): %+v", inProgress, list)
			}
			time.Sleep(20 * time.Millisecond) // the call log is written by its own goroutine
		}
	}
	caller := h.place(ctx, sid)
	defer caller.Close()
	select {
	case <-h.updates:
	case <-ctx.Done():
		t.Fatal("no session.update")
	}
	// While the call is in progress.
	next("call.started")
	listed(true)
	caller.Hangup()
	next("call.ended")
	listed(false)
	h.waitOut(`"type":"call.ended"`)
	h.stop()
	events.Body.Close()
	for range lines {
	}

	if strings.Contains(h.out.String(), token) {
		t.Error("the inspector's token is in dev --json's output")
	}
	logs := 0
	filepath.WalkDir(filepath.Join(h.env["CALLAGENT_STATE_DIR"], "calls"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			logs++
			if b, _ := os.ReadFile(p); strings.Contains(string(b), token) {
				t.Errorf("the inspector's token is in the call log %s", p)
			}
		}
		return nil
	})
	if logs == 0 {
		t.Error("no call log was written")
	}
}

// --inspect-addr off: no Inspect row, and the port the inspector would take
// stays closed.
func TestDevInspectorOff(t *testing.T) {
	leakcheck.Check(t)
	ln, err := listenInspector(context.Background(), "")
	if err != nil {
		t.Skipf("no free port from %d on this machine: %v", inspectFirstPort, err)
	}
	free := ln.Addr().String()
	ln.Close()
	h := newDevHarness(t)
	h.start("--inspect-addr", "off")
	if strings.Contains(h.errOut.String(), "  Inspect ") {
		t.Errorf("an Inspect row with --inspect-addr off:\n%s", h.errOut.String())
	}
	if c, err := net.DialTimeout("tcp", free, time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on %s with --inspect-addr off", free)
	}
	h.stop()
}

// Every port from 4040 taken: dev warns that it runs without the inspector,
// and calls go on.
func TestFaultDevInspectorPortsTaken(t *testing.T) {
	leakcheck.Check(t)
	for p := inspectFirstPort; p < inspectFirstPort+inspectPorts; p++ {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			t.Cleanup(func() { l.Close() })
		}
	}
	h := newDevHarness(t)
	h.start()
	h.waitErr(fmt.Sprintf("no call inspector: no free port from %d to %d", inspectFirstPort, inspectFirstPort+inspectPorts-1))
	if strings.Contains(h.errOut.String(), "  Inspect ") {
		t.Errorf("an Inspect row without an inspector:\n%s", h.errOut.String())
	}
	h.call("CA00000000000000000000000000000018")
	h.stop()
}

func TestDevInspectAddrOption(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "k", "TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken, "NGROK_AUTHTOKEN": "n"}
	for _, tc := range []struct {
		args            []string
		want, wantError string
	}{
		{want: "auto"},
		{args: []string{"--inspect-addr", "off"}, want: "off"},
		{args: []string{"--inspect-addr", "localhost:5050"}, want: "localhost:5050"},
		{args: []string{"--inspect-addr", "[::1]:0"}, want: "[::1]:0"},
		{args: []string{"--inspect-addr", "192.0.2.1:4040"}, wantError: "not a loopback address"},
		{args: []string{"--inspect-addr", ":4040"}, wantError: "every interface"},
		{args: []string{"--inspect-addr", "127.0.0.1"}, wantError: "missing port"},
		{args: []string{"--inspect-addr", "on"}, wantError: "missing port"},
	} {
		got, err := parseDev(t, env, tc.args...)
		switch {
		case tc.wantError != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantError) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantError)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case got.InspectAddr != tc.want:
			t.Errorf("%v: %q", tc.args, got.InspectAddr)
		}
	}
	if _, err := parseDev(t, env, "--insecure-remote"); err == nil {
		t.Error("dev accepts --insecure-remote")
	}
}
