package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/ngroktest"
	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/offlinecall"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// Tests of callagent dev as a user runs it: the built binary, a fake Twilio REST
// API and a simulated Realtime model on loopback, the real twilio-go client and
// server inside.

const (
	devAccount = "AC00000000000000000000000000000001"
	devToken   = "0123456789abcdef0123456789abcdef"
)

var devNumber = twiliorestest.PhoneNumber{SID: "PN1", PhoneNumber: "+14155550100", FriendlyName: "Main line",
	VoiceURL: "https://demo.twilio.com/welcome/voice/", VoiceMethod: "GET",
	VoiceFallbackURL: "https://example.com/fallback", VoiceFallbackMethod: "POST"}

type devEnv struct {
	t        *testing.T
	bin      string
	api      *twiliorestest.API
	apiURL   string
	modelURL string
	dir      string // working directory
	state    string // CALLAGENT_STATE_DIR
	extra    []string
}

func newDevEnv(t *testing.T) *devEnv {
	t.Helper()
	e := &devEnv{t: t, bin: buildBinary(t), api: &twiliorestest.API{AccountSID: devAccount, AuthToken: devToken},
		dir: t.TempDir(), state: t.TempDir()}
	e.api.AddNumber(devNumber)
	apiSrv := httptest.NewServer(e.api)
	t.Cleanup(apiSrv.Close)
	e.apiURL = apiSrv.URL
	model := (&offlinecall.Brain{}).Model()
	modelSrv := httptest.NewServer(model)
	t.Cleanup(func() {
		modelSrv.CloseClientConnections()
		modelSrv.Close()
		model.Close()
	})
	e.modelURL = modelSrv.URL + "/v1"
	return e
}

func (e *devEnv) environ() []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir,
		"OPENAI_API_KEY=sk-test", "OPENAI_BASE_URL=" + e.modelURL,
		"TWILIO_ACCOUNT_SID=" + devAccount, "TWILIO_AUTH_TOKEN=" + devToken,
		"CALLAGENT_TWILIO_API_URL=" + e.apiURL, "CALLAGENT_STATE_DIR=" + e.state,
	}, e.extra...)
}

// freeAddr returns a loopback address nobody listens on (for --addr with a
// --public-url that must name the port in advance).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type devProc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr *syncbuf.Buffer
	done           chan struct{}
	err            error
}

