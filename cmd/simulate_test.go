package cmd

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseSimulate(t *testing.T, env map[string]string, args ...string) (*simulateOptions, error) {
	t.Helper()
	f, _, _ := testFactory()
	f.Env = &Env{Getenv: func(k string) string { return env[k] }, Path: "/nonexistent/.env"}
	var got *simulateOptions
	c := newSimulateCmd(f, func(_ context.Context, o *simulateOptions) error { got = o; return nil })
	c.SetFlagErrorFunc(flagError)
	c.SetArgs(args)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	return got, c.Execute()
}

func TestSimulateOptions(t *testing.T) {
	o, err := parseSimulate(t, nil)
	if err != nil || o.Model != "sim" {
		t.Fatalf("no key: %+v %v", o, err)
	}
	o, err = parseSimulate(t, map[string]string{"OPENAI_API_KEY": "sk-x"})
	if err != nil || o.Model != "openai" || o.APIKey != "sk-x" {
		t.Fatalf("with a key: %+v %v", o, err)
	}
	if o, err = parseSimulate(t, map[string]string{"OPENAI_API_KEY": "sk-x"}, "--model", "sim"); err != nil || o.Model != "sim" {
		t.Fatalf("--model sim with a key: %+v %v", o, err)
	}
	for _, args := range [][]string{{"--model", "openai"}, {"--model", "gpt"}, {"--scenario", "a.yaml", "--caller-audio", "b.wav"}} {
		var ue *UsageError
		if _, err := parseSimulate(t, nil, args...); !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

// A scenario whose expectations fail exits 1 and says which.
func TestSimulateFailingScenario(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("name: t\nturns:\n  - say: Hello.\n  - hangup: true\nexpect:\n  tools: [refund]\n"), 0o644)
	f, out, errOut := testFactory()
	inDir(t, func(string) {
		err := simulateRun(context.Background(), f, &simulateOptions{ScenarioPath: path, Model: "sim"})
		if !errors.Is(err, errExpectations) || ExitCode(context.Background(), err) != ExitFailure {
			t.Fatalf("err = %v", err)
		}
	})
	if !strings.Contains(out.String(), `✗ expected a call to tool "refund"`) || !strings.Contains(out.String(), "summary: ") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}
