package cmd

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/live/livetest"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/server"
)

// parseServe resolves serve's flags and environment without serving.
func parseServe(t *testing.T, env map[string]string, dotenv string, args ...string) (*serveOptions, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	if dotenv != "" {
		if err := os.WriteFile(path, []byte(dotenv), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return parseOptions(t, newServeCmd, env, path, args...)
}

var baseEnv = map[string]string{"OPENAI_API_KEY": "sk-test", "CALLAGENT_PUBLIC_URL": "https://calls.example.com", "TWILIO_AUTH_TOKEN": "tok"}

func TestServeOptions(t *testing.T) {
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range baseEnv {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		env    map[string]string
		dotenv string
		args   []string
		check  func(*serveOptions) bool
	}{
		{"defaults", baseEnv, "", nil, func(o *serveOptions) bool {
			return o.Addr == "127.0.0.1:5050" && o.Model == "" && !o.modelSet && o.DrainTimeout == 30*time.Second &&
				o.PublicURL == "https://calls.example.com" && o.MaxCalls == 0 && !o.InsecureSkipSignature
		}},
		{"flags", baseEnv, "", []string{"--addr", ":9000", "--max-calls", "7", "--max-call-duration", "10m", "--voice", "cedar"},
			func(o *serveOptions) bool {
				return o.Addr == ":9000" && o.MaxCalls == 7 && o.MaxCallDuration == 10*time.Minute && o.Voice == "cedar"
			}},
		{"listener limits by default", baseEnv, "", nil, func(o *serveOptions) bool {
			return o.listenLimits == listenLimits{HeaderTimeout: server.DefaultReadHeaderTimeout, BodyTimeout: server.DefaultBodyReadTimeout,
				WriteTimeout: server.DefaultWriteTimeout, IdleTimeout: server.DefaultIdleTimeout, StreamStartTimeout: server.DefaultStreamStartTimeout,
				MaxWebhookBody: server.DefaultMaxWebhookBody, PredialWindow: server.DefaultPredialTTL}
		}},
		{"listener limits", baseEnv, "", []string{"--header-timeout", "2s", "--body-timeout", "3s", "--write-timeout", "4s", "--idle-timeout", "5s",
			"--stream-start-timeout", "6s", "--max-webhook-body", "1000", "--predial-window", "7s", "--max-predials", "8", "--max-conns", "9"},
			func(o *serveOptions) bool {
				return o.listenLimits == listenLimits{HeaderTimeout: 2 * time.Second, BodyTimeout: 3 * time.Second, WriteTimeout: 4 * time.Second,
					IdleTimeout: 5 * time.Second, StreamStartTimeout: 6 * time.Second, MaxWebhookBody: 1000, PredialWindow: 7 * time.Second, MaxPredials: 8, MaxConns: 9}
			}},
		{"listener limits from the environment", with(map[string]string{"CALLAGENT_IDLE_TIMEOUT": "9s", "CALLAGENT_MAX_PREDIALS": "3"}), "", nil,
			func(o *serveOptions) bool { return o.IdleTimeout == 9*time.Second && o.MaxPredials == 3 }},
		{"transcripts logged by default", baseEnv, "", nil, func(o *serveOptions) bool { return o.LogTranscripts }},
		{"--log-transcripts=false", baseEnv, "", []string{"--log-transcripts=false"},
			func(o *serveOptions) bool { return !o.LogTranscripts }},
		{"PORT listens on all interfaces", with(map[string]string{"PORT": "8080"}), "", nil,
			func(o *serveOptions) bool { return o.Addr == ":8080" }},
		{"--addr beats PORT", with(map[string]string{"PORT": "8080"}), "", []string{"--addr", "127.0.0.1:1"},
			func(o *serveOptions) bool { return o.Addr == "127.0.0.1:1" }},
		{"CALLAGENT_ variables", with(map[string]string{"CALLAGENT_MAX_CALLS": "3", "CALLAGENT_MODEL": "gpt-realtime-mini"}), "", nil,
			func(o *serveOptions) bool { return o.MaxCalls == 3 && o.Model == "gpt-realtime-mini" }},
		{"flag beats environment", with(map[string]string{"CALLAGENT_MAX_CALLS": "3"}), "", []string{"--max-calls", "4"},
			func(o *serveOptions) bool { return o.MaxCalls == 4 }},
		{"secrets from the environment", with(map[string]string{"TWILIO_AUTH_TOKEN": "tok", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}), "", nil,
			func(o *serveOptions) bool {
				return o.AuthToken == "tok" && o.BaseURL == "http://127.0.0.1:1/v1" && o.APIKey == "sk-test"
			}},
		{".env fills what is not exported", map[string]string{"CALLAGENT_MAX_CALLS": "9"},
			"OPENAI_API_KEY=sk-dotenv\nCALLAGENT_PUBLIC_URL=https://dotenv.example.com\nCALLAGENT_MAX_CALLS=2\nTWILIO_AUTH_TOKEN=tok\n", nil,
			func(o *serveOptions) bool {
				return o.APIKey == "sk-dotenv" && o.PublicURL == "https://dotenv.example.com" && o.MaxCalls == 9
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseServe(t, tt.env, tt.dotenv, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Fatalf("options %+v", o)
			}
		})
	}
}

func TestServeConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		dotenv string
		args   []string
		want   string
	}{
		{"no key", map[string]string{"CALLAGENT_PUBLIC_URL": "https://x.example"}, "", nil, "OPENAI_API_KEY is not set: export it or put it in .env"},
		{"no public URL", map[string]string{"OPENAI_API_KEY": "k"}, "", nil, "--public-url is not set: give the https URL Twilio reaches"},
		{"no public URL over SIP", map[string]string{"OPENAI_API_KEY": "k", "OPENAI_WEBHOOK_SECRET": "whsec_dGVzdA=="}, "", []string{"--sip"},
			"--public-url is not set: give the https URL OpenAI's incoming-call webhooks reach this server at (the endpoint is PUBLIC_URL/openai-webhook"},
		{"bad env value", map[string]string{"OPENAI_API_KEY": "k", "CALLAGENT_PUBLIC_URL": "https://x", "CALLAGENT_MAX_CALLS": "many"}, "", nil,
			`CALLAGENT_MAX_CALLS="many"`},
		{"bad .env", map[string]string{}, "TWILIO_AUTH_TOKEN=tok-secret-123\nOPENAI_API_KEY='sk-unterminated-secret\nX=1\n", nil, ".env:2: this line cannot be read"},
		{"bad .env name", map[string]string{}, "A=1\nB=\"multi\nline\"\nMY-VAR=tok-secret-123\n", nil, ".env:4: this line cannot be read"},
		{"bad flag", baseEnv, "", []string{"--max-calls", "x"}, "invalid argument"},
		{"stray argument", baseEnv, "", []string{"now"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseServe(t, tt.env, tt.dotenv, tt.args...)
			var ue *UsageError
			if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a usage error with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatal("the error quotes a secret of the .env file")
			}
		})
	}
}

