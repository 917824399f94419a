package cmd

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/openaiwebhook/openaiwebhooktest"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

const (
	doctorProject = "proj_doctor0123456789"
	// doctorHookSecret is the endpoint's signing secret (whsec_ and base64).
	doctorHookSecret = "whsec_ZG9jdG9yLXNpcC1zaWduaW5nLXNlY3JldC0wMTIzNDU2"
)

// sipDoctor is doctor's harness over SIP: serve's set-up made by hand, all
// right. OpenAI's webhook endpoints API is served beside the models on the
// OPENAI_BASE_URL host, Twilio's trunking API on its own host.
type sipDoctor struct {
	*doctorHarness
	hooks    *openaiwebhooktest.API
	model    http.Handler // what answers /v1/models on the OpenAI host
	trunkSID string
	hook     string // PUBLIC/openai-webhook
}

// sipOriginURI is the origination URI the trunk needs.
const sipOriginURI = "sip:" + doctorProject + "@sip.api.openai.com;transport=tls"

func newSIPDoctor(t *testing.T) *sipDoctor {
	t.Helper()
	h := &sipDoctor{doctorHarness: newDoctorHarness(t), hooks: &openaiwebhooktest.API{APIKey: doctorKey}}
	h.checks = 12
	h.model = h.doctorHarness.model
	openai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/webhook_endpoints") {
			h.hooks.ServeHTTP(w, r)
			return
		}
		h.model.ServeHTTP(w, r)
	}))
	t.Cleanup(openai.Close)
	trunking := httptest.NewServer(h.api.Trunking())
	t.Cleanup(trunking.Close)
	h.hook = h.pub.URL + server.PathSIPWebhook
	h.hooks.Add(openaiwebhooktest.Endpoint{Name: "calls", URL: h.hook, EventTypes: []string{"realtime.call.incoming"},
		Secret: doctorHookSecret, Hint: "whsec_****" + doctorHookSecret[len(doctorHookSecret)-4:]})
	h.trunkSID = h.api.AddTrunk(twiliorestest.Trunk{FriendlyName: "calls", DomainName: "calls-example.pstn.twilio.com"},
		twiliorestest.OriginationURL{FriendlyName: "OpenAI", SIPURL: sipOriginURI, Enabled: true, Priority: 10, Weight: 10})
	h.number.TrunkSID = h.trunkSID
	h.env["OPENAI_BASE_URL"] = openai.URL + "/v1"
	h.env["CALLAGENT_TWILIO_TRUNKING_URL"] = trunking.URL
	h.env["OPENAI_PROJECT_ID"] = doctorProject
	h.env["OPENAI_WEBHOOK_SECRET"] = doctorHookSecret
	return h
}

// origin replaces the trunk's origination URLs with o.
func (h *sipDoctor) origin(o ...twiliorestest.OriginationURL) {
	h.trunkSID = h.api.AddTrunk(twiliorestest.Trunk{FriendlyName: "other", DomainName: "other-example.pstn.twilio.com"}, o...)
	h.number.TrunkSID = h.trunkSID
}

func TestDoctorSIPAllGreen(t *testing.T) {
	h := newSIPDoctor(t)
	got, out, err := h.run("--sip")
	if err != nil {
		t.Fatal(err)
	}
	for id, c := range got {
		if c.Verdict != verdictOK || c.Fix != "" {
			t.Errorf("%s: %+v", id, c)
		}
	}
	for id, want := range map[string]string{
		checkSIPProject:  doctorProject + ": calls come in at " + sipOriginURI,
		checkSIPWebhooks: "may manage the project's webhook endpoints (1 endpoint)",
		checkSIPEndpoint: "sends realtime.call.incoming to " + h.hook + "; OPENAI_WEBHOOK_SECRET is set",
		checkSIPTrunk:    h.trunkSID + " sends its calls to " + sipOriginURI,
		checkNumber:      "goes to SIP trunk " + h.trunkSID,
		checkPublicURL:   "OpenAI's webhooks go to " + h.hook,
	} {
		if d := got[id].Detail; !strings.Contains(d, want) {
			t.Errorf("%s: %q, want %q", id, d, want)
		}
	}
	if !strings.Contains(out, `"webhook_url": "`+h.hook+`"`) {
		t.Errorf("webhook_url is not the OpenAI webhook's:\n%s", out)
	}
	// Only reads, at Twilio and at OpenAI.
	for _, r := range h.api.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("doctor changed something at Twilio: %s %s", r.Method, r.Path)
		}
	}
	for _, r := range h.hooks.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("doctor changed something at OpenAI: %s %s", r.Method, r.Path)
		}
	}
	if len(h.hooks.Requests()) != 1 {
		t.Errorf("webhook endpoints asked %d times", len(h.hooks.Requests()))
	}
}