// run starts callagent with args in the environment.
func (e *devEnv) run(args ...string) *devProc {
	e.t.Helper()
	p := &devProc{t: e.t, cmd: exec.Command(e.bin, args...), stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = e.dir, e.environ()
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	e.t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitFor waits until the stream holds s.
func (p *devProc) waitFor(stream *syncbuf.Buffer, s string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(stream.String(), s) {
		select {
		case <-p.done:
			p.t.Fatalf("exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", p.err, s, p.stdout.String(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %q after %v\nstdout:\n%s\nstderr:\n%s", s, timeout, p.stdout.String(), p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exit waits for the process and returns its exit code.
func (p *devProc) exit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		p.t.Fatalf("did not exit within %v\nstdout:\n%s\nstderr:\n%s", timeout, p.stdout.String(), p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

// marked reports whether voiceURL is webhook with the mark of a callagent dev.
func marked(voiceURL, webhook string) bool {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(webhook) + `\?callagent_dev=[0-9a-f]{12}$`).MatchString(voiceURL)
}

func (e *devEnv) checkRestored() {
	e.t.Helper()
	if got := e.api.Number("PN1"); got != devNumber {
		e.t.Fatalf("number not restored:\n got %+v\nwant %+v", got, devNumber)
	}
	entries, _ := os.ReadDir(filepath.Join(e.state, "numbers"))
	for _, en := range entries {
		e.t.Errorf("state left behind: %s", en.Name())
	}
}

// startDev runs dev with --public-url on a free loopback port and waits until it
// is ready; it returns the process and the address.
func (e *devEnv) startDev(args ...string) (*devProc, string) {
	e.t.Helper()
	addr := freeAddr(e.t)
	p := e.run(append([]string{"dev", "--insecure-http-public-url", "--public-url", "http://" + addr, "--addr", addr}, args...)...)
	p.waitFor(p.stderr, "Ready.", 20*time.Second)
	return p, addr
}

// placeCall rings the dev server as Twilio would and plays the default scenario:
// a greeting, a question with a tool call, a barge-in, goodbye.
func placeCall(t *testing.T, webhook, callSID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	caller, err := twiliotest.PlaceCall(ctx, twiliotest.CallOptions{Webhook: webhook, AuthToken: devToken, CallSID: callSID, AllowInsecureStream: true,
		AccountSID: devAccount, From: "+15550100001", To: devNumber.PhoneNumber})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	if err := (&offlinecall.Runner{Caller: caller}).Run(ctx, offlinecall.DefaultScenario()); err != nil {
		t.Fatalf("scenario: %v", err)
	}
}

// dev with --public-url: the number is pointed at it, a call is served and shown
// as a transcript, and Ctrl-C (SIGINT) puts the number back exactly.
func TestDevCallAndRestoreOnSIGINT(t *testing.T) {
	e := newDevEnv(t)
	addr := freeAddr(t)
	p := e.run("dev", "--insecure-http-public-url", "--public-url", "http://"+addr, "--addr", addr)
	p.waitFor(p.stderr, "Ready. Call +14155550100", 20*time.Second)

	webhook := "http://" + addr + "/incoming-call"
	got := e.api.Number("PN1")
	if !marked(got.VoiceURL, webhook) || got.VoiceMethod != "POST" || got.VoiceFallbackURL != devNumber.VoiceFallbackURL {
		t.Fatalf("number while dev runs: %+v", got)
	}
	data, err := os.ReadFile(filepath.Join(e.state, "numbers", "PN1.json"))
	if err != nil || !strings.Contains(string(data), devNumber.VoiceURL) {
		t.Fatalf("saved state: %s %v", data, err)
	}

	// Twilio calls the voice URL as set, dev's mark included, and signs all of it.
	placeCall(t, got.VoiceURL, "CA00000000000000000000000000000042")
	p.waitFor(p.stdout, "● call ended", 20*time.Second)
	out := p.stdout.String()
	for _, want := range []string{"● call CA00000000000000000000000000000042 from +15550100001", "\ncaller  ", "\nagent   ",
		"tool    weather", "✂ caller barged in", "⏱ answered in"} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("piped transcript has escape codes:\n%q", out)
	}

	// The call is in the log, frames included: another terminal can read it.
	list := e.run("logs")
	if code := list.exit(20 * time.Second); code != 0 || !strings.Contains(list.stdout.String(), "CA00000000000000000000000000000042") ||
		!strings.Contains(list.stdout.String(), "the agent hung up") {
		t.Errorf("logs: exit %d\n%s\n%s", code, list.stdout.String(), list.stderr.String())
	}
	show := e.run("logs", "CA000000000000000000000000000000", "--debug", "twilio")
	if code := show.exit(20 * time.Second); code != 0 || !strings.Contains(show.stdout.String(), "twilio ← start") ||
		!strings.Contains(show.stdout.String(), "tool    weather") {
		t.Errorf("logs CALLSID: exit %d\n%s\n%s", code, show.stdout.String(), show.stderr.String())
	}

	p.cmd.Process.Signal(os.Interrupt)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s", code, p.stderr.String())
	}
	e.checkRestored()
	errOut := p.stderr.String()
	for _, want := range []string{"✓ Using +14155550100", "✓ Listening on " + addr, "✓ +14155550100 → " + webhook,
		"✓ +14155550100 goes to GET https://demo.twilio.com/welcome/voice/ again"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out+errOut, devToken) {
		t.Error("the auth token was printed")
	}
}

func TestDevRestoresOnSIGTERM(t *testing.T) {
	e := newDevEnv(t)
	p, _ := e.startDev()
	if e.api.Number("PN1") == devNumber {
		t.Fatal("number not pointed")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, p.stderr.String())
	}
	e.checkRestored()
}

// A dev killed outright (SIGKILL: no chance to clean up) leaves the saved state;
// numbers shows it, and the next dev puts the number back before using it.
func TestDevRecoversAfterCrash(t *testing.T) {
	e := newDevEnv(t)
	p, addr := e.startDev()
	p.cmd.Process.Kill()
	p.exit(10 * time.Second)
	if got := e.api.Number("PN1"); !marked(got.VoiceURL, "http://"+addr+"/incoming-call") {
		t.Fatalf("after the crash: %+v", got)
	}

	list := e.run("numbers")
	if code := list.exit(20 * time.Second); code != 0 || !strings.Contains(list.stdout.String(), "left by a stopped dev") {
		t.Fatalf("numbers after the crash: exit %d\n%s\n%s", code, list.stdout.String(), list.stderr.String())
	}

	p2, _ := e.startDev()
	errOut := p2.stderr.String()
	if !strings.Contains(errOut, "Put +14155550100 back (GET https://demo.twilio.com/welcome/voice/): a previous dev did not stop cleanly") {
		t.Errorf("the recovery is not reported:\n%s", errOut)
	}
	// The second session saved the original settings, not the crashed one's URL.
	data, _ := os.ReadFile(filepath.Join(e.state, "numbers", "PN1.json"))
	if !strings.Contains(string(data), devNumber.VoiceURL) || strings.Contains(string(data), `"voice_url": "http://`+addr) {
		t.Errorf("state of the second session: %s", data)
	}
	p2.cmd.Process.Signal(os.Interrupt)
	if code := p2.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	e.checkRestored()
}

func TestNumbersRestore(t *testing.T) {
	e := newDevEnv(t)
	p, _ := e.startDev()
	list := e.run("numbers", "--json")
	list.exit(20 * time.Second)
	if out := list.stdout.String(); !strings.Contains(out, `"callagent": "dev (pid `) || !strings.Contains(out, `"phone_number": "+14155550100"`) {
		t.Fatalf("numbers --json while dev runs:\n%s\n%s", out, list.stderr.String())
	}
	p.cmd.Process.Kill()
	p.exit(10 * time.Second)
	r := e.run("numbers", "--restore")
	if code := r.exit(20 * time.Second); code != 0 || !strings.Contains(r.stderr.String(), "+14155550100 goes to GET https://demo.twilio.com/welcome/voice/ again") {
		t.Fatalf("numbers --restore: exit %d\n%s", code, r.stderr.String())
	}
	e.checkRestored()
}

// Every failure of Twilio's API stops dev with the reason, and the number is as
// it was.
func TestDevRESTFailuresLeaveTheNumber(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fail   string
		status int
		lose   bool // the change is made, its answer lost
		args   []string
		want   string
	}{
		{"401 listing", "IncomingPhoneNumbers.json", 401, false, nil, "Twilio rejected the credentials (HTTP 401)"},
		{"400 pointing", "IncomingPhoneNumbers/PN1.json", 400, false, nil, "the number was not changed"},
		{"502 after pointing", "IncomingPhoneNumbers/PN1.json", 502, true, nil, "Twilio had made the change after all: the number is put back"},
		{"unknown number", "", 0, false, []string{"--number", "+14155550199"}, "+14155550199 is not a number of this account"},
		{"404 pointing", "IncomingPhoneNumbers/PN1.json", 404, false, nil, "not found on Twilio (HTTP 404)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			switch {
			case tc.lose:
				e.api.LoseNextAnswer(tc.fail, tc.status)
				e.api.FailNext(http.MethodPost, tc.fail, tc.status, 2) // and the two retries fail
			case tc.fail != "":
				e.api.Fail(tc.fail, tc.status)
			}
			addr := freeAddr(t)
			p := e.run(append([]string{"dev", "--insecure-http-public-url", "--public-url", "http://" + addr, "--addr", addr}, tc.args...)...)
			if code := p.exit(30 * time.Second); code != 1 {
				t.Fatalf("exit %d\n%s", code, p.stderr.String())
			}
			if !strings.Contains(p.stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, p.stderr.String())
			}
			e.checkRestored()
		})
	}
}

