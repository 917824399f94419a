package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/offlinecall"
	"github.com/callagent/callagent/pkg/openaiwebhook/openaiwebhooktest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

// dev --sip against the fakes (issue 19): the webhook endpoint, callagent's SIP
// trunk and the number on it are set up, then everything is put back on SIGINT,
// on SIGTERM, and after SIGKILL on the next start; a failed call midway leaves
// everything as it was and says why.

type sipEnv struct {
	*devEnv
	hooks *openaiwebhooktest.API
}

func newSIPEnv(t *testing.T) *sipEnv {
	t.Helper()
	e := &sipEnv{devEnv: newDevEnv(t), hooks: &openaiwebhooktest.API{APIKey: "sk-test"}}
	trk := httptest.NewServer(e.api.Trunking())
	t.Cleanup(trk.Close)
	// The model and the webhook endpoints API share OpenAI's base URL.
	model := (&offlinecall.Brain{}).Model()
	mux := http.NewServeMux()
	mux.Handle("/v1/webhook_endpoints", e.hooks)
	mux.Handle("/v1/webhook_endpoints/", e.hooks)
	mux.Handle("/", model)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		model.Close()
	})
	e.extra = append(e.extra, "OPENAI_BASE_URL="+srv.URL+"/v1", "CALLAGENT_TWILIO_TRUNKING_URL="+trk.URL, "OPENAI_PROJECT_ID=proj_test123")
	return e
}

// startSIP runs dev --sip with an https public URL on loopback (the webhook
// endpoint must be https; nothing listens for TLS there, so dev's reachability
// check only warns).
func (e *sipEnv) startSIP(wait string, args ...string) *devProc {
	e.t.Helper()
	addr := freeAddr(e.t)
	p := e.run(append([]string{"dev", "--sip", "--public-url", "https://" + addr, "--addr", addr}, args...)...)
	p.waitFor(p.stderr, wait, 20*time.Second)
	return p
}

type sipAccount struct {
	Number  twiliorestest.PhoneNumber
	Trunks  []twiliorestest.Trunk
	Origins map[string][]twiliorestest.OriginationURL
	Hooks   int
}

func (e *sipEnv) snapshot() sipAccount {
	a := sipAccount{Number: e.api.Number("PN1"), Trunks: e.api.Trunks(), Origins: map[string][]twiliorestest.OriginationURL{}, Hooks: len(e.hooks.Endpoints())}
	for _, t := range a.Trunks {
		a.Origins[t.SID] = e.api.OriginationURLs(t.SID)
	}
	return a
}

// checkSIPUp checks what dev --sip set up: the endpoint for the tunnel, the
// number on callagent's trunk to the project's SIP URI.
func (e *sipEnv) checkSIPUp() {
	e.t.Helper()
	eps := e.hooks.Endpoints()
	if len(eps) != 1 || !strings.HasSuffix(eps[0].URL, "/openai-webhook") || !reflect.DeepEqual(eps[0].EventTypes, []string{"realtime.call.incoming"}) {
		e.t.Fatalf("webhook endpoints: %+v", eps)
	}
	n := e.api.Number("PN1")
	if n.TrunkSID == "" {
		e.t.Fatalf("number not on a trunk: %+v", n)
	}
	o := e.api.OriginationURLs(n.TrunkSID)
	if len(o) != 1 || o[0].SIPURL != "sip:proj_test123@sip.api.openai.com;transport=tls" {
		e.t.Fatalf("origination: %+v", o)
	}
}

// checkSIPRestored checks the number as it was, no endpoint, no state; the trunk
// stays (callagent's, reused), holding no number.
func (e *sipEnv) checkSIPRestored() {
	e.t.Helper()
	e.checkRestored()
	if eps := e.hooks.Endpoints(); len(eps) != 0 {
		e.t.Fatalf("webhook endpoint left: %+v", eps)
	}
	entries, _ := os.ReadDir(filepath.Join(e.state, "held"))
	for _, en := range entries {
		e.t.Errorf("held record left: %s", en.Name())
	}
}

