package cmd

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/offlinecall"
)

// fromCallConfig is an agent with the weather tool (tools names the agent's tools).
func fromCallConfig(tools string) string {
	return `agents:
  - name: front
    instructions: Help the caller.
    greeting: "Hi."
    turn_detection:
      type: server_vad
      silence_duration_ms: 200
    tools: [` + tools + `]
tools:
  - builtin: weather
  - builtin: hang_up
`
}

// runSimulate runs `callagent simulate args` offline (no key) with the state
// directory state, and returns its stdout, stderr and error.
func runSimulateState(state string, args ...string) (stdout, stderr string, err error) {
	f, out, errOut := logsFactory(state, "")
	root := NewRootCmd(f)
	root.SetArgs(append([]string{"simulate"}, args...))
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// A dev call, driven by the simulated caller against the simulated model, is
// recorded by default; `simulate --from-call` replays it: it passes against the
// same configuration and fails (exit 1, the tool calls named) once the tool the
// caller asked for is gone from it.
// recordDevCall places a call through dev (the simulated caller asks for the
// weather, then hangs up) against the simulated model, with the weather tool,
// and returns dev's state directory, the configuration file, the call's SID and
// its recording's directory once the recording is written and dev stopped.
func recordDevCall(t *testing.T) (state, cfg, sid, recDir string) {
	t.Helper()
	h := newDevHarness(t)
	brain := &offlinecall.Brain{}
	model := brain.Model()
	modelSrv := httptest.NewServer(model)
	t.Cleanup(func() {
		model.Close()
		modelSrv.Close()
	})
	h.env["OPENAI_BASE_URL"] = modelSrv.URL + "/v1"
	state = h.env["CALLAGENT_STATE_DIR"]
	cfg = filepath.Join(t.TempDir(), "callagent.yaml")
	os.WriteFile(cfg, []byte(fromCallConfig("weather, hang_up")), 0o644)
	h.start("--config", cfg)
	recDir = filepath.Join(state, "recordings")
	h.waitErr("Records   " + recDir)

	sid = "CA0000000000000000000000000000fc01"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	caller := h.place(ctx, sid)
	runner := &offlinecall.Runner{Caller: caller}
	sc := &offlinecall.Scenario{Turns: []offlinecall.Turn{{Say: "weather in Rome?"}, {Hangup: true}}}
	if err := runner.Run(ctx, sc); err != nil {
		t.Fatal(err)
	}
	caller.Close()
	h.waitOut("● call ended")
	wav := filepath.Join(recDir, sid+".wav")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(wav); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recording %s\n%s", wav, h.errOut)
		}
	}
	h.stop()
	if !strings.Contains(h.out.String(), "weather") {
		t.Fatalf("the dev call made no weather call:\n%s", h.out)
	}
	return state, cfg, sid, recDir
}