// Missing settings are usage errors (exit 2) that say what to set, before anything
// is touched.
func TestDevUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop string // variable removed from the environment
		args []string
		want string
	}{
		{"no ngrok token", "", nil, "NGROK_AUTHTOKEN is not set"},
		{"no OpenAI key", "OPENAI_API_KEY", []string{"--public-url", "https://x.example"}, "OPENAI_API_KEY is not set"},
		{"no Twilio SID", "TWILIO_ACCOUNT_SID", []string{"--public-url", "https://x.example"}, "TWILIO_ACCOUNT_SID is not set"},
		{"bad number", "", []string{"--public-url", "https://x.example", "--number", "415 555 0100"}, "E.164"},
		{"bad debug", "", []string{"--public-url", "https://x.example", "--debug", "twillio"}, "unknown namespace"},
		{"domain with public url", "", []string{"--public-url", "https://x.example", "--domain", "a.ngrok.app"}, "--domain is an ngrok domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			var env []string
			for _, kv := range e.environ() {
				if tc.drop == "" || !strings.HasPrefix(kv, tc.drop+"=") {
					env = append(env, kv)
				}
			}
			cmd := exec.Command(e.bin, append([]string{"dev"}, tc.args...)...)
			cmd.Dir, cmd.Env = e.dir, env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("err %v\n%s", err, stderr.String())
			}
			if len(e.api.Requests()) != 0 {
				t.Errorf("Twilio was called: %+v", e.api.Requests())
			}
		})
	}
}