// TestFaultDoctorSIPSilent: doctor had no SIP checks; with transport: sip, a key
// of another project (whose webhook endpoints these are not), no signing secret
// and a number on no SIP trunk passed every check, and no call would have come.
// Each is now a problem with its fix.
func TestFaultDoctorSIPSilent(t *testing.T) {
	h := newSIPDoctor(t)
	delete(h.env, "OPENAI_WEBHOOK_SECRET")
	h.hooks.APIKey = "sk-proj-another-project-0123456789"
	h.number.TrunkSID = ""
	got, _, err := h.run("--config", "testdata/doctor-sip.yaml")
	if !errors.Is(err, errChecksFailed) {
		t.Fatalf("doctor passed a broken SIP set-up: %v", err)
	}
	for id, v := range map[string]verdict{checkSIPWebhooks: verdictFail, checkSIPEndpoint: verdictFail, checkNumber: verdictWarn} {
		if c := got[id]; c.Verdict != v || c.Fix == "" {
			t.Errorf("%s: %+v, want %s with a fix", id, c, v)
		}
	}
	if d := got[checkSIPEndpoint].Detail; !strings.Contains(d, "OPENAI_WEBHOOK_SECRET is not set") {
		t.Errorf("endpoint: %s", d)
	}
	if d := got[checkNumber].Detail; !strings.Contains(d, "is on no SIP trunk") {
		t.Errorf("number: %s", d)
	}
}

