package cmd

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/callagent/callagent/internal/publicurl"
)

// The flag's parser names the flag; the rule itself is publicurl's (tested there).
func TestParsePublicURL(t *testing.T) {
	if got, err := parsePublicURL("https://agent.example.com/", false); err != nil || got != "https://agent.example.com" {
		t.Errorf("good URL: %q, %v", got, err)
	}
	for in, want := range map[string]string{
		" https://x":                             `--public-url " https://x": remove the spaces around it`,
		"agent.example.com":                      `--public-url "agent.example.com": want an absolute https URL, like https://agent.example.com`,
		"https://user:hunter2@agent.example.com": `--public-url "https://user:xxxxx@agent.example.com": remove the user info`,
		"http://agent.example.com": `--public-url "http://agent.example.com": ` + publicurl.ReasonHTTP +
			" (--insecure-http-public-url accepts it, for a local experiment that no real call can reach)",
	} {
		_, err := parsePublicURL(in, false)
		var ue *UsageError
		if !errors.As(err, &ue) || err.Error() != want {
			t.Errorf("%q: err = %v, want a usage error %q", in, err, want)
		}
	}
}

// dev and serve take --public-url (or CALLAGENT_PUBLIC_URL) through one parser: the
// same value is accepted or refused by both, with the same error.
func TestPublicURLSameInDevAndServe(t *testing.T) {
	devEnv := map[string]string{"OPENAI_API_KEY": "k", "TWILIO_AUTH_TOKEN": devToken}
	for _, in := range []string{" https://x", "https://x ", "https://x.example/?a=1", "x.example", "https://x.example/", "http://x.example",
		"http://127.0.0.1:5050 insecure"} {
		for _, viaEnv := range []bool{false, true} {
			var devArgs, serveArgs []string
			in, insecure := strings.CutSuffix(in, " insecure")
			if insecure {
				devArgs, serveArgs = []string{"--insecure-http-public-url"}, []string{"--insecure-http-public-url"}
			}
			dEnv, sEnv := maps.Clone(devEnv), map[string]string{"OPENAI_API_KEY": "k", "TWILIO_AUTH_TOKEN": devToken}
			if viaEnv {
				dEnv["CALLAGENT_PUBLIC_URL"], sEnv["CALLAGENT_PUBLIC_URL"] = in, in
			} else {
				devArgs, serveArgs = append(devArgs, "--public-url", in), append(serveArgs, "--public-url", in)
			}
			d, devErr := parseDev(t, dEnv, append(devArgs, "--no-provision")...)
			s, serveErr := parseServe(t, sEnv, "", serveArgs...)
			if (devErr == nil) != (serveErr == nil) || (devErr != nil && devErr.Error() != serveErr.Error()) {
				t.Errorf("%q (env %v): dev %v, serve %v", in, viaEnv, devErr, serveErr)
				continue
			}
			if insecure && devErr != nil {
				t.Errorf("%q with the opt-in (env %v): %v", in, viaEnv, devErr)
			}
			if in == "http://x.example" && devErr == nil {
				t.Errorf("http accepted without the opt-in (env %v)", viaEnv)
			}
			if devErr == nil && d.PublicURL != s.PublicURL {
				t.Errorf("%q (env %v): dev %q, serve %q", in, viaEnv, d.PublicURL, s.PublicURL)
			}
		}
	}
}
