package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

// runWith runs the root command with env; it returns stdout, stderr and the exit code.
func runWith(env map[string]string, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	f := &Factory{
		IO:    &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Env:   &Env{Getenv: func(k string) string { return env[k] }, Path: "/nonexistent/.env"},
		Now:   time.Now,
		Build: BuildInfo{Version: "1.2.3"},
	}
	root := NewRootCmd(f)
	root.SetArgs(args)
	ctx := context.Background()
	err := root.ExecuteContext(ctx)
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), ExitCode(ctx, err)
}

// init takes --config like every other command; --path still works, hidden
// (issue 16 item 7).
func TestFaultInitConfigFlag(t *testing.T) {
	dir := t.TempDir()
	for _, flag := range []string{"--config", "--path"} {
		path := filepath.Join(dir, strings.TrimPrefix(flag, "--")+".yaml")
		if _, stderr, code := runWith(nil, "init", flag, path); code != ExitOK {
			t.Fatalf("init %s: exit %d: %s", flag, code, stderr)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("init %s wrote nothing: %v", flag, err)
		}
	}
	help, _, _ := runWith(nil, "init", "--help")
	if !strings.Contains(help, "--config") || strings.Contains(help, "--path") {
		t.Errorf("init --help:\n%s", help)
	}
}

// call names your Twilio number --number, as dev does (and CALLAGENT_NUMBER sets
// both); --from still works, hidden. --json prints the call as documented
// (issue 16 item 7).
func TestFaultCallNumberFlagAndJSON(t *testing.T) {
	api := &twiliorestest.API{AccountSID: devAccount, AuthToken: devToken}
	api.AddNumber(twiliorestest.PhoneNumber{SID: "PN1", PhoneNumber: "+14155550100", VoiceURL: "https://example.com/v", VoiceMethod: "POST"})
	api.AddNumber(twiliorestest.PhoneNumber{SID: "PN2", PhoneNumber: "+14155550199", VoiceURL: "https://example.com/v", VoiceMethod: "POST"})
	srv := httptest.NewServer(api)
	defer srv.Close()
	env := map[string]string{"TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken,
		"CALLAGENT_TWILIO_API_URL": srv.URL, "CALLAGENT_STATE_DIR": t.TempDir()}
	for _, flag := range []string{"--number", "--from"} {
		stdout, stderr, code := runWith(env, "call", "+15551234567", "--public-url", "https://calls.example.com", flag, "+14155550199", "--json")
		if code != ExitOK {
			t.Fatalf("call %s: exit %d: %s", flag, code, stderr)
		}
		var got placedCall
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("call %s --json: %v: %q", flag, err, stdout)
		}
		if !strings.HasPrefix(got.CallSID, "CA") || got.From != "+14155550199" || got.To != "+15551234567" ||
			got.Webhook != "https://calls.example.com/incoming-call" {
			t.Errorf("call %s --json: %+v", flag, got)
		}
	}
	// Two numbers and none chosen: the error names the flag to choose with.
	if _, stderr, code := runWith(env, "call", "+15551234567", "--public-url", "https://calls.example.com"); code != ExitUsage || !strings.Contains(stderr, "choose one with --number") {
		t.Errorf("no number chosen: exit %d: %s", code, stderr)
	}
	help, _, _ := runWith(nil, "call", "--help")
	if !strings.Contains(help, "--number") || strings.Contains(help, "--from") {
		t.Errorf("call --help:\n%s", help)
	}
}

// config validate --json prints one object, valid or not, with the problems'
// positions (issue 16 item 7).
func TestFaultConfigValidateJSON(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("agents:\n  - name: desk\n    instructions: You answer.\n"), 0o600)
	os.WriteFile(bad, []byte("agents:\n  - name: desk\n    instructions: You answer.\n    speed: 9\n"), 0o600)

	stdout, stderr, code := runWith(nil, "config", "validate", "--config", good, "--json")
	var v validation
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || code != ExitOK {
		t.Fatalf("valid file: exit %d, %v: %q %s", code, err, stdout, stderr)
	}
	if !v.Valid || v.File != good || len(v.Agents) != 1 || v.Agents[0] != "desk" || v.Model == "" || len(v.Problems) != 0 {
		t.Errorf("valid file: %+v", v)
	}

	stdout, _, code = runWith(nil, "config", "validate", "--config", bad, "--json")
	v = validation{}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || code != ExitUsage {
		t.Fatalf("broken file: exit %d, %v: %q", code, err, stdout)
	}
	if v.Valid || len(v.Problems) != 1 || v.Problems[0].Line != 4 || v.Problems[0].Column != 12 || !strings.Contains(v.Problems[0].Message, "speed") {
		t.Errorf("broken file: %+v", v)
	}
}

// A command-line mistake points at the help of the command that failed, and bad
// values of flags or of the environment exit 2 before anything is opened
// (issue 16 item 7).
func TestFaultUsageErrorsExit2WithTheCommandsHelp(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "sk-x", "TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken,
		"NGROK_AUTHTOKEN": "n", "CALLAGENT_TWILIO_API_URL": "http://127.0.0.1:1"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for k, v := range env {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		env  map[string]string
		args []string
		hint string // the help the error points at; "" for none
		says string
	}{
		{env, []string{"dev", "--ngrok-timeout", "0"}, "callagent dev", "--ngrok-timeout"},
		{env, []string{"dev", "--no-provision", "--public-url", "https://x.example", "--addr", "nope"}, "callagent dev", "--addr"},
		{env, []string{"serve", "--public-url", "https://x.example", "--addr", "127.0.0.1:99999"}, "callagent serve", "--addr"},
		{env, []string{"call", "+15551234567", "--public-url", "ftp://x"}, "callagent call", "--public-url"},
		{with("PORT", "eighty"), []string{"serve", "--public-url", "https://x.example"}, "", "PORT"},
		{with("OPENAI_BASE_URL", "ftp://x"), []string{"serve", "--public-url", "https://x.example", "--addr", "127.0.0.1:0"}, "", "OPENAI_BASE_URL"},
		{with("OPENAI_BASE_URL", "::nope"), []string{"dev", "--no-provision", "--public-url", "https://x.example", "--addr", "127.0.0.1:0"}, "", "OPENAI_BASE_URL"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := &Factory{
				IO:    &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
				Env:   &Env{Getenv: func(k string) string { return tt.env[k] }, Path: "/nonexistent/.env"},
				Now:   time.Now,
				Build: BuildInfo{Version: "1.2.3"},
			}
			root := NewRootCmd(f)
			root.SetArgs(tt.args)
			// Bounded: a value let through would start the command.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := root.ExecuteContext(ctx)
			if code := ExitCode(ctx, err); code != ExitUsage {
				t.Fatalf("exit %d (%v), want %d", code, err, ExitUsage)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("%q does not name %s", err, tt.says)
			}
			ue, _ := errors.AsType[*UsageError](err)
			if tt.hint != "" && (!ue.Help || ue.HelpHint() != "Run '"+tt.hint+" --help' for usage.") {
				t.Errorf("hint %q (shown: %v), want %s's", ue.HelpHint(), ue.Help, tt.hint)
			}
		})
	}
}
