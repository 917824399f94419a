package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/live/livetest"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

const (
	doctorKey   = "sk-proj-doctor-0123456789abcdefXYZW"
	doctorNgrok = "2abcdefghijklmnopqrstuvwxyz_0123456789ABCDEFGHIJ"
)

// doctorHarness is doctor against the twins: Twilio's REST API, OpenAI's Realtime
// and GPT-Live endpoints, and a public URL that answers /healthz over TLS.
type doctorHarness struct {
	t                 *testing.T
	api               *twiliorestest.API
	model             *realtimetest.Model
	live              *livetest.Model
	pub               *httptest.Server
	env               map[string]string
	now               func() time.Time
	number            twiliorestest.PhoneNumber
	added             bool // the number is on the fake account
	modelURL, liveURL string
	checks            int // how many checks a run reports (8; more over SIP)
}

func newDoctorHarness(t *testing.T) *doctorHarness {
	t.Helper()
	h := &doctorHarness{t: t, api: &twiliorestest.API{AccountSID: devAccount, AuthToken: devToken},
		model: &realtimetest.Model{APIKey: doctorKey}, live: &livetest.Model{APIKey: doctorKey}, now: time.Now, checks: 8}
	apiSrv := httptest.NewServer(h.api)
	t.Cleanup(apiSrv.Close)
	modelSrv := httptest.NewServer(h.model)
	t.Cleanup(modelSrv.Close)
	liveSrv := httptest.NewServer(h.live)
	t.Cleanup(liveSrv.Close)
	h.modelURL, h.liveURL = modelSrv.URL+"/v1", liveSrv.URL+"/v1"
	h.pub = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == server.PathHealth {
			w.Write([]byte("ok"))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(h.pub.Close)
	h.number = devNumber
	h.number.VoiceURL, h.number.VoiceMethod = h.pub.URL+server.PathIncomingCall, "POST"
	h.env = map[string]string{
		"OPENAI_API_KEY": doctorKey, "OPENAI_BASE_URL": h.modelURL,
		"TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken,
		"CALLAGENT_TWILIO_API_URL": apiSrv.URL, "CALLAGENT_STATE_DIR": t.TempDir(),
		"NGROK_AUTHTOKEN": doctorNgrok, "CALLAGENT_PUBLIC_URL": h.pub.URL,
	}
	return h
}

// run runs callagent doctor --json with args and returns its checks by id, what
// it printed, and its error.
func (h *doctorHarness) run(args ...string) (map[string]checkResult, string, error) {
	h.t.Helper()
	if !h.added {
		h.api.AddNumber(h.number)
		h.added = true
	}
	var out, errOut bytes.Buffer
	f := &Factory{
		IO:         &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Env:        &Env{Getenv: func(k string) string { return h.env[k] }, Path: "/nonexistent/.env"},
		Now:        h.now,
		Build:      BuildInfo{Version: "1.2.3"},
		HTTPClient: h.pub.Client(),
	}
	root := NewRootCmd(f)
	root.SetArgs(append([]string{"doctor", "--json", "--timeout", "5s"}, args...))
	err := root.ExecuteContext(context.Background())
	var rep doctorReport
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		h.t.Fatalf("doctor --json printed no report (%v): %s\nstderr: %s", jerr, out.String(), errOut.String())
	}
	if rep.OK != (err == nil) {
		h.t.Fatalf("ok %v but error %v", rep.OK, err)
	}
	byID := map[string]checkResult{}
	for _, c := range rep.Checks {
		byID[c.ID] = c
	}
	if len(byID) != h.checks || len(rep.Checks) != h.checks {
		h.t.Fatalf("checks %v", rep.Checks)
	}
	for _, secret := range []string{doctorKey, devToken, doctorNgrok, h.env["OPENAI_WEBHOOK_SECRET"]} {
		if secret != "" && strings.Contains(out.String()+errOut.String(), strings.TrimPrefix(secret, "whsec_")) {
			h.t.Fatalf("a secret in doctor's output:\n%s%s", out.String(), errOut.String())
		}
	}
	return byID, out.String(), err
}