// dev through ngrok: the real ngrok client against a fake edge. The number points
// at the tunnel, a signed webhook arrives through it, Ctrl-C restores.
func TestDevNgrok(t *testing.T) {
	e := newDevEnv(t)
	edge := e.ngrokEdge("ngrok-token-0123456789", "ngrok-token-0123456789")
	p := e.run("dev", "--domain", "agent.ngrok.test")
	p.waitFor(p.stderr, "Ready.", 30*time.Second)
	if !strings.Contains(p.stderr.String(), "Tunnel open: https://agent.ngrok.test") {
		t.Errorf("stderr:\n%s", p.stderr.String())
	}
	webhook := "https://agent.ngrok.test/incoming-call"
	if got := e.api.Number("PN1"); !marked(got.VoiceURL, webhook) {
		t.Fatalf("number points at %s", got.VoiceURL)
	}
	// Twilio's webhook, signed over the public URL, through the edge.
	form := "AccountSid=" + devAccount + "&CallSid=CA1&From=%2B15550100001&To=%2B14155550100"
	vals := map[string][]string{"AccountSid": {devAccount}, "CallSid": {"CA1"}, "From": {"+15550100001"}, "To": {"+14155550100"}}
	req, _ := http.NewRequest(http.MethodPost, ngroktest.PlainURL(webhook), strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(devToken, webhook, vals))
	resp, err := edge.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `url="wss://agent.ngrok.test/media-stream"`) {
		t.Fatalf("webhook through the tunnel: %d %s", resp.StatusCode, body)
	}
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.stderr.String())
	}
	e.checkRestored()
	if edge.Sessions() != 0 {
		t.Error("the ngrok session is still open")
	}
}

// ngrokEdge starts a fake ngrok edge that accepts token and points dev at it with
// NGROK_AUTHTOKEN=use.
func (e *devEnv) ngrokEdge(token, use string) *ngroktest.Edge {
	e.t.Helper()
	edge, err := ngroktest.Start(token)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(edge.Close)
	ca := filepath.Join(e.t.TempDir(), "ca.pem")
	os.WriteFile(ca, edge.CAPEM, 0o600)
	e.extra = append(e.extra, "NGROK_AUTHTOKEN="+use, "CALLAGENT_NGROK_CONNECT_URL="+edge.Addr, "CALLAGENT_NGROK_CA="+ca)
	return edge
}