func TestFaultDoctorSIPBrokenSettings(t *testing.T) {
	realtimeOnly := []string{"realtime.call.incoming"}
	for _, tc := range []struct {
		name  string
		setup func(h *sipDoctor)
		args  []string
		id    string
		v     verdict
		fix   string
		also  map[string]verdict
	}{
		{name: "no project id", setup: func(h *sipDoctor) { delete(h.env, "OPENAI_PROJECT_ID") },
			id: checkSIPProject, v: verdictWarn, fix: "OPENAI_PROJECT_ID", also: map[string]verdict{checkSIPTrunk: verdictWarn}},
		{name: "malformed project id", setup: func(h *sipDoctor) { h.env["OPENAI_PROJECT_ID"] = "proj_a@evil;x" },
			id: checkSIPProject, v: verdictFail, fix: "platform.openai.com/settings/organization/general", also: map[string]verdict{checkSIPTrunk: verdictWarn}},
		{name: "project id of another project", args: []string{"--openai-project", "proj_other0123"},
			id: checkSIPTrunk, v: verdictFail, fix: "sip:proj_other0123@sip.api.openai.com;transport=tls"},
		{name: "key refused by the webhooks API", setup: func(h *sipDoctor) { h.hooks.APIKey = "sk-proj-another-0123456789" },
			id: checkSIPWebhooks, v: verdictFail, fix: "platform.openai.com/api-keys", also: map[string]verdict{checkSIPEndpoint: verdictSkipped}},
		{name: "key without the webhooks permission", setup: func(h *sipDoctor) { h.hooks.Forbid = true },
			id: checkSIPWebhooks, v: verdictWarn, fix: "Webhooks: Write", also: map[string]verdict{checkSIPEndpoint: verdictSkipped}},
		{name: "webhooks API failing", setup: func(h *sipDoctor) { h.hooks.FailNext(http.MethodGet, http.StatusInternalServerError, 1) },
			id: checkSIPWebhooks, v: verdictWarn, fix: "Check the network", also: map[string]verdict{checkSIPEndpoint: verdictSkipped}},
		{name: "no endpoint for this server", setup: func(h *sipDoctor) {
			h.hooks = &openaiwebhooktest.API{APIKey: doctorKey}
			h.hooks.Add(openaiwebhooktest.Endpoint{Name: "x", URL: "https://elsewhere.example.com/openai-webhook", EventTypes: realtimeOnly})
		}, id: checkSIPEndpoint, v: verdictFail, fix: "create an endpoint: URL https://"},
		{name: "endpoint without the incoming-call event", setup: func(h *sipDoctor) {
			h.hooks = &openaiwebhooktest.API{APIKey: doctorKey}
			h.hooks.Add(openaiwebhooktest.Endpoint{Name: "x", URL: h.hook, EventTypes: []string{"response.completed"}})
		}, id: checkSIPEndpoint, v: verdictFail, fix: "add the event realtime.call.incoming"},
		{name: "GPT-Live endpoint with the Realtime event", args: []string{"--model", "gpt-live-1"},
			setup: func(h *sipDoctor) { h.model = h.live },
			id:    checkSIPEndpoint, v: verdictFail, fix: "add the event live.transport.incoming"},
		{name: "no webhook secret", setup: func(h *sipDoctor) { delete(h.env, "OPENAI_WEBHOOK_SECRET") },
			id: checkSIPEndpoint, v: verdictFail, fix: "into OPENAI_WEBHOOK_SECRET"},
		{name: "malformed webhook secret", setup: func(h *sipDoctor) { h.env["OPENAI_WEBHOOK_SECRET"] = "whsec_not base64!" },
			id: checkSIPEndpoint, v: verdictFail, fix: "into OPENAI_WEBHOOK_SECRET"},
		{name: "another endpoint's webhook secret", setup: func(h *sipDoctor) {
			h.env["OPENAI_WEBHOOK_SECRET"] = "whsec_YW5vdGhlci1lbmRwb2ludHMtc2lnbmluZy1zZWNyZXQ="
		}, id: checkSIPEndpoint, v: verdictWarn, fix: "Copy the endpoint's signing secret"},
		{name: "number on no trunk", setup: func(h *sipDoctor) { h.number.TrunkSID = "" },
			id: checkNumber, v: verdictWarn, fix: sipOriginURI, also: map[string]verdict{checkSIPTrunk: verdictSkipped}},
		{name: "trunk to another project", setup: func(h *sipDoctor) {
			h.origin(twiliorestest.OriginationURL{FriendlyName: "OpenAI", SIPURL: "sip:proj_other0123@sip.api.openai.com;transport=tls", Enabled: true, Priority: 10, Weight: 10})
		}, id: checkSIPTrunk, v: verdictFail, fix: sipOriginURI},
		{name: "trunk without TLS", setup: func(h *sipDoctor) {
			h.origin(twiliorestest.OriginationURL{FriendlyName: "OpenAI", SIPURL: "sip:" + doctorProject + "@sip.api.openai.com", Enabled: true, Priority: 10, Weight: 10})
		}, id: checkSIPTrunk, v: verdictWarn, fix: sipOriginURI},
		{name: "trunk's OpenAI origination disabled", setup: func(h *sipDoctor) {
			h.origin(twiliorestest.OriginationURL{FriendlyName: "OpenAI", SIPURL: sipOriginURI, Enabled: false, Priority: 10, Weight: 10})
		}, id: checkSIPTrunk, v: verdictFail, fix: sipOriginURI},
		{name: "trunk without origination", setup: func(h *sipDoctor) { h.origin() },
			id: checkSIPTrunk, v: verdictFail, fix: sipOriginURI},
		{name: "trunk on another region", args: []string{"--sip-region", "eu"},
			id: checkSIPTrunk, v: verdictWarn, fix: "sip:" + doctorProject + "@sip-eu.api.openai.com;transport=tls"},
		{name: "serve without Twilio credentials", setup: func(h *sipDoctor) {
			for _, k := range []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"} {
				delete(h.env, k)
			}
		}, id: checkTwilio, v: verdictSkipped, also: map[string]verdict{checkNumber: verdictSkipped, checkSIPTrunk: verdictSkipped}},
		{name: "serve with half the Twilio credentials", setup: func(h *sipDoctor) { delete(h.env, "TWILIO_ACCOUNT_SID") },
			id: checkTwilio, v: verdictWarn, fix: "serve --sip itself needs none", also: map[string]verdict{checkNumber: verdictSkipped, checkSIPTrunk: verdictSkipped}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSIPDoctor(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			got, _, err := h.run(append([]string{"--sip"}, tc.args...)...)
			expect(t, got, tc.id, tc.v, tc.fix, tc.also)
			if (tc.v == verdictFail) != errors.Is(err, errChecksFailed) {
				t.Fatalf("err %v for a %s", err, tc.v)
			}
		})
	}
}

