package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/retry"
	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/twiliorest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

const (
	acct  = "AC00000000000000000000000000000001"
	token = "0123456789abcdef0123456789abcdef"
	hook  = "https://abc.ngrok.app/incoming-call"
)

var original = twiliorestest.PhoneNumber{SID: "PN1", PhoneNumber: "+14155550100", FriendlyName: "Main line",
	VoiceURL: "https://demo.twilio.com/welcome/voice/", VoiceMethod: "GET",
	VoiceFallbackURL: "https://example.com/fallback", VoiceFallbackMethod: "POST"}

func setup(t *testing.T, numbers ...twiliorestest.PhoneNumber) (*twiliorestest.API, *provision.Provisioner, string) {
	t.Helper()
	api := &twiliorestest.API{AccountSID: acct, AuthToken: token}
	for _, n := range numbers {
		api.AddNumber(n)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	return api, newProvisioner(t, srv.URL, dir), dir
}

// newProvisioner returns a Provisioner of account acct (auth token token) that
// talks to the API at baseURL and keeps its state in dir.
func newProvisioner(t *testing.T, baseURL, dir string) *provision.Provisioner {
	t.Helper()
	rest, err := twiliorest.New(twiliorest.Options{Credentials: twiliorest.Credentials{AccountSID: acct, AuthToken: token}, BaseURL: baseURL,
		Retry: retry.Policy{Sleep: func(context.Context, time.Duration) error { return nil }}}) // retries without the waits
	if err != nil {
		t.Fatal(err)
	}
	p, err := provision.New(rest, provision.Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFind(t *testing.T) {
	ctx := context.Background()
	second := twiliorestest.PhoneNumber{SID: "PN2", PhoneNumber: "+14155550199"}
	_, one, _ := setup(t, original)
	if n, err := one.Find(ctx, ""); err != nil || n.SID != "PN1" || n.VoiceURL != original.VoiceURL {
		t.Fatalf("only number: %+v %v", n, err)
	}
	_, two, _ := setup(t, original, second)
	var several *provision.SeveralNumbersError
	if _, err := two.Find(ctx, ""); !errors.As(err, &several) || len(several.Numbers) != 2 || !strings.Contains(err.Error(), "+14155550199") {
		t.Fatalf("two numbers, none chosen: %v", err)
	}
	if n, err := two.Find(ctx, "+14155550199"); err != nil || n.SID != "PN2" {
		t.Fatalf("by number: %+v %v", n, err)
	}
	if _, err := two.Find(ctx, "+19999999999"); err == nil || !strings.Contains(err.Error(), "not a number of this account") {
		t.Fatalf("unknown number: %v", err)
	}
	_, none, _ := setup(t)
	if _, err := none.Find(ctx, ""); err == nil || !strings.Contains(err.Error(), "no phone numbers") {
		t.Fatalf("no numbers: %v", err)
	}
}

func TestPointAndRestore(t *testing.T) {
	ctx := context.Background()
	api, p, dir := setup(t, original)
	n, _ := p.Find(ctx, "")
	if err := p.Point(ctx, n, hook, false); err != nil {
		t.Fatal(err)
	}
	if got := api.Number("PN1"); got.VoiceURL != hook || got.VoiceMethod != "POST" || got.VoiceFallbackURL != original.VoiceFallbackURL {
		t.Fatalf("pointed: %+v", got)
	}
	// The saved state names the original configuration.
	data, err := os.ReadFile(filepath.Join(dir, "numbers", "PN1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Number provision.Number }
	json.Unmarshal(data, &st)
	if st.Number.VoiceURL != original.VoiceURL || st.Number.VoiceMethod != "GET" {
		t.Fatalf("saved %+v", st.Number)
	}
	r, err := p.Restore(ctx, "PN1")
	if err != nil || r.Skipped != "" {
		t.Fatalf("restore: %+v %v", r, err)
	}
	if got := api.Number("PN1"); got != original {
		t.Fatalf("restored to %+v, want %+v", got, original)
	}
	if _, err := os.Stat(filepath.Join(dir, "numbers", "PN1.json")); !os.IsNotExist(err) {
		t.Fatal("state file kept after a restore")
	}
}

func TestBoundNumbers(t *testing.T) {
	ctx := context.Background()
	app := original
	app.VoiceApplicationSID = "AP123"
	trunk := twiliorestest.PhoneNumber{SID: "PN3", PhoneNumber: "+14155550103", TrunkSID: "TK9"}
	api, p, _ := setup(t, app, trunk)
	n, _ := p.Find(ctx, app.PhoneNumber)
	err := p.Point(ctx, n, hook, false)
	if !errors.Is(err, provision.ErrBound) || !strings.Contains(err.Error(), "TwiML App AP123") || !strings.Contains(err.Error(), "--take-over") {
		t.Fatalf("app-bound number: %v", err)
	}
	if api.Number("PN1") != app {
		t.Fatal("a refused number was changed")
	}
	if err := p.Point(ctx, n, hook, true); err != nil {
		t.Fatal(err)
	}
	if got := api.Number("PN1"); got.VoiceApplicationSID != "" || got.VoiceURL != hook {
		t.Fatalf("take-over: %+v", got)
	}
	p.Restore(ctx, "PN1")
	if got := api.Number("PN1"); got != app {
		t.Fatalf("the app was not bound again: %+v", got)
	}
	tn, _ := p.Find(ctx, trunk.PhoneNumber)
	if err := p.Point(ctx, tn, hook, true); !errors.Is(err, provision.ErrBound) || !strings.Contains(err.Error(), "SIP trunk TK9") {
		t.Fatalf("trunk number: %v", err)
	}
}

// A failed REST call leaves the number as it was, nothing saved, and says why.
func TestRESTFailuresChangeNothing(t *testing.T) {
	ctx := context.Background()
	for status, want := range map[int]string{401: "credentials", 404: "not found", 400: "HTTP 400"} {
		api, p, dir := setup(t, original)
		n, _ := p.Find(ctx, "")
		api.Fail("/IncomingPhoneNumbers/PN1.json", status)
		err := p.Point(ctx, n, hook, false)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "was not changed") || strings.Contains(err.Error(), token) {
			t.Errorf("HTTP %d: %v", status, err)
		}
		if re := (*twiliorest.Error)(nil); !errors.As(err, &re) || re.Status != status || re.Op != "UpdateNumber" {
			t.Errorf("HTTP %d: errors.As found no *twiliorest.Error of UpdateNumber with the status in %v", status, err)
		}
		if api.Number("PN1") != original {
			t.Errorf("HTTP %d: the number changed", status)
		}
		if left, _ := os.ReadDir(filepath.Join(dir, "numbers")); len(left) != 0 {
			t.Errorf("HTTP %d: state left behind: %v", status, left)
		}
	}
	// Wrong credentials are explained before anything is touched.
	api := &twiliorestest.API{AccountSID: acct, AuthToken: "ffffffffffffffffffffffffffffffff"}
	api.AddNumber(original)
	srv := httptest.NewServer(api)
	defer srv.Close()
	p := newProvisioner(t, srv.URL, t.TempDir())
	_, err := p.Find(ctx, "")
	if err == nil || !strings.Contains(err.Error(), "TWILIO_AUTH_TOKEN") {
		t.Fatalf("401 on list: %v", err)
	}
	var re *twiliorest.Error
	if !errors.As(err, &re) || re.Status != http.StatusUnauthorized {
		t.Fatalf("401 on list: errors.As found no *twiliorest.Error with HTTP 401 in %v", err)
	}
}

// After an update whose answer was lost (a 5xx, a timeout) the change may have
// been made: the number is looked at and put back if so. When it cannot even be
// looked at, the saved configuration stays for the next start.
func TestPointWithLostAnswer(t *testing.T) {
	ctx := context.Background()
	api, p, dir := setup(t, original)
	n, _ := p.Find(ctx, "")
	api.LoseNextAnswer("/IncomingPhoneNumbers/PN1.json", 502)
	api.FailNext(http.MethodPost, "/IncomingPhoneNumbers/PN1.json", 502, 2) // and the retries fail
	err := p.Point(ctx, n, hook, false)
	if err == nil || !strings.Contains(err.Error(), "HTTP 502") || !strings.Contains(err.Error(), "Twilio had made the change after all: the number is put back") {
		t.Fatalf("lost answer: %v", err)
	}
	if api.Number("PN1") != original {
		t.Fatalf("the number was left changed: %+v", api.Number("PN1"))
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "numbers")); len(left) != 0 {
		t.Fatalf("state left behind: %v", left)
	}
	// A 500 that made no change: nothing to put back.
	api.Fail("/IncomingPhoneNumbers/PN1.json", 500)
	err = p.Point(ctx, n, hook, false)
	if err == nil || !strings.Contains(err.Error(), "looking failed") || !strings.Contains(err.Error(), "restored on the next start") {
		t.Fatalf("failing API: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "numbers")); len(left) != 1 {
		t.Fatalf("the saved configuration was not kept: %v", left)
	}
	api.Fail("/IncomingPhoneNumbers/PN1.json", 0)
	// The update's outcome was unknown: the restore sets the saved values again
	// (harmless if they never changed) and checks them.
	if r, err := p.Restore(ctx, "PN1"); err != nil || r.Skipped != "" || api.Number("PN1") != original {
		t.Fatalf("restore once the API is back: %+v %v", r, err)
	}
}

// A damaged saved configuration is never overwritten: it may be all that is left
// of the original one.
func TestPointKeepsDamagedState(t *testing.T) {
	ctx := context.Background()
	api, p, dir := setup(t, original)
	n, _ := p.Find(ctx, "")
	path := filepath.Join(dir, "numbers", "PN1.json")
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte(`{"number": {"sid": "PN1", "voice_url": "https://orig`), 0o600)
	if err := p.Point(ctx, n, hook, false); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Point over a damaged state: %v", err)
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), "https://orig") || api.Number("PN1") != original {
		t.Fatalf("state %s, number %+v", data, api.Number("PN1"))
	}
}

// A failed restore keeps the saved state, so the next start can try again.
func TestFailedRestoreKeepsState(t *testing.T) {
	ctx := context.Background()
	api, p, _ := setup(t, original)
	n, _ := p.Find(ctx, "")
	p.Point(ctx, n, hook, false)
	api.Fail("/IncomingPhoneNumbers/PN1.json", 500)
	if _, err := p.Restore(ctx, "PN1"); err == nil || !strings.Contains(err.Error(), "restored on the next start") {
		t.Fatalf("restore under a failing API: %v", err)
	}
	api.Fail("/IncomingPhoneNumbers/PN1.json", 0)
	if _, err := p.Restore(ctx, "PN1"); err != nil || api.Number("PN1") != original {
		t.Fatalf("second restore: %v", err)
	}
}

// Someone changed the number while callagent ran: callagent leaves it alone.
func TestRestoreLeavesOthersChanges(t *testing.T) {
	ctx := context.Background()
	api, p, _ := setup(t, original)
	n, _ := p.Find(ctx, "")
	p.Point(ctx, n, hook, false)
	changed := original
	changed.VoiceURL = "https://someone-else.example/voice"
	// Change it through the API, as the console would.
	srvNumber := api.Number("PN1")
	srvNumber.VoiceURL = changed.VoiceURL
	setNumber(t, api, srvNumber)
	r, err := p.Restore(ctx, "PN1")
	if err != nil || r.Skipped == "" || api.Number("PN1").VoiceURL != changed.VoiceURL {
		t.Fatalf("restore over a change: %+v %v", r, err)
	}
}

func setNumber(t *testing.T, api *twiliorestest.API, n twiliorestest.PhoneNumber) {
	t.Helper()
	api.ReplaceNumber(n)
}

// A session killed without restoring leaves its state; the next one finds and
// restores it, unless that session is still running.
func TestRecoverCrashed(t *testing.T) {
	ctx := context.Background()
	api, p, dir := setup(t, original)
	n, _ := p.Find(ctx, "")
	if err := p.Point(ctx, n, hook, false); err != nil {
		t.Fatal(err)
	}
	if pending, _ := p.Pending(); len(pending) != 0 {
		t.Fatalf("our own live session counted as crashed: %+v", pending)
	}
	// Make the state look like a dead process's.
	dead := exec.Command("true")
	dead.Run()
	path := filepath.Join(dir, "numbers", "PN1.json")
	data, _ := os.ReadFile(path)
	var st map[string]any
	json.Unmarshal(data, &st)
	st["pid"] = dead.Process.Pid
	data, _ = json.Marshal(st)
	os.WriteFile(path, data, 0o600)

	pending, err := p.Pending()
	if err != nil || len(pending) != 1 || pending[0].PhoneNumber != original.PhoneNumber {
		t.Fatalf("pending %+v %v", pending, err)
	}
	restored, err := p.RecoverCrashed(ctx)
	if err != nil || len(restored) != 1 || api.Number("PN1") != original {
		t.Fatalf("recovered %+v %v; number %+v", restored, err, api.Number("PN1"))
	}
}

// In a container the restarted callagent is PID 1 again, as was the one that
// crashed: the state is still recognised as left behind, and restored.
func TestRecoverCrashedSamePIDAfterRestart(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("this system does not say when a process started")
	}
	ctx := context.Background()
	api, p, dir := setup(t, original)
	n, _ := p.Find(ctx, "")
	if err := p.Point(ctx, n, hook, false); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "numbers", "PN1.json")
	data, _ := os.ReadFile(path)
	var st map[string]any
	json.Unmarshal(data, &st)
	if start, _ := st["proc_start"].(string); st["pid"] != float64(os.Getpid()) || start == "" {
		t.Fatalf("state %s", data)
	}
	st["proc_start"] = "1" // our PID, started at another time: the process before us
	data, _ = json.Marshal(st)
	os.WriteFile(path, data, 0o600)
	if s, _ := p.Sessions(); len(s) != 0 {
		t.Fatalf("the earlier process counted as running: %+v", s)
	}
	restored, err := p.RecoverCrashed(ctx)
	if err != nil || len(restored) != 1 || api.Number("PN1") != original {
		t.Fatalf("recovered %+v %v; number %+v", restored, err, api.Number("PN1"))
	}
}

