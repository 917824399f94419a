package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/ngroktest"
	"github.com/callagent/callagent/pkg/offlinecall"
	"github.com/callagent/callagent/pkg/openaiwebhook/openaiwebhooktest"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
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
	return newSIPEnvOn(t, (&offlinecall.Brain{}).Model())
}

// newSIPEnvOn is newSIPEnv with the Realtime twin model as OpenAI's API.
func newSIPEnvOn(t *testing.T, model *realtimetest.Model) *sipEnv {
	t.Helper()
	e := &sipEnv{devEnv: newDevEnv(t), hooks: &openaiwebhooktest.API{APIKey: "sk-test"}}
	trk := httptest.NewServer(e.api.Trunking())
	t.Cleanup(trk.Close)
	// The model (with OpenAI's call-control API) and the webhook endpoints API
	// share OpenAI's base URL.
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

const sipWholePathConfig = `agents:
  - name: front
    instructions: You answer the phone for Acme.
    voice: cedar
    tools: [weather]
tools:
  - builtin: weather
`

// dev --sip on every fake at once (issue 19): the real ngrok client against the
// fake edge, the webhook endpoint created through OpenAI's API, callagent's SIP
// trunk and the number on it; the Realtime twin rings a call whose webhook comes
// through the tunnel signed with the secret the endpoint got at its creation;
// callagent verifies it and accepts the call, a tool runs over the sideband, the
// caller hangs up; Ctrl-C puts everything back.
func TestFaultDevSIPWholePath(t *testing.T) {
	conns := make(chan *realtimetest.ModelConn, 4)
	model := &realtimetest.Model{APIKey: "sk-test", Script: func(ctx context.Context, c *realtimetest.ModelConn) error {
		conns <- c
		<-ctx.Done()
		return nil
	}}
	// After the weather tool's output the session asks for the answer.
	model.AutoRespond = func(c *realtimetest.ModelConn, _ *realtime.ResponseCreate) realtimetest.ResponseSpec {
		for _, it := range c.CreatedItems() {
			if it.Type == realtime.ItemFunctionCallOutput && strings.Contains(it.Output, "Paris") {
				return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Transcript: "It is sunny in Paris."}}}
			}
		}
		return realtimetest.ResponseSpec{}
	}
	e := newSIPEnvOn(t, model)
	edge := e.ngrokEdge("ngrok-token-0123456789", "ngrok-token-0123456789")
	if err := os.WriteFile(filepath.Join(e.dir, "callagent.yaml"), []byte(sipWholePathConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	p := e.run("dev", "--sip", "--domain", "agent.ngrok.test")
	p.waitFor(p.stderr, "Ready.", 30*time.Second)
	e.checkSIPUp()
	ep := e.hooks.Endpoints()[0]
	const hook = "https://agent.ngrok.test/openai-webhook"
	if ep.URL != hook || ep.Secret == "" {
		t.Fatalf("webhook endpoint %s (secret set: %v)", ep.URL, ep.Secret != "")
	}
	for _, want := range []string{"Ready. Call +14155550100", "Webhook   " + hook} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("the banner lacks %q:\n%s", want, p.stderr.String())
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := model.RingSIP(ctx, realtimetest.SIPRing{WebhookURL: ngroktest.PlainURL(hook), Secret: ep.Secret,
		From: "sip:+15550100001@pstn.twilio.com", To: "sip:+14155550100@sip.api.openai.com", HTTPClient: edge.HTTPClient()})
	if err != nil {
		t.Fatalf("ring: %v\n%s", err, p.stderr.String())
	}
	if _, err := call.Accepted(ctx); err != nil {
		t.Fatalf("the call was not accepted: %v (deliveries %+v)\n%s", err, call.Deliveries(), p.stderr.String())
	}
	sb, err := call.Sideband(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-conns
	sb.CallerSays("What is the weather in Paris?", 0)
	sb.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{Name: "weather", Arguments: `{"city":"Paris"}`}}}})
	p.waitFor(p.stdout, "It is sunny in Paris.", 20*time.Second)
	call.CallerHangup()
	p.waitFor(p.stdout, "the caller hung up", 20*time.Second)

	p.cmd.Process.Signal(os.Interrupt)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.stderr.String())
	}
	e.checkSIPRestored() // the number as it was, off the trunk; no endpoint; no state
	if edge.Sessions() != 0 {
		t.Error("the ngrok session is still open")
	}
	out := p.stdout.String() + p.stderr.String()
	for _, want := range []string{"What is the weather in Paris?", "weather", "Webhook endpoint " + ep.ID + " deleted", "+14155550100 goes to GET https://demo.twilio.com/welcome/voice/ again"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\nstdout:\n%s\nstderr:\n%s", want, p.stdout.String(), p.stderr.String())
		}
	}
	if strings.Contains(out, ep.Secret) {
		t.Fatal("the signing secret was printed")
	}
}

// dev with transport: sip in callagent.yaml (no --sip) and OPENAI_WEBHOOK_SECRET:
// the webhook endpoint is the user's, none is created; the number still goes on
// the trunk, and the webhooks signed with that secret are accepted.
func TestDevSIPOwnWebhookEndpoint(t *testing.T) {
	const secret = "whsec_c2lwLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY="
	model := &realtimetest.Model{APIKey: "sk-test"}
	e := newSIPEnvOn(t, model)
	e.extra = append(e.extra, "OPENAI_WEBHOOK_SECRET="+secret)
	if err := os.WriteFile(filepath.Join(e.dir, "callagent.yaml"), []byte("transport: sip\n"+sipWholePathConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := e.run("dev", "--public-url", "https://"+addr, "--addr", addr)
	p.waitFor(p.stderr, "Ready.", 20*time.Second)
	if !strings.Contains(p.stderr.String(), "your own webhook endpoint is used (none is created)") {
		t.Errorf("stderr:\n%s", p.stderr.String())
	}
	if eps, reqs := e.hooks.Endpoints(), e.hooks.Requests(); len(eps) != 0 || len(reqs) != 0 {
		t.Fatalf("the webhook endpoints API was used: %+v %+v", eps, reqs)
	}
	if n := e.api.Number("PN1"); n.TrunkSID == "" {
		t.Fatalf("number not on a trunk: %+v", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := model.RingSIP(ctx, realtimetest.SIPRing{WebhookURL: "http://" + addr + "/openai-webhook", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Accepted(ctx); err != nil {
		t.Fatalf("not accepted: %v\n%s", err, p.stderr.String())
	}
	call.CallerHangup()
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.stderr.String())
	}
	e.checkSIPRestored()
}
