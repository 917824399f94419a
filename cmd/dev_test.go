package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

const (
	devAccount = "AC00000000000000000000000000000001"
	devToken   = "0123456789abcdef0123456789abcdef"
)

var devNumber = twiliorestest.PhoneNumber{SID: "PN1", PhoneNumber: "+14155550100", VoiceURL: "https://demo.twilio.com/welcome/voice/", VoiceMethod: "GET"}

// devHarness runs devRun in-process against a fake Twilio API and a fake model
// that answers every response with a short greeting and records session.updates.
type devHarness struct {
	t       *testing.T
	api     *twiliorestest.API
	model   *realtimetest.Model
	updates chan realtime.SessionConfig
	env     map[string]string
	out     *syncbuf.Buffer
	errOut  *syncbuf.Buffer
	addr    string
	in      io.Reader // stdin (default empty)
	tty     bool      // stderr is a terminal
	cancel  context.CancelFunc
	done    chan error
}

func newDevHarness(t *testing.T) *devHarness {
	t.Helper()
	h := &devHarness{t: t, api: &twiliorestest.API{AccountSID: devAccount, AuthToken: devToken},
		updates: make(chan realtime.SessionConfig, 16), out: &syncbuf.Buffer{}, errOut: &syncbuf.Buffer{}}
	h.api.AddNumber(devNumber)
	apiSrv := httptest.NewServer(h.api)
	t.Cleanup(apiSrv.Close)
	h.model = &realtimetest.Model{Script: func(ctx context.Context, c *realtimetest.ModelConn) error {
		ev, err := c.WaitEvent(ctx, realtime.TypeSessionUpdate, 1)
		if err != nil {
			return nil
		}
		h.updates <- ev.(*realtime.SessionUpdate).Session
		<-ctx.Done()
		return nil
	}}
	modelSrv := httptest.NewServer(h.model)
	t.Cleanup(func() {
		h.model.Close()
		modelSrv.Close()
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	h.addr = ln.Addr().String()
	ln.Close()
	h.env = map[string]string{
		"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": modelSrv.URL + "/v1",
		"TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken,
		"CALLAGENT_TWILIO_API_URL": apiSrv.URL, "CALLAGENT_STATE_DIR": t.TempDir(),
	}
	return h
}

func (h *devHarness) start(args ...string) {
	h.t.Helper()
	h.launch(args...)
	h.waitErr("Ready.")
}

// launch runs dev with args without waiting for it to be ready.
func (h *devHarness) launch(args ...string) {
	h.t.Helper()
	in := h.in
	if in == nil {
		in = strings.NewReader("")
	}
	f := &Factory{
		IO:    &IOStreams{In: in, Out: h.out, ErrOut: h.errOut, ErrTTY: h.tty},
		Env:   &Env{Getenv: func(k string) string { return h.env[k] }, Path: "/nonexistent/.env"},
		Now:   time.Now,
		Build: BuildInfo{Version: "1.2.3"},
	}
	root := NewRootCmd(f)
	root.SetArgs(append([]string{"dev", "--insecure-http-public-url", "--public-url", "http://" + h.addr, "--addr", h.addr}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- root.ExecuteContext(ctx) }()
}

// stop does what main does on Ctrl-C: cancels the context. dev must return nil.
func (h *devHarness) stop() {
	h.t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Fatalf("dev returned %v\n%s", err, h.errOut.String())
		}
	case <-time.After(30 * time.Second):
		h.t.Fatal("dev did not return")
	}
	if got := h.api.Number("PN1"); got != devNumber {
		h.t.Fatalf("number not restored: %+v", got)
	}
}

func (h *devHarness) waitErr(s string) { h.t.Helper(); h.wait(h.errOut, s) }
func (h *devHarness) waitOut(s string) { h.t.Helper(); h.wait(h.out, s) }

func (h *devHarness) wait(b *syncbuf.Buffer, s string) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.String(), s) {
		select {
		case err := <-h.done:
			h.t.Fatalf("dev returned %v before %q\n%s", err, s, h.errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no %q\nstderr:\n%s\nstdout:\n%s", s, h.errOut.String(), h.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// place rings the dev server as Twilio would for the dev number: a signed webhook,
// then the stream its TwiML names.
func (h *devHarness) place(ctx context.Context, sid string) *twiliotest.Caller {
	h.t.Helper()
	caller, err := twiliotest.PlaceCall(ctx, twiliotest.CallOptions{Webhook: "http://" + h.addr + "/incoming-call", AuthToken: devToken, AllowInsecureStream: true,
		CallSID: sid, AccountSID: devAccount, From: "+15550100001", To: devNumber.PhoneNumber})
	if err != nil {
		h.t.Fatal(err)
	}
	return caller
}

// call rings the dev server, waits for the session.update and hangs up; it returns
// the instructions the model was given.
func (h *devHarness) call(sid string) string {
	return h.callUntil(sid, "● call ended")
}

func (h *devHarness) callUntil(sid, ended string) string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	caller := h.place(ctx, sid)
	defer caller.Close()
	var upd realtime.SessionConfig
	select {
	case upd = <-h.updates:
	case <-ctx.Done():
		h.t.Fatal("no session.update")
	}
	caller.Hangup()
	h.waitOut(ended)
	return upd.Instructions
}

// Saving callagent.yaml changes the agents of the next call; a broken file is
// reported with its line and the previous agents stay. Cancelling dev (what a
// signal does) restores the number and leaves no goroutine behind.
func TestDevHotReload(t *testing.T) {
	leakcheck.Check(t)
	h := newDevHarness(t)
	path := filepath.Join(t.TempDir(), "callagent.yaml")
	os.WriteFile(path, []byte("agents:\n  - name: first\n    instructions: You are the first agent.\n"), 0o644)
	h.start("--config", path)
	h.waitErr("Engine    Realtime API · gpt-realtime") // the banner names engine, model and price basis
	if got := h.call("CA00000000000000000000000000000001"); !strings.Contains(got, "You are the first agent.") {
		t.Fatalf("first call's instructions: %q", got)
	}

	os.WriteFile(path, []byte("agents:\n  - name: second\n    instructions: You are the second agent.\n"), 0o644)
	h.waitErr(path + " reloaded: ")
	h.out.Reset()
	if got := h.call("CA00000000000000000000000000000002"); !strings.Contains(got, "You are the second agent.") {
		t.Fatalf("after the reload: %q", got)
	}

	os.WriteFile(path, []byte("agents:\n  - name: third\n    instructions: Hi.\n    speed: 9\n"), 0o644)
	h.waitErr("has problems; calls keep the previous agents")
	if !strings.Contains(h.errOut.String(), path+":4:12") {
		t.Errorf("the problem does not name its line:\n%s", h.errOut.String())
	}
	h.out.Reset()
	if got := h.call("CA00000000000000000000000000000003"); !strings.Contains(got, "You are the second agent.") {
		t.Fatalf("after a broken save: %q", got)
	}
	h.stop()
}

// --json prints one calllog line per event on stdout; debug events only for the
// namespaces asked for.
func TestDevJSON(t *testing.T) {
	leakcheck.Check(t)
	h := newDevHarness(t)
	h.start("--json", "--debug", "twilio")
	h.callUntil("CA00000000000000000000000000000009", `"type":"call.ended"`)
	h.stop()
	types := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(h.out.String()), "\n") {
		var l calllog.Line
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if _, err := l.Event(); err != nil {
			t.Errorf("line does not decode: %v", err)
		}
		types[l.NS+" "+l.Type] = true
	}
	for _, want := range []string{"callagent:session call.started", "callagent:twilio debug.frame", "callagent:session call.ended"} {
		if !types[want] {
			t.Errorf("no %s in %v", want, types)
		}
	}
	if types["callagent:realtime debug.frame"] {
		t.Error("realtime frames shown without --debug realtime")
	}
}

// parseDev resolves dev's flags and environment without starting anything.
func parseDev(t *testing.T, env map[string]string, args ...string) (*devOptions, error) {
	t.Helper()
	return parseOptions(t, newDevCmd, env, "/nonexistent/.env", args...)
}

func TestDevOptions(t *testing.T) {
	var got *devOptions
	run := func(env map[string]string, args ...string) (err error) {
		got, err = parseDev(t, env, args...)
		return err
	}
	env := map[string]string{"OPENAI_API_KEY": "k", "TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken,
		"NGROK_AUTHTOKEN": "n", "DEBUG": "callagent:http", "CALLAGENT_NUMBER": "+14155550100"}
	if err := run(env, "--debug", "twilio", "--domain", "agent.ngrok.app", "--voice", "cedar"); err != nil {
		t.Fatal(err)
	}
	if got.Number != "+14155550100" || got.Domain != "agent.ngrok.app" || got.PublicURL != "" || got.NgrokToken != "n" ||
		!got.filter.Enabled(callevent.NSTwilio) || !got.filter.Enabled(callevent.NSHTTP) || got.filter.Enabled(callevent.NSRealtime) ||
		!got.voiceSet || got.Voice != "cedar" || got.modelSet {
		t.Fatalf("options %+v", got)
	}
	// --no-provision needs no Twilio REST credentials, only the token for signatures.
	if err := run(map[string]string{"OPENAI_API_KEY": "k", "TWILIO_AUTH_TOKEN": devToken}, "--no-provision", "--public-url", "https://x.example/"); err != nil {
		t.Fatal(err)
	}
	if got.PublicURL != "https://x.example" || !got.NoProvision {
		t.Fatalf("options %+v", got)
	}
}

// Events of the session render with the namespace filter: frames of enabled
// namespaces only.
func TestEventOutputFilter(t *testing.T) {
	var out bytes.Buffer
	h := callevent.Header{CallSID: "CA1"}
	o := newEventOutput(&out, newStyles(false), false, false, calllog.ParseFilter("callagent:twilio"), nil)
	o.event(callevent.RawFrame{Header: h, Source: callevent.SourceTwilio, Type: "start", Data: []byte(`{"event":"start"}`)})
	o.event(callevent.RawFrame{Header: h, Source: callevent.SourceRealtime, Type: "session.update", Data: []byte(`{}`)})
	if s := out.String(); !strings.Contains(s, "twilio ← start") || strings.Contains(s, "session.update") {
		t.Fatalf("output:\n%s", s)
	}
}

// Frames carry the session's configuration: what dev prints of them, as text or
// JSON, is redacted as the call log is.
func TestEventOutputRedacts(t *testing.T) {
	h := callevent.Header{CallSID: "CA1"}
	frame := callevent.RawFrame{Header: h, Source: callevent.SourceRealtime, Sent: true, Type: "session.update",
		Data: []byte(`{"session":{"tools":[{"type":"mcp","authorization":"mcp-token-zz99","headers":{"X-Org":"org-secret-4242"}}]}}`)}
	for _, asJSON := range []bool{false, true} {
		var out bytes.Buffer
		o := newEventOutput(&out, newStyles(false), false, asJSON, calllog.ParseFilter("callagent:realtime"), calllog.NewRedactor("org-secret-4242"))
		o.event(frame)
		if s := out.String(); !strings.Contains(s, "session.update") || strings.Contains(s, "mcp-token-zz99") || strings.Contains(s, "org-secret-4242") {
			t.Errorf("json %v: a secret was printed, or nothing was", asJSON)
		}
	}
}

// Several numbers and none chosen: each command names its own flag.
func TestChooseNumber(t *testing.T) {
	several := &provision.SeveralNumbersError{Numbers: []string{"+14155550100", "+14155550199"}}
	for flag, want := range map[string]string{"--number": "choose one with --number", "--from": "choose one with --from"} {
		err := chooseNumber(several, flag)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "the account has 2 numbers (+14155550100, +14155550199): "+want) {
			t.Errorf("%s: %v", flag, err)
		}
	}
	other := errors.New("boom")
	if chooseNumber(other, "--from") != other {
		t.Error("another error was changed")
	}
}
