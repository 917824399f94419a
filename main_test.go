package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildBinary builds callagent once for all the tests of this package.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "callagent-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "callagent")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// The built binary: exit codes and where messages go.
func TestBinaryExitCodes(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct {
		args       []string
		code       int
		stdout     string
		stderrHas  string
		stdoutNone bool
	}{
		{args: []string{"version"}, code: 0, stdout: "callagent "},
		{args: []string{"nonsense"}, code: 2, stderrHas: "callagent: unknown command \"nonsense\"", stdoutNone: true},
		{args: []string{"version", "--nope"}, code: 2, stderrHas: "Run 'callagent version --help' for usage.", stdoutNone: true},
		{args: []string{"--nope"}, code: 2, stderrHas: "Run 'callagent --help' for usage.", stdoutNone: true},
		{args: []string{"serve", "--public-url", "https://x.example"}, code: 2, stderrHas: "OPENAI_API_KEY is not set: export it or put it in .env", stdoutNone: true},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		cmd.Dir = t.TempDir() // no .env
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
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

// serve shuts down cleanly on SIGTERM: it drains and exits 0.
func TestServeExitsCleanlyOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	// --skip-checks: the key is a placeholder and no test may ask OpenAI about it.
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--public-url", "https://calls.example.com", "--log-format", "json", "--skip-checks")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "OPENAI_API_KEY=sk-test", "TWILIO_AUTH_TOKEN=tok", "CALLAGENT_STATE_DIR=" + t.TempDir()}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	ready := false
	for !ready && sc.Scan() {
		ready = strings.Contains(sc.Text(), `"msg":"callagent serving"`)
	}
	if !ready {
		cmd.Process.Kill()
		t.Fatal("serve did not report it was serving")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve did not exit after SIGTERM")
	}
}

// The README's first command: a whole call offline, on a fresh machine with no keys.
// Piped, the transcript is plain text; it shows turns, a barge-in, a tool call and
// the summary, and the exit code is 0.
func TestSimulateOffline(t *testing.T) {
	bin := buildBinary(t)
	home := t.TempDir()
	cmd := exec.Command(bin, "simulate")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("simulate: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if strings.Contains(out, "\x1b") {
		t.Errorf("piped output has escape codes")
	}
	if n := strings.Count(out, "\ncaller  "); n < 2 {
		t.Errorf("%d caller turns", n)
	}
	for _, want := range []string{"✂ caller barged in", "tool    weather", "summary: ", "● call ended"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The call is on record, where callagent logs finds it.
	m := regexp.MustCompile(`call log: callagent logs (CA[0-9a-f]{32})`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr does not say where the call log is:\n%s", stderr.String())
	}
	logs := exec.Command(bin, "logs", m[1])
	logs.Env = cmd.Env
	logged, err := logs.Output()
	if err != nil || !strings.Contains(string(logged), "tool    weather") || !strings.Contains(string(logged), "● call ended") {
		t.Fatalf("callagent logs %s: %v\n%s", m[1], err, logged)
	}
}
