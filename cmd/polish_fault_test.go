package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// --voice goes through the file's check: an unknown voice is a usage error (exit 2)
// that lists the voices; built-in and custom voices pass (issue 16 item 6).
func TestFaultVoiceFlagValidated(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "k", "CALLAGENT_PUBLIC_URL": "https://calls.example.com", "TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken, "NGROK_AUTHTOKEN": "n"}
	parsers := map[string]func(args ...string) error{
		"dev":   func(args ...string) error { _, err := parseDev(t, env, args...); return err },
		"serve": func(args ...string) error { _, err := parseServe(t, env, "", args...); return err },
	}
	for name, parse := range parsers {
		t.Run(name, func(t *testing.T) {
			err := parse("--voice", "robot")
			var ue *UsageError
			if !errors.As(err, &ue) || ExitCode(context.Background(), err) != ExitUsage {
				t.Fatalf("--voice robot: %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), "--voice") || !strings.Contains(err.Error(), "marin") {
				t.Errorf("the error does not name the flag and the voices: %v", err)
			}
			for _, ok := range []string{"cedar", "voice_1234"} {
				if err := parse("--voice", ok); err != nil {
					t.Errorf("--voice %s: %v", ok, err)
				}
			}
		})
	}
}
