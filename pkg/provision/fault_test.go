package provision_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/retry"
	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/twiliorest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

// Fault injection for the saved number state (issue 14, items 3 and 4): the
// original settings of a number are never lost.

// Twilio applies the update after the client gave up waiting: a look just after
// still shows the old URL. The saved original must stay (the change may land),
// and the restore that follows puts the number back and checks it.
func TestFaultLateUpdateKeepsOriginal(t *testing.T) {
	ctx := context.Background()
	api := &twiliorestest.API{AccountSID: acct, AuthToken: token}
	api.AddNumber(original)
	srv := httptest.NewServer(api)
	defer srv.Close()
	rest, err := twiliorest.New(twiliorest.Options{Credentials: twiliorest.Credentials{AccountSID: acct, AuthToken: token}, BaseURL: srv.URL,
		HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}, // the 10 s of dev, shortened
		Retry:      retry.Policy{Sleep: func(context.Context, time.Duration) error { return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := provision.New(rest, provision.Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := p.Find(ctx, "")
	api.LateNextUpdate("/IncomingPhoneNumbers/PN1.json")
	err = p.Point(ctx, n, hook, false)
	if err == nil || strings.Contains(err.Error(), "was not changed") {
		t.Fatalf("Point with an update Twilio applies late said: %v", err)
	}
	state := filepath.Join(dir, "numbers", "PN1.json")
	if data, rerr := os.ReadFile(state); rerr != nil || !strings.Contains(string(data), original.VoiceURL) {
		t.Fatalf("the saved original was deleted while the update may still land (%v): %v", rerr, err)
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if applied := api.ApplyLate(lctx); applied != 1 {
		t.Fatalf("the late update was not held: %d", applied)
	}
	if got := api.Number("PN1").VoiceURL; got != hook {
		t.Fatalf("the late update did not land: %s", got)
	}
	// What dev does on exit: restore, checked.
	if r, err := p.Restore(ctx, "PN1"); err != nil || r.Skipped != "" {
		t.Fatalf("restore: %+v %v", r, err)
	}
	if got := api.Number("PN1"); got != original {
		t.Fatalf("number left as %+v", got)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatal("state kept after a checked restore")
	}
}

// Two devs on one number from two machines (two state directories). The second
// recognises the first before touching the number and refuses without a take
// over; taking over, it saves the first one's URL. The first, stopping, does not
// clobber the second and keeps the original; the second gives the number back to
// the first's URL, from which the first's saved state puts the original back.
func TestFaultTwoMachinesOneNumber(t *testing.T) {
	ctx := context.Background()
	const hookA, hookB = "https://laptop-a.ngrok.app/incoming-call", "https://laptop-b.ngrok-free.app/incoming-call"
	api, a, dirA := setup(t, original)
	srv := httptest.NewServer(api)
	defer srv.Close()
	b := newProvisioner(t, srv.URL, t.TempDir())

	n, _ := a.Find(ctx, "")
	if err := a.Point(ctx, n, hookA, false); err != nil {
		t.Fatal(err)
	}
	posts := func() (k int) {
		for _, r := range api.Requests() {
			if r.Method == http.MethodPost {
				k++
			}
		}
		return k
	}
	before := posts()
	nb, _ := b.Find(ctx, "")
	err := b.Point(ctx, nb, hookB, false)
	if err == nil || !strings.Contains(err.Error(), "another callagent dev") || !strings.Contains(err.Error(), "--take-over") ||
		!strings.Contains(err.Error(), hookA) {
		t.Fatalf("second dev on the number without --take-over: %v (number now %s)", err, api.Number("PN1").VoiceURL)
	}
	if posts() != before {
		t.Fatal("the refused dev changed the number")
	}
	if err := b.Point(ctx, nb, hookB, true); err != nil {
		t.Fatal(err)
	}
	// The first dev stops: the number is the second's now.
	r, err := a.Restore(ctx, "PN1")
	if err != nil || r.Skipped == "" || api.Number("PN1").VoiceURL != hookB {
		t.Fatalf("first dev's restore over the second: %+v %v; number %s", r, err, api.Number("PN1").VoiceURL)
	}
	if data, err := os.ReadFile(filepath.Join(dirA, "numbers", "PN1.json")); err != nil || !strings.Contains(string(data), original.VoiceURL) {
		t.Fatalf("the first dev dropped the original settings: %v", err)
	}
	// The second stops: back to the first's URL, whose saved state restores the rest.
	if _, err := b.Restore(ctx, "PN1"); err != nil || api.Number("PN1").VoiceURL != hookA {
		t.Fatalf("second dev's restore: %v; number %s", err, api.Number("PN1").VoiceURL)
	}
	if _, err := a.Restore(ctx, "PN1"); err != nil {
		t.Fatal(err)
	}
	if got := api.Number("PN1"); got != original {
		t.Fatalf("end state %+v", got)
	}
}

// One damaged state file, another number's, does not stop the recovery of the
// others; its error names the file and says what to do.
func TestFaultDamagedStateIsolated(t *testing.T) {
	ctx := context.Background()
	second := twiliorestest.PhoneNumber{SID: "PN2", PhoneNumber: "+14155550199", VoiceURL: "https://example.com/two", VoiceMethod: "POST"}
	api, p, dir := setup(t, original, second)
	n, _ := p.Find(ctx, original.PhoneNumber)
	if err := p.Point(ctx, n, hook, false); err != nil {
		t.Fatal(err)
	}
	// Left by a dead process.
	dead := exec.Command("true")
	dead.Run()
	path := filepath.Join(dir, "numbers", "PN1.json")
	data, _ := os.ReadFile(path)
	var st map[string]any
	json.Unmarshal(data, &st)
	st["pid"], st["proc_start"] = dead.Process.Pid, "1"
	data, _ = json.Marshal(st)
	os.WriteFile(path, data, 0o600)
	damaged := filepath.Join(dir, "numbers", "PN2.json")
	os.WriteFile(damaged, []byte(`{"number": {"sid": "PN2", "voice_url": "https://exa`), 0o600)

	restored, err := p.RecoverCrashed(ctx)
	if len(restored) != 1 || api.Number("PN1") != original {
		t.Fatalf("a damaged state of another number blocked the recovery: restored %+v, err %v", restored, err)
	}
	if err == nil || !strings.Contains(err.Error(), damaged) || !strings.Contains(err.Error(), "remove the file") ||
		!strings.Contains(err.Error(), "voice_url") {
		t.Fatalf("the damaged file is not named with the fix: %v", err)
	}
	if _, serr := os.Stat(damaged); serr != nil {
		t.Fatal("the damaged file was removed")
	}
	// The other number can still be used.
	if err := p.Point(ctx, n, hook, false); err != nil {
		t.Fatalf("Point of another number beside a damaged file: %v", err)
	}
}

// Two devs started at the same moment on one state directory (two processes):
// exactly one points the number; the other is refused, naming the first's pid
// and the number.
func TestFaultTwoDevsOneStateDirAtOnce(t *testing.T) {
	rounds := 8
	if s := os.Getenv("CALLAGENT_SOAK"); s != "" {
		if k, err := strconv.Atoi(s); err == nil && k > 0 {
			rounds *= k
		}
	}
	for round := range rounds {
		api := &twiliorestest.API{AccountSID: acct, AuthToken: token}
		api.AddNumber(original)
		srv := httptest.NewServer(api)
		dir := t.TempDir()
		type child struct {
			cmd   *exec.Cmd
			in    io.WriteCloser
			lines *bufio.Scanner
		}
		var kids [2]child
		for i := range kids {
			c := exec.Command(os.Args[0], "-test.run=^TestHelperPointProcess$")
			c.Env = append(os.Environ(), "CALLAGENT_TEST_POINT_URL="+srv.URL, "CALLAGENT_TEST_POINT_DIR="+dir)
			in, _ := c.StdinPipe()
			out, _ := c.StdoutPipe()
			c.Stderr = os.Stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			kids[i] = child{c, in, bufio.NewScanner(out)}
			defer func() { c.Process.Kill(); c.Wait() }()
		}
		for _, k := range kids {
			if !k.lines.Scan() || k.lines.Text() != "ready" {
				t.Fatalf("helper not ready: %q", k.lines.Text())
			}
		}
		for _, k := range kids { // the barrier: both Point now
			k.in.Close()
		}
		var ok []int
		var refused []string
		for _, k := range kids {
			if !k.lines.Scan() {
				t.Fatal("helper said nothing")
			}
			if line := k.lines.Text(); line == "ok" {
				ok = append(ok, k.cmd.Process.Pid)
			} else {
				refused = append(refused, line)
			}
		}
		if len(ok) != 1 {
			t.Fatalf("round %d: %d devs pointed the number at once (%v)", round, len(ok), refused)
		}
		if want := fmt.Sprintf("pid %d", ok[0]); !strings.Contains(refused[0], want) || !strings.Contains(refused[0], original.PhoneNumber) {
			t.Fatalf("round %d: the refusal does not name %s and the number: %s", round, want, refused[0])
		}
		srv.Close()
	}
}

// TestHelperPointProcess is one dev of TestFaultTwoDevsOneStateDirAtOnce, in a
// process of its own: it finds the number, says "ready", waits for stdin to
// close, points the number and says "ok" or the error, then waits to be killed.
func TestHelperPointProcess(t *testing.T) {
	base, dir := os.Getenv("CALLAGENT_TEST_POINT_URL"), os.Getenv("CALLAGENT_TEST_POINT_DIR")
	if base == "" {
		t.Skip("run by TestFaultTwoDevsOneStateDirAtOnce")
	}
	ctx := context.Background()
	p := newProvisioner(t, base, dir)
	n, err := p.Find(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	if err := p.Point(ctx, n, fmt.Sprintf("https://dev-%d.example/incoming-call", os.Getpid()), false); err != nil {
		fmt.Println(strings.ReplaceAll(err.Error(), "\n", " "))
	} else {
		fmt.Println("ok")
	}
	time.Sleep(20 * time.Second)
}
