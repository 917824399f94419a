package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The built binary: exit codes and where messages go.
func TestBinaryExitCodes(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "callagent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		args       []string
		code       int
		stdout     string
		stderrHas  string
		stdoutNone bool
	}{
		{args: []string{"version"}, code: 0, stdout: "callagent "},
		{args: []string{"nonsense"}, code: 2, stderrHas: "callagent: unknown command \"nonsense\"", stdoutNone: true},
		{args: []string{"version", "--nope"}, code: 2, stderrHas: "Run 'callagent --help' for usage.", stdoutNone: true},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code || !strings.HasPrefix(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderrHas) ||
			(tt.stdoutNone && stdout.Len() > 0) {
			t.Errorf("callagent %v: exit %d\nstdout: %s\nstderr: %s", tt.args, code, stdout.String(), stderr.String())
		}
	}
}
