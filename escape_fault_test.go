package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// hostileJSON is an API's error message with an OSC that sets the window
// title, CSI clear-screen, the C1 CSI character and a right-to-left override.
const hostileJSON = `Authenticate \u001b]0;pwned\u0007\u001b[2J\u009b2J\u202eevil`

// An error whose message comes from a remote API (Twilio's REST API, OpenAI's
// speech endpoint) is printed by main without any escape sequence.
func TestFaultErrorMessageEscapes(t *testing.T) {
	t.Run("twilio", func(t *testing.T) {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"code":20001,"message":"` + hostileJSON + `","more_info":"https://www.twilio.com/docs/errors/20001","status":400}`))
		}))
		defer api.Close()
		checkErrorPrinted(t, []string{"TWILIO_ACCOUNT_SID=AC00000000000000000000000000000001",
			"TWILIO_AUTH_TOKEN=0123456789abcdef0123456789abcdef", "CALLAGENT_TWILIO_API_URL=" + api.URL}, "numbers")
	})
	t.Run("openai", func(t *testing.T) {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":{"message":"` + hostileJSON + `","type":"invalid_request_error","code":null}}`))
		}))
		defer api.Close()
		checkErrorPrinted(t, []string{"OPENAI_API_KEY=sk-test-0123456789abcdef", "OPENAI_BASE_URL=" + api.URL + "/v1"},
			"simulate", "--real", "--no-call-log")
	})
}

// checkErrorPrinted runs callagent, which must fail with exit code 1 and say
// what the API said, without the escapes.
func checkErrorPrinted(t *testing.T, env []string, args ...string) {
	t.Helper()
	bin := buildBinary(t)
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir() // no .env
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir()}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("callagent %v: %v\nstderr: %s", args, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Authenticate") || !strings.Contains(stderr.String(), "evil") {
		t.Fatalf("the error does not say what the API said:\n%q", stderr.String())
	}
	for _, c := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
		if strings.Contains(stderr.String()+stdout.String(), c) {
			t.Errorf("%q reached the terminal:\n%q", c, stderr.String())
		}
	}
}
