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
	"sync/atomic"
	"testing"

	"github.com/callagent/callagent/pkg/offlinecall"
)

func parseSimulate(t *testing.T, env map[string]string, args ...string) (*simulateOptions, error) {
	t.Helper()
	return parseOptions(t, newSimulateCmd, env, "/nonexistent/.env", args...)
}

func TestSimulateOptions(t *testing.T) {
	o, err := parseSimulate(t, nil)
	if err != nil || o.Real || o.Parallel != defaultParallel {
		t.Fatalf("no key: %+v %v", o, err)
	}
	if o, err = parseSimulate(t, map[string]string{"OPENAI_API_KEY": "sk-x"}, "--real"); err != nil || !o.Real || o.APIKey != "sk-x" {
		t.Fatalf("--real with a key: %+v %v", o, err)
	}
	// CALLAGENT_MODEL names the Realtime model (as in dev and serve), not the backend.
	if o, err = parseSimulate(t, map[string]string{"CALLAGENT_MODEL": "gpt-realtime-mini"}); err != nil || o.Real || o.RealtimeModel != "gpt-realtime-mini" {
		t.Fatalf("CALLAGENT_MODEL: %+v %v", o, err)
	}
	if o, err = parseSimulate(t, nil, "--scenario", "a.yaml", "--scenario", "dir", "--approve", "all", "--parallel", "3", "--json",
		"--junit", "r.xml"); err != nil || len(o.ScenarioPaths) != 2 || o.Approve != "all" || o.Parallel != 3 || !o.JSON || o.JUnitPath != "r.xml" {
		t.Fatalf("runner flags: %+v %v", o, err)
	}
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--model", "openai"}, map[string]string{"OPENAI_API_KEY": "sk-x"}, "--model openai is now --real"},
		{[]string{"--model", "sim"}, nil, "--model sim is gone: simulate is offline unless you pass --real"},
		{[]string{"--model", "gpt"}, nil, "name a model"},
		{[]string{"--real"}, nil, "--real needs OPENAI_API_KEY"},
		{[]string{"--scenario", "a.yaml", "--caller-audio", "b.wav"}, nil, "not both"},
		{[]string{"--approve", "yes"}, nil, "use all or none"},
		{[]string{"--parallel", "0"}, nil, "at least 1"},
	} {
		var ue *UsageError
		if _, err := parseSimulate(t, c.env, c.args...); !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
}

// With OPENAI_API_KEY set (the README's dev setup puts it in .env), simulate stays
// offline: the scenario runs on the simulated model and OpenAI hears nothing.
func TestFaultSimulateOfflineWithKey(t *testing.T) {
	var requests atomic.Int32
	openai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer openai.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("name: t\nturns:\n  - say: Thanks, goodbye!\nexpect:\n  ended: agent_hangup\n"), 0o644)
	f, out, errOut := logsFactory(t.TempDir(), "")
	env := map[string]string{"OPENAI_API_KEY": "sk-test-offline", "OPENAI_BASE_URL": openai.URL + "/v1", "CALLAGENT_STATE_DIR": t.TempDir()}
	f.Env = &Env{Getenv: func(k string) string { return env[k] }, Path: "/nonexistent/.env"}
	inDir(t, func(string) {
		root := NewRootCmd(f)
		root.SetArgs([]string{"simulate", "--scenario", path})
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("simulate: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
		}
	})
	if n := requests.Load(); n != 0 || !strings.Contains(errOut.String(), "the simulated model") {
		t.Fatalf("%d requests to OpenAI\nstderr:\n%s", n, errOut)
	}
}

// simulate --model gpt-live-1 runs the call offline on the GPT-Live engine's twin,
// key or no key, and exits 0 when the scenario holds.
func TestFaultSimulateLiveModel(t *testing.T) {
	o, err := parseSimulate(t, map[string]string{"OPENAI_API_KEY": "sk-x"}, "--model", "gpt-live-1")
	if err != nil || o.Real || o.RealtimeModel != "gpt-live-1" {
		t.Fatalf("--model gpt-live-1: %+v %v", o, err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("name: t\nturns:\n  - say: Thanks, goodbye!\nexpect:\n  tools: [hang_up]\n  ended: agent_hangup\n"), 0o644)
	f, out, errOut := logsFactory(t.TempDir(), "")
	inDir(t, func(string) {
		o := &simulateOptions{ScenarioPaths: []string{path}, RealtimeModel: "gpt-live-1", Parallel: 1}
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
	os.WriteFile(path, []byte("name: t\nturns:\n  - say: Hello.\n  - hangup: true\nexpect:\n  tools: [weather]\n"), 0o644)
	state := t.TempDir()
	f, out, errOut := logsFactory(state, "")
	inDir(t, func(string) {
		err := simulateRun(context.Background(), f, &simulateOptions{ScenarioPaths: []string{path}, Parallel: 1})
		if !errors.Is(err, errExpectations) || ExitCode(context.Background(), err) != ExitFailure {
			t.Fatalf("err = %v", err)
		}
	})
	if !strings.Contains(out.String(), `✗ expected a call to tool "weather"`) || !strings.Contains(out.String(), "summary: ") {
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
	root.SetArgs([]string{"simulate", "--real", "--scenario", scenario, "--caller-voice", "coral"})
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
