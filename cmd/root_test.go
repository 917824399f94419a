package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func testFactory() (*Factory, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &Factory{
		IO:    &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut},
		Env:   &Env{Getenv: func(string) string { return "" }, Path: "/nonexistent/.env"},
		Now:   func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
		Build: BuildInfo{Version: "1.2.3", Commit: "0123456789abcdef", Date: "2026-11-23T00:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"},
	}, out, errOut
}

func execute(args ...string) (stdout, stderr string, code int) {
	f, out, errOut := testFactory()
	root := NewRootCmd(f)
	root.SetArgs(args)
	ctx := context.Background()
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), ExitCode(ctx, err)
}

func TestVersion(t *testing.T) {
	want := "callagent 1.2.3 (0123456789ab, 2026-11-23T00:00:00Z) go1.26.8 linux/amd64\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, code := execute(args...)
		if out != want || code != ExitOK {
			t.Errorf("%v: %q, exit %d; want %q", args, out, code, want)
		}
	}
	out, _, _ := execute("version", "--json")
	var b BuildInfo
	if err := json.Unmarshal([]byte(out), &b); err != nil || b.Version != "1.2.3" || b.Commit != "0123456789abcdef" {
		t.Fatalf("version --json = %s (%v)", out, err)
	}
}

func TestBuildInfoFallback(t *testing.T) {
	b := ReadBuildInfo()
	if b.Version == "" || b.GoVersion == "" || !strings.Contains(b.Platform, "/") {
		t.Fatalf("ReadBuildInfo() = %+v", b)
	}
	if s := (BuildInfo{Version: "dev", Commit: "abc", Modified: true, GoVersion: "go1", Platform: "x/y"}).String(); s != "callagent dev (abc, modified) go1 x/y" {
		t.Fatalf("String() = %q", s)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"versoin"}, `did you mean version?`},
		{[]string{"version", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"version", "extra"}, `unknown command "extra"`},
		{[]string{"completion", "nope"}, `unknown command "nope" for "callagent completion"`},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		root := NewRootCmd(f)
		root.SetArgs(tt.args)
		err := root.ExecuteContext(context.Background())
		if code := ExitCode(context.Background(), err); code != ExitUsage || err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%v: err %v, exit %d; want %q and exit 2", tt.args, err, code, tt.msg)
		}
	}
}

func TestHelpListsCommands(t *testing.T) {
	out, _, code := execute("--help")
	if code != ExitOK || !strings.Contains(out, "version") || !strings.Contains(out, "Examples:") {
		t.Fatalf("help (exit %d):\n%s", code, out)
	}
	out, _, _ = execute()
	if !strings.Contains(out, "Usage:") {
		t.Fatalf("bare callagent does not show usage:\n%s", out)
	}
}

func TestExitCodes(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		ctx  context.Context
		err  error
		want int
	}{
		{context.Background(), nil, ExitOK},
		{context.Background(), errors.New("boom"), ExitFailure},
		{context.Background(), usageErrorf("bad flag"), ExitUsage},
		{cancelled, errors.New("stopped"), ExitInterrupted},
		{context.Background(), context.Canceled, ExitInterrupted},
		{cancelled, usageErrorf("bad flag"), ExitUsage},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.ctx, tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// Every command has an example in its help, and the completion scripts generate
// for every shell.
func TestEveryCommandHasExamples(t *testing.T) {
	f, _, _ := testFactory()
	root := NewRootCmd(f)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() != "help" && c.Example == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, _, code := execute("completion", shell)
		if code != ExitOK || len(out) < 1000 || !strings.Contains(out, "callagent") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, code, len(out))
		}
	}
}
