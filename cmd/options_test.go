package cmd

import (
	"context"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// parseOptions runs the command newCmd builds with the environment env (and the
// .env file at dotenv) up to its run function, and returns the options it resolved.
func parseOptions[T any](t *testing.T, newCmd func(*Factory, func(context.Context, *T) error) *cobra.Command,
	env map[string]string, dotenv string, args ...string) (*T, error) {
	t.Helper()
	f, _, _ := testFactory()
	f.Env = &Env{Getenv: func(k string) string { return env[k] }, Path: dotenv}
	var got *T
	c := newCmd(f, func(_ context.Context, o *T) error { got = o; return nil })
	c.SetFlagErrorFunc(flagError) // as under the root command
	c.SetArgs(args)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	return got, c.Execute()
}

// flagErrorCase is a command line (and environment) one of dev, serve or simulate
// refuses; the error must name what is wrong: the flag, or the variable that set it.
type flagErrorCase struct {
	name  string
	env   map[string]string // over the command's base environment
	args  []string
	names []string // each must appear in the error
}

func checkFlagErrors(t *testing.T, base map[string]string, tests []flagErrorCase, parse func(env map[string]string, args ...string) error) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := maps.Clone(base)
			maps.Copy(env, tt.env)
			err := parse(env, tt.args...)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			for _, name := range tt.names {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("err = %q, does not name %s", err, name)
				}
			}
			for _, secret := range []string{"sk-secret-9", devToken, "ngrok-secret-9"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("err = %q shows a secret", err)
				}
			}
		})
	}
}

func TestDevFlagErrors(t *testing.T) {
	base := map[string]string{"OPENAI_API_KEY": "sk-secret-9", "TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken,
		"NGROK_AUTHTOKEN": "ngrok-secret-9"}
	tests := []flagErrorCase{
		{"ngrok timeout zero", nil, []string{"--ngrok-timeout", "0"}, []string{"--ngrok-timeout"}},
		{"ngrok timeout not a duration", nil, []string{"--ngrok-timeout", "soon"}, []string{"--ngrok-timeout"}},
		{"ngrok timeout from the environment", map[string]string{"CALLAGENT_NGROK_TIMEOUT": "soon"}, nil, []string{"CALLAGENT_NGROK_TIMEOUT"}},
		{"negative call duration", nil, []string{"--max-call-duration", "-1m"}, []string{"--max-call-duration"}},
		{"unknown debug namespace", nil, []string{"--debug", "twillio"}, []string{"--debug"}},
		{"public URL with a space", nil, []string{"--public-url", " https://x"}, []string{"--public-url"}},
		{"public URL without a scheme", nil, []string{"--public-url", "agent.example.com"}, []string{"--public-url"}},
		{"public URL from the environment", map[string]string{"CALLAGENT_PUBLIC_URL": "https://x?y"}, nil, []string{"--public-url"}},
		{"domain with a public URL", nil, []string{"--public-url", "https://x.example", "--domain", "a.ngrok.app"}, []string{"--domain", "--public-url"}},
		{"number not E.164", nil, []string{"--number", "415 555 0100"}, []string{"--number"}},
		{"number from the environment", map[string]string{"CALLAGENT_NUMBER": "0100"}, nil, []string{"--number"}},
		{"call log age", nil, []string{"--call-log-max-age", "forever"}, []string{"--call-log-max-age"}},
		{"call log size", nil, []string{"--call-log-max-size", "lots"}, []string{"--call-log-max-size"}},
		{"take over not a bool", nil, []string{"--take-over=maybe"}, []string{"--take-over"}},
	}
	checkFlagErrors(t, base, tests, func(env map[string]string, args ...string) error {
		_, err := parseDev(t, env, args...)
		return err
	})
}