func TestFromCallReplaysADevCall(t *testing.T) {
	leakcheck.Check(t)
	state, cfg, sid, recDir := recordDevCall(t)
	wav := filepath.Join(recDir, sid+".wav")
	for _, p := range []string{recDir, wav} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: %v, mode %v: recordings are the owner's only", p, err, fi.Mode())
		}
	}

	// Two replays at once: the same configuration, and one without the weather tool.
	without := filepath.Join(t.TempDir(), "callagent.yaml")
	os.WriteFile(without, []byte(fromCallConfig("hang_up")), 0o644)
	saved := filepath.Join(t.TempDir(), "replay")
	tmp := t.TempDir() // the replays' own temporary directories are removed
	t.Setenv("TMPDIR", tmp)
	var wg sync.WaitGroup
	var sameErr, lessErr error
	var sameOut, sameErrOut, lessOut, lessErrOut string
	wg.Go(func() {
		sameOut, sameErrOut, sameErr = runSimulateState(state, "--from-call", sid[:20], "--config", cfg, "--save-scenario", saved)
	})
	wg.Go(func() {
		lessOut, lessErrOut, lessErr = runSimulateState(state, "--from-call", sid, "--config", without)
	})
	wg.Wait()
	if sameErr != nil || !strings.Contains(sameErrOut, "replaying "+sid+" (1 caller turn), expecting tool calls weather and ending caller_hangup") {
		t.Fatalf("replay against the same configuration: %v\nstdout:\n%s\nstderr:\n%s", sameErr, sameOut, sameErrOut)
	}
	if !errors.Is(lessErr, errExpectations) || ExitCode(context.Background(), lessErr) != ExitFailure ||
		!strings.Contains(lessOut, "✗ expected the tool calls, in order: weather; the call made: none") {
		t.Fatalf("replay without the weather tool: %v\nstdout:\n%s\nstderr:\n%s", lessErr, lessOut, lessErrOut)
	}

	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// The saved scenario is a test of its own: it loads, and says the recorded line.
	s, err := offlinecall.LoadScenario(filepath.Join(saved, "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Turns) != 2 || s.Turns[0].Audio != "turn-01.wav" || !s.Turns[1].Hangup ||
		strings.Join(s.Expect.ToolCalls, ",") != "weather" || s.Expect.Ended != "caller_hangup" {
		t.Fatalf("saved scenario: %+v", s)
	}
}

// Clear errors: no such call, an ambiguous prefix, a call without a recording.
func TestFromCallErrors(t *testing.T) {
	state := t.TempDir()
	day := filepath.Join(state, "calls", "2026-11-29")
	os.MkdirAll(day, 0o700)
	line := `{"time":"2026-11-29T10:00:00Z","level":"info","ns":"callagent:session","type":"call.started","call_sid":"%s","fields":{}}` + "\n"
	for _, sid := range []string{"CA11aa", "CA11bb"} {
		os.WriteFile(filepath.Join(day, sid+".jsonl"), []byte(strings.ReplaceAll(line, "%s", sid)), 0o600)
	}
	for _, tc := range []struct{ prefix, want string }{
		{"CA99", `no logged call matches "CA99"`},
		{"CA11", `"CA11" matches 2 calls (CA11aa, CA11bb): give more of the call SID`},
		{"CA11aa", "call CA11aa has no recording in " + filepath.Join(state, "recordings") + ": recording was off for it"},
	} {
		_, _, err := runSimulateState(state, "--from-call", tc.prefix)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--from-call %s: %v, want a usage error with %q", tc.prefix, err, tc.want)
		}
	}
	// A recording that is not callagent's (one channel), and a --save-scenario
	// directory that already holds a scenario, are refused before any call.
	rec := filepath.Join(state, "recordings")
	os.MkdirAll(rec, 0o700)
	var wav bytes.Buffer
	audio.WriteMonoWAV(&wav, 8000, make([]int16, 800))
	os.WriteFile(filepath.Join(rec, "CA11aa.wav"), wav.Bytes(), 0o600)
	if _, _, err := runSimulateState(state, "--from-call", "CA11aa"); err == nil || !strings.Contains(err.Error(), "not a callagent recording") {
		t.Errorf("a mono recording: %v", err)
	}
	wav.Reset()
	audio.WriteStereoWAV(&wav, 8000, make([]int16, 800), make([]int16, 800))
	os.WriteFile(filepath.Join(rec, "CA11aa.wav"), wav.Bytes(), 0o600)
	saved := t.TempDir()
	os.WriteFile(filepath.Join(saved, "scenario.yaml"), []byte("name: mine\n"), 0o600)
	_, _, err := runSimulateState(state, "--from-call", "CA11aa", "--save-scenario", saved)
	if ue := (*UsageError)(nil); !errors.As(err, &ue) || !strings.Contains(err.Error(), "already holds a scenario.yaml") {
		t.Errorf("--save-scenario over a scenario: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(saved, "scenario.yaml")); string(data) != "name: mine\n" {
		t.Errorf("the scenario was replaced: %q", data)
	}
	if _, err := parseSimulate(t, nil, "--from-call", "CA1", "--scenario", "a.yaml"); err == nil {
		t.Error("--from-call with --scenario accepted")
	}
	if o, err := parseSimulate(t, map[string]string{"CALLAGENT_FROM_CALL": "CA1", "CALLAGENT_RECORD_DIR": "/r"}); err != nil ||
		o.fromCall.Call != "" || o.fromCall.RecordDir != "/r" {
		t.Errorf("from the environment: %+v %v", o, err)
	}
	if _, err := parseSimulate(t, nil, "--save-scenario", "d"); err == nil {
		t.Error("--save-scenario without --from-call accepted")
	}
}
