package cmd

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/callagent/callagent/pkg/offlinecall"
)

func parseSimulate(t *testing.T, env map[string]string, args ...string) (*simulateOptions, error) {
	t.Helper()
	return parseOptions(t, newSimulateCmd, env, "/nonexistent/.env", args...)
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
	// CALLAGENT_MODEL names the Realtime model (as in dev and serve), not the backend.
	if o, err = parseSimulate(t, map[string]string{"CALLAGENT_MODEL": "gpt-realtime-mini"}); err != nil || o.Model != "sim" {
		t.Fatalf("CALLAGENT_MODEL without a key: %+v %v", o, err)
	}
	if o, err = parseSimulate(t, map[string]string{"CALLAGENT_MODEL": "gpt-realtime-mini", "OPENAI_API_KEY": "sk-x"}); err != nil ||
		o.Model != "openai" || o.RealtimeModel != "gpt-realtime-mini" {
		t.Fatalf("CALLAGENT_MODEL with a key: %+v %v", o, err)
	}
	for _, args := range [][]string{{"--model", "openai"}, {"--model", "gpt"}, {"--scenario", "a.yaml", "--caller-audio", "b.wav"}} {
		var ue *UsageError
		if _, err := parseSimulate(t, nil, args...); !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

// simulate --model gpt-live-1 runs the call offline on the GPT-Live engine's twin,
// key or no key, and exits 0 when the scenario holds.
func TestFaultSimulateLiveModel(t *testing.T) {
	o, err := parseSimulate(t, map[string]string{"OPENAI_API_KEY": "sk-x"}, "--model", "gpt-live-1")
	if err != nil || o.Model != "sim" || o.RealtimeModel != "gpt-live-1" {
		t.Fatalf("--model gpt-live-1: %+v %v", o, err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("name: t\nturns:\n  - say: Thanks, goodbye!\nexpect:\n  tools: [hang_up]\n  ended: agent_hangup\n"), 0o644)
	f, out, errOut := logsFactory(t.TempDir(), "")
	inDir(t, func(string) {
		o := &simulateOptions{ScenarioPath: path, Model: "sim", RealtimeModel: "gpt-live-1"}
		if err := simulateRun(context.Background(), f, o); err != nil {
			t.Fatalf("err = %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
		}
	})
	if !strings.Contains(errOut.String(), "simulated GPT-Live model") || !strings.Contains(out.String(), "hang_up") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

// A scenario whose expectations fail exits 1 and says which.
func TestSimulateFailingScenario(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("name: t\nturns:\n  - say: Hello.\n  - hangup: true\nexpect:\n  tools: [refund]\n"), 0o644)
	state := t.TempDir()
	f, out, errOut := logsFactory(state, "")
	inDir(t, func(string) {
		err := simulateRun(context.Background(), f, &simulateOptions{ScenarioPath: path, Model: "sim"})
		if !errors.Is(err, errExpectations) || ExitCode(context.Background(), err) != ExitFailure {
			t.Fatalf("err = %v", err)
		}
	})
	if !strings.Contains(out.String(), `✗ expected a call to tool "refund"`) || !strings.Contains(out.String(), "summary: ") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	// A failed test call is on record too.
	if logs, _ := filepath.Glob(filepath.Join(state, "calls", "*", "CA*.jsonl")); len(logs) != 1 {
		t.Fatalf("call logs %q", logs)
	}
}

// With a key the caller talks to the real model (here the simulated one behind a
// key check) in a synthesized voice, and the call is logged like any other: the
// command says how to read it, and callagent logs lists and renders it.
func TestSimulateRealModelLogsTheCall(t *testing.T) {
	const key = "sk-test-simulate-0123456789"
	var spoken []string
	var mu sync.Mutex
	brain := (&offlinecall.Brain{}).Model()
	brain.APIKey = key
	defer brain.Close()
	mux := http.NewServeMux()
	mux.Handle("/v1/realtime", brain)
	mux.HandleFunc("/v1/audio/speech", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Input, Voice string }
		if r.Header.Get("Authorization") != "Bearer "+key || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		spoken = append(spoken, req.Voice+": "+req.Input)
		mu.Unlock()
		pcm := make([]byte, 2*24000/2) // 500 ms of a 300 Hz square wave
		for i := 0; i < len(pcm); i += 2 {
			v := int16(6000)
			if (i/2/40)%2 == 1 {
				v = -6000
			}
			binary.LittleEndian.PutUint16(pcm[i:], uint16(v))
		}
		w.Write(pcm)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.yaml")
	os.WriteFile(scenario, []byte("name: real\nturns:\n  - say: Where is my order?\n  - hangup: true\nexpect:\n  ended: caller_hangup\n"), 0o644)
	state := t.TempDir()
	env := map[string]string{"OPENAI_API_KEY": key, "OPENAI_BASE_URL": srv.URL + "/v1", "CALLAGENT_STATE_DIR": state,
		"XDG_CACHE_HOME": filepath.Join(dir, "cache")}
	f, out, errOut := logsFactory(state, "")
	f.Env = &Env{Getenv: func(k string) string { return env[k] }, Path: "/nonexistent/.env"}
	root := NewRootCmd(f)
	root.SetArgs([]string{"simulate", "--scenario", scenario, "--caller-voice", "coral"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("simulate: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if len(spoken) != 1 || spoken[0] != "coral: Where is my order?" {
		t.Fatalf("synthesized %q", spoken)
	}
	m := regexp.MustCompile(`call log: callagent logs (CA[0-9a-f]{32})\n`).FindStringSubmatch(errOut.String())
	if m == nil || !strings.Contains(errOut.String(), "OpenAI gpt-realtime") {
		t.Fatalf("stderr:\n%s", errOut)
	}
	if strings.Contains(out.String()+errOut.String(), key) {
		t.Fatal("the key was printed")
	}
	live := out.String()
	out.Reset()
	if err := runLogs(t, f); err != nil || !strings.Contains(out.String(), m[1][:12]) {
		t.Fatalf("logs: %v\n%s", err, out)
	}
	out.Reset()
	if err := runLogs(t, f, m[1]); err != nil || !strings.Contains(out.String(), "I heard you speak for 0.5 seconds") ||
		!strings.Contains(live, "I heard you speak for 0.5 seconds") {
		t.Fatalf("logs %s: %v\n%s\nlive:\n%s", m[1], err, out, live)
	}
}