// A second session on the same number must not save the first one's webhook as
// the "original" configuration.
func TestPointRefusesNumberInUse(t *testing.T) {
	ctx := context.Background()
	api, p, dir := setup(t, original)
	n, _ := p.Find(ctx, "")
	if err := p.Point(ctx, n, hook, false); err != nil {
		t.Fatal(err)
	}
	// Another live process holds it: rewrite the state with our parent's pid.
	path := filepath.Join(dir, "numbers", "PN1.json")
	data, _ := os.ReadFile(path)
	var st map[string]any
	json.Unmarshal(data, &st)
	st["pid"] = os.Getppid()
	delete(st, "proc_start") // as a state file of a version that did not record it
	data, _ = json.Marshal(st)
	os.WriteFile(path, data, 0o600)

	n2, _ := p.Find(ctx, "")
	err := p.Point(ctx, n2, "https://other.example/incoming-call", false)
	if !errors.Is(err, provision.ErrInUse) || !strings.Contains(err.Error(), "another callagent") {
		t.Fatalf("second Point: %v", err)
	}
	if got := api.Number("PN1").VoiceURL; got != hook {
		t.Fatalf("number changed by the refused Point: %s", got)
	}
	saved, _ := os.ReadFile(path)
	if !strings.Contains(string(saved), original.VoiceURL) {
		t.Fatalf("saved original configuration overwritten: %s", saved)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	_, p, _ := setup(t, original)
	if s, err := p.Sessions(); err != nil || len(s) != 0 {
		t.Fatalf("before: %+v %v", s, err)
	}
	n, _ := p.Find(ctx, "")
	if err := p.Point(ctx, n, hook, false); err != nil {
		t.Fatal(err)
	}
	s, err := p.Sessions()
	if err != nil || len(s) != 1 || s[0].Webhook != hook || s[0].Number.PhoneNumber != original.PhoneNumber || s[0].PID != os.Getpid() {
		t.Fatalf("sessions %+v %v", s, err)
	}
	if _, err := p.Restore(ctx, n.SID); err != nil {
		t.Fatal(err)
	}
	if s, _ := p.Sessions(); len(s) != 0 {
		t.Fatalf("after restore: %+v", s)
	}
}

func TestStateDir(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	env["XDG_STATE_HOME"] = "/x"
	if d, _ := provision.StateDir(get); d != filepath.Join("/x", "callagent") {
		t.Errorf("XDG: %s", d)
	}
	env["CALLAGENT_STATE_DIR"] = "/y"
	if d, _ := provision.StateDir(get); d != "/y" {
		t.Errorf("CALLAGENT_STATE_DIR: %s", d)
	}
}

// dev's mark on the voice URL, and the URLs of devs older than it.
func TestDevOf(t *testing.T) {
	_, p, _ := setup(t, original)
	marked := p.Mark("https://abc.ngrok.app/incoming-call")
	id, ok := provision.DevOf(marked)
	if !ok || len(id) != 12 || !strings.HasPrefix(marked, "https://abc.ngrok.app/incoming-call?callagent_dev=") {
		t.Fatalf("Mark: %s (id %q, %v)", marked, id, ok)
	}
	for u, want := range map[string]bool{
		"https://x.example/incoming-call?callagent_dev=0123456789ab": true,
		"https://abc.ngrok-free.app/incoming-call":                   true,  // a dev before the mark
		"https://agent.example.com/incoming-call":                    false, // serve, in production
		"https://abc.ngrok.app/voice":                                false,
		"https://demo.twilio.com/welcome/voice/":                     false,
		"":                                                           false,
	} {
		if _, ok := provision.DevOf(u); ok != want {
			t.Errorf("DevOf(%q) = %v", u, ok)
		}
	}
}