// dev --sip makes its endpoint and points its own trunk: doctor without a public
// URL checks what it needs to (the project id, the key's permission, a number
// it may take) and leaves the rest to it.
func TestDoctorSIPDev(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *sipDoctor)
		id    string
		v     verdict
		fix   string
	}{
		{name: "ready", id: checkNumber, v: verdictOK},
		{name: "no project id", setup: func(h *sipDoctor) { delete(h.env, "OPENAI_PROJECT_ID") },
			id: checkSIPProject, v: verdictFail, fix: "--openai-project"},
		{name: "key cannot create the endpoint", setup: func(h *sipDoctor) { h.hooks.Forbid = true; delete(h.env, "OPENAI_WEBHOOK_SECRET") },
			id: checkSIPWebhooks, v: verdictFail, fix: "OPENAI_WEBHOOK_SECRET"},
		{name: "key cannot, with an endpoint of the user's", setup: func(h *sipDoctor) { h.hooks.Forbid = true },
			id: checkSIPWebhooks, v: verdictWarn, fix: "the calls do not need it"},
		{name: "malformed secret of the user's endpoint", setup: func(h *sipDoctor) { h.env["OPENAI_WEBHOOK_SECRET"] = "whsec_%%%" },
			id: checkSIPEndpoint, v: verdictFail, fix: "into OPENAI_WEBHOOK_SECRET"},
		{name: "number on the user's trunk", setup: func(h *sipDoctor) { h.origin() },
			id: checkNumber, v: verdictWarn, fix: "--take-over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSIPDoctor(t)
			delete(h.env, "CALLAGENT_PUBLIC_URL")
			h.number.TrunkSID, h.number.VoiceURL = "", "https://example.com/voice"
			if tc.setup != nil {
				tc.setup(h)
			}
			got, _, err := h.run("--sip")
			also := map[string]verdict{checkPublicURL: verdictSkipped, checkSIPEndpoint: verdictSkipped, checkSIPTrunk: verdictSkipped}
			expect(t, got, tc.id, tc.v, tc.fix, also)
			if (tc.v == verdictFail) != errors.Is(err, errChecksFailed) {
				t.Fatalf("err %v for a %s", err, tc.v)
			}
		})
	}
}

func TestDoctorSIPFlags(t *testing.T) {
	h := newSIPDoctor(t)
	f, _, _ := testFactory()
	f.Env = &Env{Getenv: func(k string) string { return h.env[k] }, Path: "/nonexistent/.env"}
	for args, want := range map[string]string{
		"--openai-project proj_a": "--openai-project is for --sip",
		"--sip-region eu":         "--sip-region is for --sip",
		"--sip --sip-region us":   "eu or in",
	} {
		root := NewRootCmd(f)
		root.SetArgs(append([]string{"doctor"}, strings.Fields(args)...))
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", args, err)
		}
	}
}

func TestHintMatches(t *testing.T) {
	for _, tc := range []struct {
		hint, secret string
		want         bool
	}{
		{"whsec_****abcd", "whsec_xyzabcd", true},
		{"whsec_****abcd", "whsec_xyzabce", false},
		{"whsec_ab****", "whsec_abxyz", true},
		{"whsec_ab****", "whsec_cdxyz", false},
		{"", "whsec_anything", true},       // no hint: nothing told
		{"hidden", "whsec_anything", true}, // a form not known
		{"whsec_abcd****abcd", "whsec_abcd", false},
	} {
		if got := hintMatches(tc.hint, tc.secret); got != tc.want {
			t.Errorf("%q %q: %v", tc.hint, tc.secret, got)
		}
	}
}

func TestParseSIPURI(t *testing.T) {
	for in, want := range map[string]sipURIParts{
		"sip:proj_A@sip.api.openai.com;transport=tls":         {"proj_A", "sip.api.openai.com", true},
		"SIP:proj_A@SIP-EU.api.openai.com:5061;transport=TLS": {"proj_A", "sip-eu.api.openai.com", true},
		"sip:proj_A@sip.api.openai.com":                       {"proj_A", "sip.api.openai.com", false},
	} {
		if got, ok := parseSIPURI(in); !ok || got != want {
			t.Errorf("%s: %+v %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "https://x", "sip:host.example.com"} {
		if _, ok := parseSIPURI(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
