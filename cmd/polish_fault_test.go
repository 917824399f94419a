package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
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

// A --record-dir calls cannot be recorded to is refused when dev starts, before
// the number is touched, as a usage error (issue 16 item 6: it was found when
// the first call ended, its recording lost).
func TestFaultRecordDirCheckedAtStart(t *testing.T) {
	leakcheck.Check(t)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h := newDevHarness(t)
	h.launch("--record-dir", filepath.Join(file, "calls"))
	var err error
	select {
	case err = <-h.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("dev started with a --record-dir it cannot write to\n%s", h.errOut.String())
	}
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--record-dir") {
		t.Fatalf("dev returned %v, want a usage error naming --record-dir", err)
	}
	if got := h.api.Number("PN1"); got != devNumber {
		t.Fatalf("the number was touched: %+v", got)
	}
	// A directory that does not exist yet is created.
	dir := filepath.Join(t.TempDir(), "new", "calls")
	if err := checkRecordDir(dir); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Fatalf("the check left %v (%v)", ents, err)
	}
}
