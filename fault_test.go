package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// Fault injection of callagent dev as a user meets it (issue 14, items 3 and 4):
// the built binary, the fake Twilio REST API, --public-url on loopback.

// Closing the terminal tab (SIGHUP) puts the number back like SIGTERM.
func TestFaultDevRestoresOnSIGHUP(t *testing.T) {
	e := newDevEnv(t)
	p, _ := e.startDev()
	p.cmd.Process.Signal(syscall.SIGHUP)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGHUP\n%s", code, p.stderr.String())
	}
	e.checkRestored()
}

// callagent dev --json | head -1: the reader of stdout goes away after one line;
// the next write raises SIGPIPE, and dev puts the number back before it exits.
func TestFaultDevRestoresOnBrokenPipe(t *testing.T) {
	e := newDevEnv(t)
	addr := freeAddr(t)
	cmd := exec.Command(e.bin, "dev", "--json", "--insecure-http-public-url", "--public-url", "http://"+addr, "--addr", addr)
	cmd.Dir, cmd.Env = e.dir, e.environ()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = w, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := &devProc{t: t, cmd: cmd, stdout: &syncbuf.Buffer{}, stderr: stderr, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	p.waitFor(stderr, "Ready.", 20*time.Second)

	// head -1: one line, then the pipe's reading end is closed.
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		first <- line
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	caller, err := twiliotest.PlaceCall(ctx, twiliotest.CallOptions{Webhook: "http://" + addr + "/incoming-call", AuthToken: devToken,
		CallSID: "CA00000000000000000000000000000051", AllowInsecureStream: true, AccountSID: devAccount,
		From: "+15550100001", To: devNumber.PhoneNumber})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	select {
	case line := <-first:
		if !strings.Contains(line, `"type":`) {
			t.Fatalf("first line %q", line)
		}
	case <-ctx.Done():
		t.Fatal("no line on stdout")
	}
	caller.Hangup() // the call's end is written to the closed pipe
	code := p.exit(30 * time.Second)
	if code != 0 && code != 130 {
		t.Errorf("exit %d", code)
	}
	e.checkRestored()
	if !strings.Contains(stderr.String(), "goes to GET https://demo.twilio.com/welcome/voice/ again") {
		t.Errorf("the restore is not reported on stderr:\n%s", stderr.String())
	}
}

// A restore that fails after Ctrl-C says why and the command that puts the number
// back, exits non-zero, and the command works.
func TestFaultDevFailedRestoreSaysWhy(t *testing.T) {
	e := newDevEnv(t)
	p, _ := e.startDev()
	e.api.Fail("/IncomingPhoneNumbers/PN1.json", http.StatusServiceUnavailable)
	p.cmd.Process.Signal(os.Interrupt)
	code := p.exit(60 * time.Second)
	errOut := p.stderr.String()
	if code == 0 {
		t.Errorf("exit 0 after a failed restore")
	}
	for _, want := range []string{"✗ Putting +14155550100 back", "HTTP 503", "callagent numbers --restore",
		`curl -sS -X POST "` + e.apiURL + `/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/IncomingPhoneNumbers/PN1.json" -u "$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN"`,
		`--data-urlencode 'VoiceUrl=https://demo.twilio.com/welcome/voice/' --data-urlencode 'VoiceMethod=GET'`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, devToken) {
		t.Error("the auth token was printed")
	}
	e.api.Fail("/IncomingPhoneNumbers/PN1.json", 0)
	r := e.run("numbers", "--restore")
	if code := r.exit(20 * time.Second); code != 0 {
		t.Fatalf("numbers --restore: exit %d\n%s", code, r.stderr.String())
	}
	e.checkRestored()
}

// Two laptops, one number, two state directories. The second dev recognises the
// first before touching the number and, with no terminal to ask, refuses naming
// --take-over; taking over, it works. The first, stopping, leaves the number to
// the second; the second gives it back to the first's URL, and the first
// laptop's saved state then puts the original back: nothing is lost.
func TestFaultDevTwoMachines(t *testing.T) {
	e := newDevEnv(t)
	stateA := e.state
	a, addrA := e.startDev()
	hookA := e.api.Number("PN1").VoiceURL
	if !strings.HasPrefix(hookA, "http://"+addrA+"/incoming-call") {
		t.Fatalf("first dev's URL %s", hookA)
	}

	e.state = t.TempDir() // the second laptop
	addrB := freeAddr(t)
	refused := e.run("dev", "--insecure-http-public-url", "--public-url", "http://"+addrB, "--addr", addrB)
	if code := refused.exit(30 * time.Second); code == 0 || !strings.Contains(refused.stderr.String(), "another callagent dev") ||
		!strings.Contains(refused.stderr.String(), "--take-over") || !strings.Contains(refused.stderr.String(), hookA) {
		t.Fatalf("second dev without --take-over: exit %d\n%s", code, refused.stderr.String())
	}
	if got := e.api.Number("PN1").VoiceURL; got != hookA {
		t.Fatalf("the refused dev changed the number: %s", got)
	}
	b, _ := e.startDev("--take-over")

	a.cmd.Process.Signal(os.Interrupt)
	if code := a.exit(30 * time.Second); code != 0 {
		t.Fatalf("first dev: exit %d\n%s", code, a.stderr.String())
	}
	if !strings.Contains(a.stderr.String(), "another callagent dev has taken it over") {
		t.Errorf("the first dev does not say it left the number:\n%s", a.stderr.String())
	}
	b.cmd.Process.Signal(os.Interrupt)
	if code := b.exit(30 * time.Second); code != 0 {
		t.Fatalf("second dev: exit %d\n%s", code, b.stderr.String())
	}
	if got := e.api.Number("PN1").VoiceURL; got != hookA {
		t.Fatalf("the second dev did not give the number back to the first's URL: %s", got)
	}
	// The first laptop: its next dev, or numbers --restore, puts the original back.
	e.state = stateA
	r := e.run("numbers", "--restore")
	if code := r.exit(20 * time.Second); code != 0 {
		t.Fatalf("numbers --restore on the first laptop: exit %d\n%s", code, r.stderr.String())
	}
	e.checkRestored()
	if left, _ := os.ReadDir(filepath.Join(stateA, "numbers")); len(left) != 0 {
		t.Errorf("state left: %v", left)
	}
}

// Once SIGPIPE is notified, every broken pipe signals, a dropped socket's too: a
// SIGPIPE alone stops nothing (only a write to a broken stdout does).
func TestDevStraySIGPIPEStopsNothing(t *testing.T) {
	e := newDevEnv(t)
	p, addr := e.startDev()
	p.cmd.Process.Signal(syscall.SIGPIPE)
	// A call after it is served: the signal was handled long before it ends.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	caller, err := twiliotest.PlaceCall(ctx, twiliotest.CallOptions{Webhook: "http://" + addr + "/incoming-call", AuthToken: devToken,
		CallSID: "CA00000000000000000000000000000052", AllowInsecureStream: true, AccountSID: devAccount,
		From: "+15550100001", To: devNumber.PhoneNumber})
	if err != nil {
		t.Fatal(err)
	}
	caller.Hangup()
	caller.Close()
	p.waitFor(p.stdout, "● call ended", 20*time.Second)
	if strings.Contains(p.stderr.String(), "Stopping") {
		t.Fatalf("a SIGPIPE stopped dev:\n%s", p.stderr.String())
	}
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.stderr.String())
	}
	e.checkRestored()
}
