package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// inDir runs fn with the working directory set to a fresh temporary one.
func inDir(t *testing.T, fn func(dir string)) {
	t.Helper()
	dir := t.TempDir()
	old, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(old)
	fn(dir)
}

func TestInitAndValidate(t *testing.T) {
	inDir(t, func(dir string) {
		_, stderr, code := execute("init")
		if code != ExitOK || !strings.Contains(stderr, "wrote callagent.yaml") {
			t.Fatalf("init: exit %d, %s", code, stderr)
		}
		if _, _, code := execute("init"); code != ExitUsage {
			t.Fatalf("init over an existing file: exit %d, want 2", code)
		}
		if _, _, code := execute("init", "--force"); code != ExitOK {
			t.Fatalf("init --force: exit %d", code)
		}
		stdout, _, code := execute("config", "validate")
		if code != ExitOK || !strings.Contains(stdout, "callagent.yaml is valid: 1 agent(s) (greeter), 2 tool(s)") {
			t.Fatalf("validate: exit %d, %q", code, stdout)
		}
		bad := "agents:\n  - name: ada\n    instructions: Hi.\n    voice: marnie\n    tools: [nope]\n"
		os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o644)
		f, _, _ := testFactory()
		root := NewRootCmd(f)
		root.SetArgs([]string{"config", "validate", "--config", "bad.yaml"})
		err := root.ExecuteContext(context.Background())
		var ue *UsageError
		if !errors.As(err, &ue) || ExitCode(context.Background(), err) != ExitUsage {
			t.Fatalf("invalid file: %v", err)
		}
		for _, want := range []string{`bad.yaml:4:12: agents[ada]: voice "marnie" is not a Realtime voice: did you mean "marin"?`,
			`bad.yaml:5:13: agents[ada]: tools: there is no tool named "nope"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("missing %q in:\n%v", want, err)
			}
		}
		if _, _, code := execute("config", "validate", "--config", "missing.yaml"); code != ExitUsage {
			t.Fatalf("missing file: exit %d", code)
		}
		// CALLAGENT_CONFIG names the file, as for dev and serve.
		f, _, _ = testFactory()
		f.Env = &Env{Getenv: func(k string) string { return map[string]string{"CALLAGENT_CONFIG": "bad.yaml"}[k] }, Path: "/nonexistent/.env"}
		root = NewRootCmd(f)
		root.SetArgs([]string{"config", "validate"})
		if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "bad.yaml:4:12") {
			t.Fatalf("CALLAGENT_CONFIG=bad.yaml: %v", err)
		}
	})
}

// serve refuses to start on an invalid configuration, listing the problems.
func TestServeRejectsBadConfig(t *testing.T) {
	inDir(t, func(dir string) {
		os.WriteFile(filepath.Join(dir, "callagent.yaml"), []byte("agents:\n  - name: ada\n    instructions: Hi.\n    speed: 9\n"), 0o644)
		f, _, _ := testFactory()
		opts := &serveOptions{Addr: "127.0.0.1:0", PublicURL: "https://x.example", agentOverrides: agentOverrides{Model: "gpt-realtime"}, DrainTimeout: 1,
			LogFormat: "json", LogLevel: "info", AuthToken: "t", commonOptions: commonOptions{APIKey: "k", callLog: callLogOptions{Off: true}}}
		err := serveRun(context.Background(), f, opts)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "callagent.yaml:4:12: agents[ada]: speed 9") {
			t.Fatalf("err = %v", err)
		}
	})
}