// expect checks that id has verdict v with a fix saying fix, and that every other
// check is ok, or in also.
func expect(t *testing.T, got map[string]checkResult, id string, v verdict, fix string, also map[string]verdict) {
	t.Helper()
	c := got[id]
	if c.Verdict != v || !strings.Contains(c.Fix, fix) {
		t.Fatalf("%s: %+v, want %s with a fix saying %q", id, c, v, fix)
	}
	for oid, oc := range got {
		want := verdictOK
		if w, ok := also[oid]; ok {
			want = w
		}
		if oid != id && oc.Verdict != want {
			t.Errorf("%s: %+v, want %s", oid, oc, want)
		}
	}
}

func TestDoctorAllGreen(t *testing.T) {
	h := newDoctorHarness(t)
	got, _, err := h.run()
	if err != nil {
		t.Fatal(err)
	}
	for id, c := range got {
		if c.Verdict != verdictOK || c.Fix != "" {
			t.Errorf("%s: %+v", id, c)
		}
	}
	if d := got[checkPublicURL].Detail; !strings.Contains(d, "Twilio will sign "+h.pub.URL+"/incoming-call") {
		t.Errorf("public URL: %s", d)
	}
	if d := got[checkNumber].Detail; !strings.Contains(d, "goes to this server") {
		t.Errorf("number: %s", d)
	}
	if d := got[checkOpenAIModel].Detail; d != "Realtime: gpt-realtime" {
		t.Errorf("model: %s", d)
	}
	// The JSON names are documented: they do not change.
	_, out, _ := h.run()
	var raw struct {
		OK         *bool            `json:"ok"`
		Checks     []map[string]any `json:"checks"`
		WebhookURL *string          `json:"webhook_url"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil || raw.OK == nil || raw.WebhookURL == nil || len(raw.Checks) != 8 {
		t.Fatalf("JSON %v: %s", err, out)
	}
	var ids []string
	for _, c := range raw.Checks {
		ids = append(ids, c["id"].(string))
		for _, k := range []string{"title", "verdict", "detail"} {
			if _, ok := c[k]; !ok {
				t.Errorf("check %v has no %q", c["id"], k)
			}
		}
	}
	if got := strings.Join(ids, ","); got != "config,openai_key,openai_model,twilio_credentials,twilio_number,ngrok_token,public_url,clock" {
		t.Errorf("ids %s", got)
	}
	// Each service was asked once, read-only.
	for _, r := range h.api.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("doctor changed something: %s %s", r.Method, r.Path)
		}
	}
}

func TestDoctorTerminal(t *testing.T) {
	h := newDoctorHarness(t)
	h.env["OPENAI_API_KEY"] = "sk-wrong-key-0123456789"
	h.number.VoiceURL = "https://elsewhere.example.com/\x1b[31mvoice"
	h.api.AddNumber(h.number)
	var out bytes.Buffer
	f := &Factory{IO: &IOStreams{Out: &out, ErrOut: &out}, Now: time.Now, HTTPClient: h.pub.Client(),
		Env: &Env{Getenv: func(k string) string { return h.env[k] }, Path: "/nonexistent/.env"}}
	root := NewRootCmd(f)
	root.SetArgs([]string{"doctor"})
	if err := root.ExecuteContext(context.Background()); !errors.Is(err, errChecksFailed) {
		t.Fatalf("err %v", err)
	}
	text := out.String()
	for _, want := range []string{"✗ OpenAI API key ", "fix: Create a key at https://platform.openai.com/api-keys",
		"· Model access", "skipped: the key was refused", "! Phone number ", "1 check failed, 1 warning."} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b") || strings.Contains(text, "wrong-") {
		t.Errorf("raw or secret text on the terminal:\n%q", text)
	}
}

func TestFaultDoctorBrokenSettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *doctorHarness)
		args  []string
		id    string
		v     verdict
		fix   string
		also  map[string]verdict
	}{
		{name: "bad key", setup: func(h *doctorHarness) { h.env["OPENAI_API_KEY"] = "sk-proj-wrong-0123456789abcdef" },
			id: checkOpenAIKey, v: verdictFail, fix: "platform.openai.com/api-keys", also: map[string]verdict{checkOpenAIModel: verdictSkipped}},
		{name: "no model access", setup: func(h *doctorHarness) { h.model.AllowModels("gpt-realtime-mini") },
			id: checkOpenAIModel, v: verdictFail, fix: "--model"},
		{name: "GPT-Live backend without access", args: []string{"--model", "gpt-live-1"},
			setup: func(h *doctorHarness) { h.env["OPENAI_BASE_URL"] = h.liveURL; h.live.AllowModels("gpt-live-1") },
			id:    checkOpenAIModel, v: verdictFail, fix: "backend_model"},
		{name: "bad Twilio token", setup: func(h *doctorHarness) { h.env["TWILIO_AUTH_TOKEN"] = strings.Repeat("f", 32) },
			id: checkTwilio, v: verdictFail, fix: "Auth Token", also: map[string]verdict{checkNumber: verdictSkipped}},
		{name: "number pointed elsewhere", setup: func(h *doctorHarness) { h.number.VoiceURL = "https://elsewhere.example.com/voice" },
			id: checkNumber, v: verdictWarn, fix: "/incoming-call (POST)"},
		{name: "number held by another dev", setup: func(h *doctorHarness) {
			h.number.VoiceURL = "https://abc.ngrok.app/incoming-call?callagent_dev=0a0b0c0d0e0f"
		}, id: checkNumber, v: verdictWarn, fix: "--take-over"},
		{name: "number on a SIP trunk", setup: func(h *doctorHarness) { h.number.TrunkSID = "TK1" },
			id: checkNumber, v: verdictFail, fix: "SIP trunk"},
		{name: "number bound to a TwiML App", setup: func(h *doctorHarness) { h.number.VoiceApplicationSID = "AP1" },
			id: checkNumber, v: verdictWarn, fix: "--take-over"},
		{name: "number without a voice URL", setup: func(h *doctorHarness) { h.number.VoiceURL = "" },
			id: checkNumber, v: verdictWarn, fix: "Set its voice URL to https://"},
		{name: "number not on the account", args: []string{"--number", "+14155550199"},
			id: checkNumber, v: verdictFail, fix: "callagent numbers"},
		{name: "suspended Twilio account", setup: func(h *doctorHarness) { h.api.AccountStatus = "suspended" },
			id: checkTwilio, v: verdictFail, fix: "Reactivate", also: map[string]verdict{checkNumber: verdictSkipped}},
		{name: "serve without the account SID", setup: func(h *doctorHarness) { delete(h.env, "TWILIO_ACCOUNT_SID") },
			id: checkTwilio, v: verdictWarn, fix: "TWILIO_ACCOUNT_SID", also: map[string]verdict{checkNumber: verdictSkipped}},
		{name: "http public URL", setup: func(h *doctorHarness) {
			h.env["CALLAGENT_PUBLIC_URL"] = "http://" + strings.TrimPrefix(h.pub.URL, "https://")
		},
			id: checkPublicURL, v: verdictFail, fix: "https://", also: map[string]verdict{checkNumber: verdictWarn}},
		{name: "public URL not answering", args: []string{"--public-url", "https://127.0.0.1:1"},
			id: checkPublicURL, v: verdictWarn, fix: "forward to its --addr", also: map[string]verdict{checkNumber: verdictWarn}},
		{name: "clock skew", setup: func(h *doctorHarness) { h.now = func() time.Time { return time.Now().Add(10 * time.Minute) } },
			id: checkClock, v: verdictWarn, fix: "Synchronise the clock"},
		{name: "no ngrok token", setup: func(h *doctorHarness) { delete(h.env, "CALLAGENT_PUBLIC_URL"); h.env["NGROK_AUTHTOKEN"] = "" },
			id: checkNgrok, v: verdictFail, fix: "dashboard.ngrok.com", also: map[string]verdict{checkPublicURL: verdictSkipped}},
		{name: "quoted ngrok token", setup: func(h *doctorHarness) { h.env["NGROK_AUTHTOKEN"] = `"` + doctorNgrok + `"` },
			id: checkNgrok, v: verdictFail, fix: "Remove them"},
		{name: "broken configuration", args: []string{"--config", "testdata/doctor-broken.yaml"},
			id: checkConfig, v: verdictFail, fix: "config validate", also: map[string]verdict{checkOpenAIModel: verdictSkipped}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newDoctorHarness(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			got, _, err := h.run(tc.args...)
			expect(t, got, tc.id, tc.v, tc.fix, tc.also)
			if (tc.v == verdictFail) != errors.Is(err, errChecksFailed) {
				t.Fatalf("err %v for a %s", err, tc.v)
			}
		})
	}
}

// TestDoctorAllMissing: with nothing set, every missing setting is reported in
// the one run.
func TestDoctorAllMissing(t *testing.T) {
	h := newDoctorHarness(t)
	for _, k := range []string{"OPENAI_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "NGROK_AUTHTOKEN", "CALLAGENT_PUBLIC_URL"} {
		delete(h.env, k)
	}
	got, _, err := h.run()
	if !errors.Is(err, errChecksFailed) {
		t.Fatal(err)
	}
	for id, want := range map[string]string{checkOpenAIKey: "OPENAI_API_KEY", checkTwilio: "TWILIO_ACCOUNT_SID", checkNgrok: "NGROK_AUTHTOKEN"} {
		if c := got[id]; c.Verdict != verdictFail || !strings.Contains(c.Detail, want) {
			t.Errorf("%s: %+v", id, c)
		}
	}
	if d := got[checkTwilio].Detail; !strings.Contains(d, "TWILIO_AUTH_TOKEN") {
		t.Errorf("twilio: %s", d)
	}
}

// A gateway in front of OpenAI (OPENAI_BASE_URL) that does not serve /v1/models
// answers 404 without the API's model_not_found: access is then unconfirmed (a
// warning), never a refusal that would stop dev and serve.
func TestDoctorGatewayWithoutModels(t *testing.T) {
	h := newDoctorHarness(t)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	defer gw.Close()
	h.env["OPENAI_BASE_URL"] = gw.URL + "/v1"
	got, _, err := h.run()
	if err != nil {
		t.Fatal(err)
	}
	expect(t, got, checkOpenAIModel, verdictWarn, "Models: Read", nil)
}

// A service that never answers is a warning once --timeout has passed: doctor
// does not hang, and the other checks still report.
func TestDoctorServiceThatNeverAnswers(t *testing.T) {
	h := newDoctorHarness(t)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	h.env["OPENAI_BASE_URL"] = hang.URL + "/v1"
	got, _, err := h.run("--timeout", "300ms")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, got, checkOpenAIKey, verdictWarn, "Check the network", map[string]verdict{checkOpenAIModel: verdictSkipped})
}

func TestClockCheck(t *testing.T) {
	for _, tc := range []struct {
		samples []clockSample
		want    verdict
		detail  string
	}{
		{nil, verdictSkipped, "no service answered"},
		{[]clockSample{{"Twilio", 2 * time.Second}, {"OpenAI", -time.Second}}, verdictOK, "within 30s of OpenAI and Twilio"},
		// One server's clock off, the other's right: ours is not blamed.
		{[]clockSample{{"Twilio", 5 * time.Minute}, {"OpenAI", time.Second}}, verdictOK, ""},
		{[]clockSample{{"Twilio", -90 * time.Second}, {"OpenAI", -91 * time.Second}}, verdictWarn, "1m30s ahead of Twilio's"},
		{[]clockSample{{"OpenAI", 45 * time.Second}}, verdictWarn, "45s behind OpenAI's"},
	} {
		got := clockCheck(tc.samples)
		if got.Verdict != tc.want || !strings.Contains(got.Detail, tc.detail) {
			t.Errorf("%v: %+v", tc.samples, got)
		}
	}
}

func TestModelsURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "https://api.openai.com/v1/models/gpt-realtime",
		"https://gw.example.com/v1/": "https://gw.example.com/v1/models/gpt-realtime",
		"wss://gw.example.com/v1":    "https://gw.example.com/v1/models/gpt-realtime",
		"ws://127.0.0.1:9/v1":        "http://127.0.0.1:9/v1/models/gpt-realtime",
	} {
		if got := modelsURL(in, "gpt-realtime"); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}
