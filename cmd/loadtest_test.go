package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/loadtest"
)

func TestLoadtestOptions(t *testing.T) {
	env := map[string]string{"TWILIO_AUTH_TOKEN": "tok-serve-9", "BASE_TOKEN": "tok-base-9"}
	o, err := parseOptions(t, newLoadtestCmd, env, "",
		"--target", "http://127.0.0.1:5050,pid=42,name=serve", "--target", "http://127.0.0.1:6060,token-env=BASE_TOKEN",
		"--calls", "100", "--ramp", "20s", "--hold", "1m", "--barge-every", "3", "--tool-every", "0", "--omit-silence", "--json")
	if err != nil {
		t.Fatal(err)
	}
	want := []loadtest.Target{{Name: "serve", URL: "http://127.0.0.1:5050", Token: "tok-serve-9", PID: 42},
		{URL: "http://127.0.0.1:6060", Token: "tok-base-9"}}
	if len(o.Options.Targets) != 2 || o.Options.Targets[0] != want[0] || o.Options.Targets[1] != want[1] {
		t.Errorf("targets %+v", o.Options.Targets)
	}
	if o.Calls != 100 || o.Ramp != 20*time.Second || o.Hold != time.Minute || o.BargeEvery != 3 || o.ToolEvery != 0 ||
		!o.OmitSilence || !o.JSON || o.ModelAddr != defaultModelAddr || o.Tool != "weather" {
		t.Errorf("options %+v", o)
	}

	checkFlagErrors(t, env, []flagErrorCase{
		{name: "no target", args: []string{}, names: []string{"--target"}},
		{name: "token on the command line", args: []string{"--target", "http://127.0.0.1:5050,token=abc"}, names: []string{"token-env"}},
		{name: "no token", env: map[string]string{"TWILIO_AUTH_TOKEN": ""}, args: []string{"--target", "http://127.0.0.1:5050"}, names: []string{"TWILIO_AUTH_TOKEN"}},
		{name: "token beside a mistake", args: []string{"--target", "http://127.0.0.1:5050,pid=x,token=sk-secret-9"}, names: []string{"pid"}},
		{name: "bad pid", args: []string{"--target", "http://127.0.0.1:5050,pid=x"}, names: []string{"pid"}},
		{name: "unknown key", args: []string{"--target", "http://127.0.0.1:5050,port=1"}, names: []string{"port"}},
		{name: "not a URL", args: []string{"--target", "127.0.0.1:5050"}, names: []string{"http"}},
		{name: "calls", args: []string{"--target", "http://127.0.0.1:5050", "--calls", "0"}, names: []string{"calls"}},
		{name: "barge after the answer", args: []string{"--target", "http://127.0.0.1:5050", "--barge-after", "3s"}, names: []string{"--barge-after"}},
		{name: "model addr", args: []string{"--target", "http://127.0.0.1:5050", "--model-addr", "5060"}, names: []string{"--model-addr"}},
	}, func(env map[string]string, args ...string) error {
		_, err := parseOptions(t, newLoadtestCmd, env, "", args...)
		return err
	})
}

func TestLoadtestPrintConfig(t *testing.T) {
	f, out, _ := testFactory()
	if err := loadtestRun(context.Background(), f, &loadtestOptions{PrintConfig: true}); err != nil {
		t.Fatal(err)
	}
	if out.String() != loadtest.AgentConfig {
		t.Errorf("printed %q", out)
	}
}

func TestRenderLoadReport(t *testing.T) {
	rep := &loadtest.Report{Calls: 100, Ramp: "20s", Hold: "1m0s", BargeEvery: 2, ToolEvery: 3, Targets: []loadtest.TargetReport{
		{Name: "serve\x1b[31m", Calls: 100, Completed: 99, Failures: map[string]int{"no answer": 1},
			CallerToModel: loadtest.Dist{N: 10, P50: 0.3, P90: 0.9, P99: 4.2, Max: 9},
			Truncation:    loadtest.Dist{N: 3, Min: -12, P50: -2, Max: 4}, BargeIns: 50, Cleared: 50,
			CallerFrames: loadtest.FrameCount{Sent: 1000, Received: 998, Lost: 2},
			Process:      &loadtest.ProcessReport{IdleRSSKB: 20480, PeakRSSKB: 40960, PeakCalls: 100, RSSPerCallKB: 204.8, CPUSeconds: 12, CPUSecondsPerCallMin: 0.8}},
		{Name: "baseline", Calls: 100, Completed: 100},
	}}
	got := renderLoadReport(rep)
	for _, want := range []string{"99 of 100", "no answer ×1", "0.3 / 0.9 / 4.2 / 9.0", "-12.0 / -2.0 / +4.0 (3)", "50 of 50",
		"2 lost, 0 damaged of 1000", "205 KB (idle 20 MB, peak 40 MB at 100 calls)", "0.80 s", "- (no pid)", "baseline"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("an escape reached the table:\n%q", got)
	}
}