// A rejected ngrok token stops dev with ngrok's reason and the fix, without the
// token, before the number is touched.
func TestDevNgrokBadToken(t *testing.T) {
	e := newDevEnv(t)
	e.ngrokEdge("the-right-token", "wrong-token-abcdef")
	p := e.run("dev")
	if code := p.exit(30 * time.Second); code != 1 {
		t.Fatalf("exit %d\n%s", code, p.stderr.String())
	}
	errOut := p.stderr.String()
	for _, want := range []string{"✗ Opening an ngrok tunnel", "authtoken was rejected", "ERR_NGROK_105", "NGROK_AUTHTOKEN"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "wrong-token-abcdef") {
		t.Errorf("the token was printed:\n%s", errOut)
	}
	e.checkRestored()
}

// call places an outbound call through the running dev: from its number, to the
// phone, answered by its webhook.
func TestCallThroughRunningDev(t *testing.T) {
	e := newDevEnv(t)
	p, addr := e.startDev()
	c := e.run("call", "+15551234567")
	if code := c.exit(20 * time.Second); code != 0 {
		t.Fatalf("call: exit %d\n%s", code, c.stderr.String())
	}
	sid := strings.TrimSpace(c.stdout.String())
	if !strings.HasPrefix(sid, "CA") {
		t.Fatalf("call SID %q", sid)
	}
	var placed url.Values
	for _, r := range e.api.Requests() {
		if strings.HasSuffix(r.Path, "/Calls.json") && r.Method == http.MethodPost {
			placed = r.Form
		}
	}
	if placed.Get("To") != "+15551234567" || placed.Get("From") != devNumber.PhoneNumber ||
		!marked(placed.Get("Url"), "http://"+addr+"/incoming-call") || placed.Get("Method") != "POST" {
		t.Fatalf("call placed as %v", placed)
	}
	p.cmd.Process.Signal(os.Interrupt)
	p.exit(30 * time.Second)

	none := e.run("call", "+15551234567")
	if code := none.exit(20 * time.Second); code != 1 || !strings.Contains(none.stderr.String(), "no callagent dev is running") {
		t.Fatalf("call without dev: exit %d\n%s", code, none.stderr.String())
	}
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// dev in a real terminal (a pty through script(1)): colored, live transcript; a
// Ctrl-C typed at the terminal stops it and restores the number.
func TestDevTerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) from util-linux is needed for a pty")
	}
	e := newDevEnv(t)
	addr := freeAddr(t)
	cmd := exec.Command("script", "-q", "-f", "-e", "-c",
		fmt.Sprintf("exec %s dev --insecure-http-public-url --public-url http://%s --addr %s", e.bin, addr, addr), "/dev/null")
	cmd.Dir = e.dir
	cmd.Env = append(e.environ(), "TERM=xterm-256color")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProc{t: t, cmd: cmd, stdout: out, stderr: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	p.waitFor(out, "Ready.", 20*time.Second)
	placeCall(t, "http://"+addr+"/incoming-call", "CA00000000000000000000000000000077")
	p.waitFor(out, "call ended", 20*time.Second)

	stdin.Write([]byte{3}) // Ctrl-C, as typed
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after Ctrl-C:\n%s", code, out.String())
	}
	e.checkRestored()

	raw := out.String()
	for _, label := range []string{"caller", "agent", "tool"} {
		if !regexp.MustCompile(`\x1b\[[0-9;]*m` + label).MatchString(raw) {
			t.Errorf("the %s label is not colored:\n%q", label, raw)
		}
	}
	plain := ansi.ReplaceAllString(strings.ReplaceAll(raw, "\r", ""), "")
	for _, want := range []string{"✓ +14155550100 → http://" + addr + "/incoming-call", "Ready. Call +14155550100",
		"caller  What's the weather in Paris?", "tool    weather {\"city\":\"Paris\"}", "✂ caller barged in",
		"● call ended after", "✓ +14155550100 goes to GET https://demo.twilio.com/welcome/voice/ again"} {
		if !strings.Contains(plain, want) {
			t.Errorf("the terminal lacks %q:\n%s", want, plain)
		}
	}
}