func TestFaultDevSIPRestoredOnSignal(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			e := newSIPEnv(t)
			p := e.startSIP("Ready.")
			e.checkSIPUp()
			if !strings.Contains(p.stderr.String(), "/openai-webhook") {
				t.Errorf("the banner does not show the webhook URL:\n%s", p.stderr.String())
			}
			p.cmd.Process.Signal(sig)
			if code := p.exit(30 * time.Second); code != 0 {
				t.Fatalf("exit %d after %v\n%s", code, sig, p.stderr.String())
			}
			e.checkSIPRestored()
			out := p.stdout.String() + p.stderr.String()
			for _, ep := range e.hooks.Endpoints() {
				if strings.Contains(out, ep.Secret) {
					t.Fatal("the signing secret was printed")
				}
			}
		})
	}
}

func TestFaultDevSIPRecoversAfterSIGKILL(t *testing.T) {
	e := newSIPEnv(t)
	p := e.startSIP("Ready.")
	e.checkSIPUp()
	secret := e.hooks.Endpoints()[0].Secret
	p.cmd.Process.Kill()
	p.exit(10 * time.Second)
	if e.api.Number("PN1") == devNumber {
		t.Fatal("the kill restored the number")
	}
	for _, f := range []string{filepath.Join(e.state, "numbers", "PN1.json")} {
		data, err := os.ReadFile(f)
		if err != nil || strings.Contains(string(data), secret) {
			t.Fatalf("state %s: %v (the secret must never be on disk)", f, err)
		}
	}
	p2 := e.startSIP("Ready.")
	errOut := p2.stderr.String()
	if !strings.Contains(errOut, "Put +14155550100 back") || !strings.Contains(errOut, "a previous dev --sip did not stop cleanly") {
		t.Errorf("the recovery is not reported:\n%s", errOut)
	}
	e.checkSIPUp() // one endpoint: the killed dev's was deleted
	p2.cmd.Process.Signal(os.Interrupt)
	if code := p2.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p2.stderr.String())
	}
	e.checkSIPRestored()
}

// A failed API call at each step: dev stops with the step and the reason, and
// the account is as it was.
func TestFaultDevSIPFailedStepLeavesEverything(t *testing.T) {
	cases := []struct {
		name, why string
		fail      func(*sipEnv)
	}{
		{"webhook endpoint", "HTTP 500", func(e *sipEnv) { e.hooks.FailNext(http.MethodPost, 500, 1) }},
		{"create trunk", "find or create callagent's SIP trunk", func(e *sipEnv) { e.api.FailNext(http.MethodPost, "/v1/Trunks", 400, 1) }},
		{"origination", "set the origination URL", func(e *sipEnv) { e.api.FailNext(http.MethodPost, "/OriginationUrls", 400, 1) }},
		{"attach", "attach +14155550100 to SIP trunk", func(e *sipEnv) { e.api.FailNext(http.MethodPost, "/PhoneNumbers", 400, 1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newSIPEnv(t)
			before := e.snapshot()
			c.fail(e)
			addr := freeAddr(t)
			p := e.run("dev", "--sip", "--public-url", "https://"+addr, "--addr", addr)
			if code := p.exit(30 * time.Second); code == 0 {
				t.Fatalf("dev went on after a failed step\n%s", p.stderr.String())
			}
			if !strings.Contains(p.stderr.String(), c.why) {
				t.Errorf("the error does not say %q:\n%s", c.why, p.stderr.String())
			}
			if after := e.snapshot(); !reflect.DeepEqual(after, before) {
				t.Fatalf("account changed:\nbefore %+v\nafter  %+v", before, after)
			}
			e.checkSIPRestored()
		})
	}
}

// A key that may not manage webhook endpoints: dev says how to make one by hand,
// and changes nothing.
func TestDevSIPWebhookByHand(t *testing.T) {
	e := newSIPEnv(t)
	e.hooks.Forbid = true
	before := e.snapshot()
	addr := freeAddr(t)
	p := e.run("dev", "--sip", "--public-url", "https://"+addr, "--addr", addr)
	if code := p.exit(30 * time.Second); code == 0 {
		t.Fatal("dev went on without a webhook endpoint")
	}
	for _, want := range []string{"https://platform.openai.com/settings/project/webhooks", "https://" + addr + "/openai-webhook", "realtime.call.incoming", "OPENAI_WEBHOOK_SECRET"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("the instruction lacks %q:\n%s", want, p.stderr.String())
		}
	}
	if after := e.snapshot(); !reflect.DeepEqual(after, before) {
		t.Fatalf("account changed:\nbefore %+v\nafter  %+v", before, after)
	}
}
