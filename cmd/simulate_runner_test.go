package cmd

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/offlinecall"
)

// quickConfig is an agent whose calls are short: no greeting, the weather and
// hang_up.
const quickConfig = `model: gpt-realtime
agents:
  - name: quick
    instructions: Be brief.
    greeting: false
tools:
  - builtin: weather
  - builtin: hang_up
`

// runSimulate runs `callagent simulate args...` in a fresh directory holding
// files, and returns its error, stdout and stderr.
func runSimulate(t *testing.T, files map[string]string, args ...string) (out, errOut, dir string, err error) {
	t.Helper()
	dir = t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(dir, "state")
	f, stdout, stderr := logsFactory(state, "")
	old, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(old)
	root := NewRootCmd(f)
	root.SetArgs(append([]string{"simulate"}, args...))
	err = root.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), dir, err
}

// The "must show" of issue 16: a directory of ten scenarios runs in parallel,
// one of them fails, the exit code is 1, and the JUnit XML parses and counts them
// (the --json on stdout too).
func TestFaultScenarioDirectoryJUnit(t *testing.T) {
	leakcheck.Check(t)
	// CALLAGENT_SOAK (scripts/soak's multiplier k) runs k times as many.
	n := 10
	if k, err := strconv.Atoi(os.Getenv("CALLAGENT_SOAK")); err == nil && k > 1 {
		n *= k
	}
	files := map[string]string{"callagent.yaml": quickConfig}
	for i := range n - 1 {
		files[fmt.Sprintf("tests/s%d.yaml", i)] = fmt.Sprintf("name: goodbye %d\nturns:\n  - say: Goodbye!\nexpect:\n"+
			"  tools: [hang_up]\n  agent_says: [thanks for calling]\n  caller_says: [goodbye]\n  ended: agent_hangup\n  min_turns: 1\n", i)
	}
	files["tests/weather.yml"] = "name: weather <&> \"quoted\"\nturns:\n  - say: Goodbye!\nexpect:\n  tools: [weather]\n"
	files["tests/README.md"] = "not a scenario"
	out, errOut, dir, err := runSimulate(t, files, "--scenario", "tests", "--parallel", "10", "--junit", "out/results.xml", "--json")
	if !errors.Is(err, errExpectations) || ExitCode(context.Background(), err) != ExitFailure {
		t.Fatalf("err = %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if !strings.Contains(errOut, fmt.Sprintf("simulating %d scenarios", n)) || strings.Count(errOut, "✓ goodbye") != n-1 ||
		!strings.Contains(errOut, `✗ weather <&> "quoted": expected a call to tool "weather"`) {
		t.Fatalf("stderr:\n%s\nstdout:\n%s", errOut, out)
	}
	data, rerr := os.ReadFile(filepath.Join(dir, "out/results.xml"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	var suites struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name      string `xml:"name,attr"`
			Timestamp string `xml:"timestamp,attr"`
			Tests     int    `xml:"tests,attr"`
			Failures  int    `xml:"failures,attr"`
			Errors    int    `xml:"errors,attr"`
			Cases     []struct {
				Name    string `xml:"name,attr"`
				Time    string `xml:"time,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil {
		t.Fatalf("JUnit XML does not parse: %v\n%s", err, data)
	}
	if suites.Tests != n || suites.Failures != 1 || len(suites.Suites) != 1 {
		t.Fatalf("testsuites %+v\n%s", suites, data)
	}
	s := suites.Suites[0]
	if s.Tests != n || s.Failures != 1 || s.Errors != 0 || len(s.Cases) != n || s.Timestamp == "" {
		t.Fatalf("testsuite %+v\n%s", s, data)
	}
	failed := 0
	for _, c := range s.Cases {
		if c.Failure != nil {
			failed++
			if c.Name != `weather <&> "quoted"` || !strings.Contains(c.Failure.Message, `expected a call to tool "weather"`) {
				t.Errorf("failure %+v", c)
			}
		}
	}
	if failed != 1 || !strings.Contains(string(data), "&lt;&amp;&gt;") {
		t.Fatalf("%d failed cases\n%s", failed, data)
	}
	var doc struct {
		Scenarios []struct {
			Name, File, Result, CallSID string
			Failures                    []string
			Turns                       int
			ToolCalls                   int `json:"tool_calls"`
		}
		Summary struct{ Scenarios, Passed, Failed, Errors int }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not the JSON: %v\n%s", err, out)
	}
	if doc.Summary.Scenarios != n || doc.Summary.Passed != n-1 || doc.Summary.Failed != 1 || len(doc.Scenarios) != n {
		t.Fatalf("summary %+v", doc.Summary)
	}
	for _, sc := range doc.Scenarios {
		if sc.Result == "passed" && (sc.Turns != 1 || sc.ToolCalls != 1 || len(sc.Failures) != 0 || !strings.HasPrefix(sc.File, "tests/")) {
			t.Errorf("scenario %+v", sc)
		}
	}
}

// Several scenarios without --json: a table, one row each, and the total.
func TestSimulateTable(t *testing.T) {
	files := map[string]string{"callagent.yaml": quickConfig,
		"a.yaml": "name: alpha\nturns:\n  - say: Goodbye!\nexpect:\n  ended: agent_hangup\n",
		"b.yaml": "name: beta\nturns:\n  - say: Goodbye!\nexpect:\n  ended: caller_hangup\n"}
	out, errOut, _, err := runSimulate(t, files, "--scenario", "a.yaml", "--scenario", "b.yaml", "--no-call-log")
	if !errors.Is(err, errExpectations) {
		t.Fatalf("err = %v\n%s\n%s", err, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "SCENARIO") || !strings.Contains(lines[0], "FIRST FAILURE") ||
		!strings.Contains(lines[1], "alpha") || !strings.Contains(lines[1], "passed") ||
		!strings.Contains(lines[2], "failed") || !strings.Contains(lines[2], "expected the call to end caller_hangup; it ended agent_hangup") ||
		!strings.HasPrefix(lines[3], "1 passed, 1 failed, 0 errors") {
		t.Fatalf("stdout:\n%s", out)
	}
}

// Scenario files are checked before any call, all of them, every problem with its
// file and line: a typo in ended:, a tool the agents do not have (exit 2).
func TestFaultScenarioFilesCheckedFirst(t *testing.T) {
	files := map[string]string{"callagent.yaml": quickConfig,
		"tests/a.yaml": "name: a\nturns:\n  - say: Goodbye!\nexpect:\n  ended: hungup\n",
		"tests/b.yaml": "name: b\nturns:\n  - say: Refund me.\nexpect:\n  tools: [refund]\n",
		"tests/c.yaml": "name: c\nturns:\n  - say: Goodbye!\n"}
	out, errOut, dir, err := runSimulate(t, files, "--scenario", "tests")
	if ExitCode(context.Background(), err) != ExitUsage {
		t.Fatalf("err = %v (exit %d)\n%s\n%s", err, ExitCode(context.Background(), err), out, errOut)
	}
	for _, want := range []string{`tests/a.yaml:5: expect.ended: "hungup" is not a way a call ends: use one of caller_hangup,`,
		`tests/b.yaml:5: expect.tools: "refund" is not a tool of the agents in callagent.yaml: their tools are hang_up, weather`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nwant %q", err, want)
		}
	}
	if logs, _ := filepath.Glob(filepath.Join(dir, "state", "calls", "*", "*.jsonl")); len(logs) != 0 || strings.Contains(errOut, "simulating") {
		t.Fatalf("a call was made: %q\n%s", logs, errOut)
	}
}

// --record to a path that cannot be written fails before the call (exit 1), not
// "recorded" after it.
func TestFaultSimulateRecordUnwritable(t *testing.T) {
	out, errOut, _, err := runSimulate(t, map[string]string{"file": ""}, "--record", "file/call.wav")
	if err == nil || ExitCode(context.Background(), err) != ExitFailure || !strings.Contains(err.Error(), "cannot write file/call.wav") ||
		strings.Contains(errOut, "recorded") || strings.Contains(errOut, "simulating") {
		t.Fatalf("err = %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
}

// --real with a key the model refuses: the run ends at once with the model's reason
// and exit 1.
func TestSimulateRealModelUnreachable(t *testing.T) {
	brain := (&offlinecall.Brain{}).Model()
	brain.APIKey = "sk-the-right-key"
	srv := httptest.NewServer(brain)
	defer func() { srv.Close(); brain.Close() }()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("name: t\nturns:\n  - audio: a.wav\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.wav"), silentWAV(), 0o644)
	env := map[string]string{"OPENAI_API_KEY": "sk-a-wrong-key", "OPENAI_BASE_URL": srv.URL + "/v1", "CALLAGENT_STATE_DIR": t.TempDir()}
	f, out, errOut := logsFactory(t.TempDir(), "")
	f.Env = &Env{Getenv: func(k string) string { return env[k] }, Path: "/nonexistent/.env"}
	root := NewRootCmd(f)
	root.SetArgs([]string{"simulate", "--real", "--scenario", path})
	err := root.ExecuteContext(context.Background())
	if !errors.Is(err, offlinecall.ErrModelUnreachable) || ExitCode(context.Background(), err) != ExitFailure ||
		!strings.Contains(err.Error(), "API key was rejected") || strings.Contains(out.String(), "summary") {
		t.Fatalf("err = %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
}

// silentWAV is a short 8 kHz PCM WAV of silence.
func silentWAV() []byte {
	const n = 800
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data")
	size := 2 * n
	b = append(b, byte(size), byte(size>>8), 0, 0)
	b = append(b, make([]byte, 2*n)...)
	size = len(b) - 8
	b[4], b[5], b[6], b[7] = byte(size), byte(size>>8), byte(size>>16), byte(size>>24)
	return b
}

// A scenario that does not answer an approval under policy ask is never asked at
// the terminal, even on one: the tool is denied with a note, and the run goes on.
func TestFaultScenarioApprovalNotAsked(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "callagent.yaml")
	os.WriteFile(cfg, []byte(strings.Replace(quickConfig, "  - builtin: weather\n", "  - builtin: weather\n    needs_approval: true\n", 1)+
		"approval:\n  policy: ask\n"), 0o644)
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("name: t\nturns:\n  - say: Weather in Rome?\n  - hangup: true\nexpect:\n  tools: [weather]\n"), 0o644)
	f, out, errOut := logsFactory(t.TempDir(), "")
	stdin, typing := io.Pipe() // a terminal where nobody types
	defer typing.Close()
	f.IO.In, f.IO.ErrTTY = stdin, true
	root := NewRootCmd(f)
	root.SetArgs([]string{"simulate", "--config", cfg, "--scenario", path})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("err = %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if strings.Contains(errOut.String(), "? allow") ||
		!strings.Contains(errOut.String(), "note: tool weather asked for approval and the scenario has no answer: denied") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}
