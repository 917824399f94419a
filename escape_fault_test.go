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

// An error whose message comes from a remote API (here Twilio's, with an OSC
// that sets the window title, CSI clear-screen, the C1 CSI character and a
// right-to-left override) is printed by main without any of them.
func TestFaultErrorMessageEscapes(t *testing.T) {
	bin := buildBinary(t)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":20001,"message":"Authenticate \u001b]0;pwned\u0007\u001b[2J\u009b2J\u202eevil","more_info":"https://www.twilio.com/docs/errors/20003","status":400}`))
	}))
	defer api.Close()
	cmd := exec.Command(bin, "numbers")
	cmd.Dir = t.TempDir() // no .env
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TWILIO_ACCOUNT_SID=AC00000000000000000000000000000001",
		"TWILIO_AUTH_TOKEN=0123456789abcdef0123456789abcdef", "CALLAGENT_TWILIO_API_URL=" + api.URL}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("callagent numbers: %v\nstderr: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Authenticate") || !strings.Contains(stderr.String(), "evil") {
		t.Fatalf("the error does not say what Twilio said:\n%q", stderr.String())
	}
	for _, c := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
		if strings.Contains(stderr.String()+stdout.String(), c) {
			t.Errorf("%q reached the terminal:\n%q", c, stderr.String())
		}
	}
}
