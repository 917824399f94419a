package cmd

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

// waitRefused waits for dev to return an error without ever becoming ready.
func (h *devHarness) waitRefused() error {
	h.t.Helper()
	select {
	case err := <-h.done:
		if err == nil {
			h.t.Fatalf("dev returned nil\n%s", h.errOut.String())
		}
		if strings.Contains(h.errOut.String(), "Ready.") {
			h.t.Fatalf("dev was ready before it refused:\n%s", h.errOut.String())
		}
		return err
	case <-time.After(20 * time.Second):
		h.cancel()
		<-h.done
		h.t.Fatalf("dev started with a broken setting:\n%s", h.errOut.String())
	}
	return nil
}

// Issue 16, item 1: a key OpenAI refuses was found only when a call failed. dev now
// asks OpenAI first and refuses to start: the number is never touched and no
// tunnel or server is opened.
func TestFaultDevRefusesBadKey(t *testing.T) {
	leakcheck.Check(t)
	h := newDevHarness(t)
	h.model.APIKey = "sk-the-right-key-0123456789"
	h.launch() // the harness's key is sk-test
	err := h.waitRefused()
	msg := err.Error()
	for _, want := range []string{"OpenAI API key", "refused OPENAI_API_KEY (HTTP 401 invalid_api_key)", "https://platform.openai.com/api-keys", "--skip-checks"} {
		if !strings.Contains(msg, want) {
			t.Errorf("no %q in %q", want, msg)
		}
	}
	if !strings.Contains(h.errOut.String(), "✗ Checking the OpenAI key and the Twilio credentials") {
		t.Errorf("no failed step:\n%s", h.errOut.String())
	}
	for _, r := range h.api.Requests() {
		if r.Method != http.MethodGet {
			t.Fatalf("dev changed the number with a bad key: %s %s", r.Method, r.Path)
		}
	}
	if ExitCode(context.Background(), err) != ExitUsage {
		t.Errorf("exit code %d", ExitCode(context.Background(), err))
	}
}

// A key without access to the configured model is refused the same way.
func TestDevRefusesModelWithoutAccess(t *testing.T) {
	h := newDevHarness(t)
	h.model.AllowModels("gpt-realtime-mini")
	h.launch()
	if err := h.waitRefused(); !strings.Contains(err.Error(), "the key has no access to gpt-realtime (HTTP 404 model_not_found)") {
		t.Fatal(err)
	}
}

// Twilio credentials Twilio refuses stop dev before the number is looked up.
func TestDevRefusesBadTwilioToken(t *testing.T) {
	h := newDevHarness(t)
	h.api.AuthToken = strings.Repeat("f", 32) // the harness's token no longer matches
	h.launch("--insecure-skip-signature")
	if err := h.waitRefused(); !strings.Contains(err.Error(), "Twilio refused the credentials (HTTP 401, error 20003)") {
		t.Fatal(err)
	}
	if n := len(h.api.Requests()); n != 1 {
		t.Fatalf("%d requests to Twilio, want the account fetch alone", n)
	}
}

// --skip-checks starts without asking: the bad key is then found by the call.
func TestDevSkipChecks(t *testing.T) {
	h := newDevHarness(t)
	h.model.APIKey = "sk-the-right-key-0123456789"
	h.start("--skip-checks")
	if strings.Contains(h.errOut.String(), "Checking the OpenAI key") {
		t.Fatal("checked despite --skip-checks")
	}
	h.stop()
}

// With the checks passing, dev says what it checked.
func TestDevStartupChecksPass(t *testing.T) {
	h := newDevHarness(t)
	h.start()
	if !strings.Contains(h.errOut.String(), "accepted OPENAI_API_KEY · Realtime: gpt-realtime") || !strings.Contains(h.errOut.String(), "Twilio account "+devAccount) {
		t.Fatalf("no passed checks:\n%s", h.errOut.String())
	}
	h.stop()
}

// Issue 16, item 1: missing credentials were reported one per run (four runs to
// learn four variables). dev now names them all in the one error.
func TestFaultDevReportsAllMissingSettings(t *testing.T) {
	_, err := parseDev(t, map[string]string{})
	if err == nil {
		t.Fatal("dev started with nothing set")
	}
	for _, want := range []string{"OPENAI_API_KEY", "NGROK_AUTHTOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %s in %q", want, err)
		}
	}
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Errorf("not a usage error: %v", err)
	}
	// Without provisioning, only what dev then needs.
	_, err = parseDev(t, map[string]string{}, "--no-provision", "--public-url", "https://x.example")
	if err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") || !strings.Contains(err.Error(), "TWILIO_AUTH_TOKEN") ||
		strings.Contains(err.Error(), "TWILIO_ACCOUNT_SID") || strings.Contains(err.Error(), "NGROK_AUTHTOKEN") {
		t.Errorf("--no-provision --public-url: %v", err)
	}
}

// Issue 16, item 1: serve reports every missing setting at once too.
func TestFaultServeReportsAllMissingSettings(t *testing.T) {
	_, err := parseServe(t, map[string]string{}, "")
	if err == nil {
		t.Fatal("serve started with nothing set")
	}
	for _, want := range []string{"OPENAI_API_KEY", "--public-url", "TWILIO_AUTH_TOKEN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %s in %q", want, err)
		}
	}
}

// Issue 16, item 1: serve with a key OpenAI refuses started and answered calls that
// could only fail. It now refuses before it listens.
func TestFaultServeRefusesBadKey(t *testing.T) {
	leakcheck.Check(t)
	model := &realtimetest.Model{APIKey: "sk-the-right-key-0123456789"}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()
	defer model.Close()
	f, _, _ := testFactory()
	out := &syncbuf.Buffer{}
	f.IO.Out = out
	opts := &serveOptions{Addr: "127.0.0.1:0", PublicURL: "https://calls.example.com", DrainTimeout: time.Second, LogFormat: "json", LogLevel: "info",
		AuthToken: "tok", commonOptions: commonOptions{APIKey: "sk-test", BaseURL: modelSrv.URL + "/v1", callLog: callLogOptions{Dir: t.TempDir()}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := serveRun(ctx, f, opts)
	if err == nil || !strings.Contains(err.Error(), "refused OPENAI_API_KEY (HTTP 401 invalid_api_key)") {
		t.Fatalf("serve with a bad key: %v\n%s", err, out)
	}
	if strings.Contains(out.String(), "callagent serving") {
		t.Fatal("serve listened with a bad key")
	}
	// --skip-checks: serve starts (and is stopped at once).
	opts.Skip = true
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveRun(ctx2, f, opts) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "callagent serving") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel2()
	if err := <-done; err != nil || !strings.Contains(out.String(), "callagent serving") {
		t.Fatalf("serve --skip-checks: %v\n%s", err, out)
	}
}
