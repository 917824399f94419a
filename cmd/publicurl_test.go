package cmd

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParsePublicURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "https://agent.example.com", want: "https://agent.example.com"},
		{in: "https://agent.example.com/", want: "https://agent.example.com"},
		{in: "http://127.0.0.1:5050", want: "http://127.0.0.1:5050"},
		{in: "https://example.com/callagent/", want: "https://example.com/callagent"},
		{in: "HTTPS://agent.example.com", want: "https://agent.example.com"},
		{in: " https://x", err: `--public-url " https://x": remove the spaces around it`},
		{in: "https://x ", err: `--public-url "https://x ": remove the spaces around it`},
		{in: "https://x\n", err: "remove the spaces around it"},
		{in: "agent.example.com", err: `--public-url "agent.example.com": want an absolute https URL`},
		{in: "ftp://agent.example.com", err: "want an absolute https URL"},
		{in: "wss://agent.example.com", err: "want an absolute https URL"},
		{in: "https://", err: "want an absolute https URL"},
		{in: "https://:443", err: "want an absolute https URL"},
		{in: "https:agent.example.com", err: "want an absolute https URL"},
		{in: "https://agent.example.com:port", err: "want an absolute https URL"},
		{in: "https://a b.example.com", err: "want an absolute https URL"},
		{in: "https://user:hunter2@agent.example.com", err: "remove the user info"},
		{in: "https://agent.example.com?x=1", err: "remove the query and fragment"},
		{in: "https://agent.example.com?", err: "remove the query and fragment"},
		{in: "https://agent.example.com/#top", err: "remove the query and fragment"},
	}
	for _, tt := range tests {
		got, err := parsePublicURL(tt.in)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "--public-url ") || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: err = %v, want a usage error naming --public-url with %q", tt.in, err, tt.err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error shows the password", tt.in)
		}
	}
}

// dev and serve take --public-url (or CALLAGENT_PUBLIC_URL) through one parser: the
// same value is accepted or refused by both, with the same error.
func TestPublicURLSameInDevAndServe(t *testing.T) {
	devEnv := map[string]string{"OPENAI_API_KEY": "k", "TWILIO_AUTH_TOKEN": devToken}
	for _, in := range []string{" https://x", "https://x ", "https://x.example/?a=1", "x.example", "https://x.example/"} {
		for _, viaEnv := range []bool{false, true} {
			var devArgs, serveArgs []string
			dEnv, sEnv := maps.Clone(devEnv), map[string]string{"OPENAI_API_KEY": "k"}
			if viaEnv {
				dEnv["CALLAGENT_PUBLIC_URL"], sEnv["CALLAGENT_PUBLIC_URL"] = in, in
			} else {
				devArgs, serveArgs = []string{"--public-url", in}, []string{"--public-url", in}
			}
			d, devErr := parseDev(t, dEnv, append(devArgs, "--no-provision")...)
			s, serveErr := parseServe(t, sEnv, "", serveArgs...)
			if (devErr == nil) != (serveErr == nil) || (devErr != nil && devErr.Error() != serveErr.Error()) {
				t.Errorf("%q (env %v): dev %v, serve %v", in, viaEnv, devErr, serveErr)
				continue
			}
			if devErr == nil && d.PublicURL != s.PublicURL {
				t.Errorf("%q (env %v): dev %q, serve %q", in, viaEnv, d.PublicURL, s.PublicURL)
			}
		}
	}
}