// serveRun end to end: JSON logs on stdout, a signed webhook answered with TwiML, and
// a clean return on cancel.
func TestServeRun(t *testing.T) {
	leakcheck.Check(t)
	model := &realtimetest.Model{APIKey: "sk-test"}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()
	defer model.Close()

	f, _, errOut := testFactory()
	out := &syncbuf.Buffer{}
	f.IO.Out = out
	opts := &serveOptions{Addr: "127.0.0.1:0", PublicURL: "https://calls.example.com", agentOverrides: agentOverrides{Model: "gpt-realtime", Voice: "marin"},
		DrainTimeout: time.Second, LogFormat: "auto", LogLevel: "info", AuthToken: "tok",
		commonOptions: commonOptions{APIKey: "sk-test", BaseURL: modelSrv.URL + "/v1", callLog: callLogOptions{Dir: t.TempDir()}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveRun(ctx, f, opts) }()

	addr := ""
	for addr == "" {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, errOut)
		case <-time.After(5 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "callagent serving" {
				addr, _ = line["listen"].(string)
				if line["voice_webhook"] != "https://calls.example.com/incoming-call" {
					t.Errorf("logged webhook %v", line["voice_webhook"])
				}
			}
		}
	}
	form := url.Values{"CallSid": {"CAcmd"}, "From": {"+1"}, "To": {"+2"}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/incoming-call", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signForTest("tok", "https://calls.example.com/incoming-call", form))
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "wss://calls.example.com/media-stream") {
		t.Fatalf("webhook: %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "sk-test") || strings.Contains(out.String(), `"tok"`) {
		t.Fatal("a secret reached the log")
	}
}

// signForTest computes X-Twilio-Signature for a form POST.
func signForTest(token, u string, form url.Values) string {
	var b strings.Builder
	b.WriteString(u)
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + form.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// With a GPT-Live model serve keeps no warm sessions: a Live connection cannot be
// watched before its session starts (a warm one closed while waiting would be
// handed to a call), so each call dials its own, and serve says so.
func TestServeLiveKeepsNoWarmSessions(t *testing.T) {
	leakcheck.Check(t)
	model := &livetest.Model{APIKey: "sk-test"}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()
	defer model.Close()

	f, _, errOut := testFactory()
	out := &syncbuf.Buffer{}
	f.IO.Out = out
	opts := &serveOptions{Addr: "127.0.0.1:0", PublicURL: "https://calls.example.com", agentOverrides: agentOverrides{Model: "gpt-live-1", modelSet: true},
		DrainTimeout: time.Second, LogFormat: "auto", LogLevel: "info", AuthToken: "tok",
		warmOptions:   warmOptions{WarmSessions: 4, WarmMaxAge: time.Minute},
		commonOptions: commonOptions{APIKey: "sk-test", BaseURL: modelSrv.URL + "/v1", callLog: callLogOptions{Dir: t.TempDir()}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveRun(ctx, f, opts) }()
	for !strings.Contains(out.String(), "callagent serving") {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, errOut)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if !strings.Contains(out.String(), "warm sessions are for the Realtime engine") {
		t.Errorf("serve did not say it keeps no warm sessions for GPT-Live:\n%s", out.String())
	}
	// A pool dials at once when serve starts; give it time to show itself.
	select {
	case <-model.Accepted():
		t.Error("serve dialed a GPT-Live session with no call")
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