func TestServeFlagErrors(t *testing.T) {
	base := map[string]string{"OPENAI_API_KEY": "sk-secret-9", "CALLAGENT_PUBLIC_URL": "https://calls.example.com", "TWILIO_AUTH_TOKEN": devToken}
	tests := []flagErrorCase{
		{"negative max calls", nil, []string{"--max-calls", "-1"}, []string{"--max-calls"}},
		{"max calls not a number", nil, []string{"--max-calls", "many"}, []string{"--max-calls"}},
		{"max calls from the environment", map[string]string{"CALLAGENT_MAX_CALLS": "many"}, nil, []string{"CALLAGENT_MAX_CALLS"}},
		{"drain timeout zero", nil, []string{"--drain-timeout", "0s"}, []string{"--drain-timeout"}},
		{"drain timeout without a unit", nil, []string{"--drain-timeout", "30"}, []string{"--drain-timeout"}},
		{"negative call duration", nil, []string{"--max-call-duration", "-5m"}, []string{"--max-call-duration"}},
		{"log format", nil, []string{"--log-format", "yaml"}, []string{"--log-format"}},
		{"log level", nil, []string{"--log-level", "loud"}, []string{"--log-level"}},
		{"log level from the environment", map[string]string{"CALLAGENT_LOG_LEVEL": "loud"}, nil, []string{"--log-level"}},
		{"unknown debug namespace", nil, []string{"--debug", "twillio"}, []string{"--debug"}},
		{"public URL not http", nil, []string{"--public-url", "ftp://calls.example.com"}, []string{"--public-url"}},
		{"public URL with a space", map[string]string{"CALLAGENT_PUBLIC_URL": " https://x"}, nil, []string{"--public-url"}},
		{"public URL not set", map[string]string{"CALLAGENT_PUBLIC_URL": ""}, nil, []string{"--public-url", "CALLAGENT_PUBLIC_URL"}},
		{"log transcripts not a bool", nil, []string{"--log-transcripts=maybe"}, []string{"--log-transcripts"}},
		{"call log age", nil, []string{"--call-log-max-age", "-3d"}, []string{"--call-log-max-age"}},
		{"header timeout zero", nil, []string{"--header-timeout", "0s"}, []string{"--header-timeout"}},
		{"body timeout negative", nil, []string{"--body-timeout", "-1s"}, []string{"--body-timeout"}},
		{"write timeout zero", nil, []string{"--write-timeout", "0s"}, []string{"--write-timeout"}},
		{"idle timeout without a unit", nil, []string{"--idle-timeout", "75"}, []string{"--idle-timeout"}},
		{"stream start timeout zero", nil, []string{"--stream-start-timeout", "0s"}, []string{"--stream-start-timeout"}},
		{"webhook body zero", nil, []string{"--max-webhook-body", "0"}, []string{"--max-webhook-body"}},
		{"pre-dial window zero", map[string]string{"CALLAGENT_PREDIAL_WINDOW": "0s"}, nil, []string{"--predial-window"}},
		{"negative max pre-dials", nil, []string{"--max-predials", "-1"}, []string{"--max-predials"}},
		{"max conns below -1", nil, []string{"--max-conns", "-2"}, []string{"--max-conns"}},
	}
	checkFlagErrors(t, base, tests, func(env map[string]string, args ...string) error {
		_, err := parseServe(t, env, "", args...)
		return err
	})
}

func TestSimulateFlagErrors(t *testing.T) {
	tests := []flagErrorCase{
		{"unknown model", nil, []string{"--model", "gpt"}, []string{"--model"}},
		{"openai without a key", nil, []string{"--model", "openai"}, []string{"--model openai", "OPENAI_API_KEY"}},
		{"real without a key", nil, []string{"--real"}, []string{"--real", "OPENAI_API_KEY"}},
		{"approve", nil, []string{"--approve", "some"}, []string{"--approve"}},
		{"parallel", nil, []string{"--parallel", "0"}, []string{"--parallel"}},
		{"scenario and caller audio", nil, []string{"--scenario", "a.yaml", "--caller-audio", "b.wav"}, []string{"--scenario", "--caller-audio"}},
		{"unknown debug namespace", nil, []string{"--debug", "twillio"}, []string{"--debug"}},
		{"debug from the environment", map[string]string{"CALLAGENT_DEBUG": "twillio"}, nil, []string{"--debug"}},
		{"call log size", nil, []string{"--call-log-max-size", "lots"}, []string{"--call-log-max-size"}},
	}
	checkFlagErrors(t, map[string]string{}, tests, func(env map[string]string, args ...string) error {
		_, err := parseSimulate(t, env, args...)
		return err
	})
}
