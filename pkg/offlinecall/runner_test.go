package offlinecall

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
)

// quickAgent is an agent with no greeting, the weather under approval policy ask,
// and hang_up: the shortest calls that still exercise tools and approvals.
func quickAgent(t *testing.T) *agent.Config {
	t.Helper()
	cfg, err := agent.Parse("quick.yaml", []byte(`model: gpt-realtime
approval:
  policy: ask
agents:
  - name: quick
    instructions: Be brief.
    greeting: false
tools:
  - builtin: weather
    needs_approval: true
  - builtin: hang_up
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func writeScenario(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A model that refuses the key: the run ends at once with the model's own reason,
// not after the scenario's timeout with a blamed caller and a clean summary.
func TestFaultModelUnreachable(t *testing.T) {
	leakcheck.Check(t)
	m := (&Brain{}).Model()
	m.APIKey = "sk-right-key"
	srv := httptest.NewServer(m)
	t.Cleanup(func() { srv.Close(); m.Close() })
	sc := &Scenario{Name: "hello", Timeout: Duration(8 * time.Second), Turns: []Turn{{Say: "Hello."}, {Hangup: true}}}
	res, err := Run(context.Background(), Options{Scenario: sc, OpenAI: realtime.DialOptions{BaseURL: srv.URL + "/v1", APIKey: "sk-wrong-key"}})
	if !errors.Is(err, ErrModelUnreachable) || !strings.Contains(err.Error(), "API key was rejected") {
		t.Fatalf("Run = %+v, %v; want ErrModelUnreachable with the model's reason", res, err)
	}
	if strings.Contains(err.Error(), "sk-wrong-key") {
		t.Fatalf("the key is in the error: %v", err)
	}
}

// --record to a place that cannot take the file fails before the call.
func TestFaultRecordUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "call.wav") // under a file: no one can write there, root included
	called := false
	res, err := Run(context.Background(), Options{RecordPath: path, OnEvent: func(callevent.Event) { called = true }})
	if err == nil || !strings.Contains(err.Error(), "cannot write "+path) || called {
		t.Fatalf("Run = %+v, %v (a call was placed: %v); want an error before the call", res, err, called)
	}
}

// A typo in ended: is found when the file is read, with its line and the valid
// values, not after a whole call.
func TestFaultScenarioEndedTypo(t *testing.T) {
	path := writeScenario(t, "name: t\nturns:\n  - say: Bye.\nexpect:\n  tools: [hang_up]\n  ended: hungup\n")
	_, err := LoadScenario(path)
	if err == nil || !strings.Contains(err.Error(), path+":6: expect.ended: \"hungup\" is not a way a call ends") ||
		!strings.Contains(err.Error(), "agent_hangup, ") {
		t.Fatalf("LoadScenario = %v", err)
	}
}

// Every problem of a file at once, each with its line.
func TestScenarioIssuesAllAtOnce(t *testing.T) {
	path := writeScenario(t, "turns:\n  - say: hi\n    dtmf: '1'\n  - dtmf: '12a'\napprovals:\n  weather: maybe\nexpect:\n  ended: hungup\n")
	_, err := LoadScenario(path)
	var se *ScenarioError
	if !errors.As(err, &se) || len(se.Issues) != 4 {
		t.Fatalf("LoadScenario = %v", err)
	}
	for i, want := range []string{":2: turn 1", ":4: turn 2", ":8: expect.ended", ":6: approvals.weather"} {
		if !strings.Contains(se.Issues[i], path+want) {
			t.Errorf("issue %d = %q, want %q", i, se.Issues[i], want)
		}
	}
}

// Tools named in expectations and approvals must be the agents' own, checked before
// the call.
func TestScenarioToolsCheckedAgainstAgent(t *testing.T) {
	path := writeScenario(t, "turns:\n  - say: Refund me.\napprovals:\n  weather: approve\nexpect:\n  tools: [hang_up, refund]\n")
	sc, err := LoadScenario(path)
	if err != nil {
		t.Fatal(err)
	}
	err = sc.CheckAgent(quickAgent(t))
	if err == nil || !strings.Contains(err.Error(), path+`:6: expect.tools: "refund" is not a tool of the agents in quick.yaml: their tools are hang_up, weather`) ||
		strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("CheckAgent = %v", err)
	}
}

// agent_says is the agent's words only, caller_says the caller's; the deprecated
// transcript_contains is agent_says, with a warning.
func TestFaultAgentSaysIsTheAgentOnly(t *testing.T) {
	events := []callevent.Event{callevent.CallerTranscript{Text: "I want a refund"}, callevent.AgentTranscript{Text: "Let me check."}}
	got := Expect{TranscriptContains: []string{"a refund"}}.Check(events)
	if len(got) != 1 || got[0] != `expected the agent to say "a refund"` {
		t.Fatalf("transcript_contains matched the caller: %q", got)
	}
	if got := (Expect{CallerSays: []string{"A REFUND"}, AgentSays: []string{"check"}}).Check(events); len(got) != 0 {
		t.Fatalf("failures %q", got)
	}
	if got := (Expect{CallerSays: []string{"check"}}).Check(events); len(got) != 1 || got[0] != `expected the caller to say "check"` {
		t.Fatalf("caller_says matched the agent: %q", got)
	}
	path := writeScenario(t, "turns:\n  - say: hi\nexpect:\n  transcript_contains: [hello]\n")
	sc, err := LoadScenario(path)
	if err != nil || len(sc.Warnings) != 1 || !strings.Contains(sc.Warnings[0], path+":4: expect.transcript_contains is deprecated") ||
		len(sc.Expect.AgentSays) != 1 || sc.Expect.TranscriptContains != nil {
		t.Fatalf("%+v %v", sc, err)
	}
}

// Scenarios run side by side, each its own call: approvals answered by the
// scenario, or denied with a note when nobody answers.
func TestRunAllApprovals(t *testing.T) {
	leakcheck.Check(t)
	cfg := quickAgent(t)
	approved := &Scenario{Name: "approved", Approvals: map[string]string{"weather": Approve},
		Turns: []Turn{{Say: "Weather in Oslo?"}, {Say: "Goodbye!"}}, Expect: Expect{Tools: []string{"weather"}, AgentSays: []string{"in Oslo"}}}
	unanswered := &Scenario{Name: "unanswered", Turns: []Turn{{Say: "Weather in Rome?"}, {Hangup: true}}}
	var finished []string
	out := RunAll(context.Background(), Options{Agent: cfg}, []*Scenario{approved, unanswered}, 2, func(i int, o *Outcome) {
		finished = append(finished, o.Scenario.Name)
		t.Logf("%s: %v", o.Scenario.Name, o.Elapsed)
	})
	if len(out) != 2 || len(finished) != 2 {
		t.Fatalf("outcomes %d, done called %d times", len(out), len(finished))
	}
	for _, o := range out {
		if o.Err != nil {
			t.Fatalf("%s: %v", o.Scenario.Name, o.Err)
		}
	}
	if !out[0].Passed() {
		t.Errorf("approved: %q\n%s", out[0].Result.Failures, kinds(out[0].Result.Events))
	}
	un := out[1].Result
	if len(un.Notes) != 1 || !strings.Contains(un.Notes[0], "tool weather asked for approval and the scenario has no answer: denied") {
		t.Errorf("unanswered notes %q", un.Notes)
	}
	decided := false
	for _, ev := range un.Events {
		if d, ok := ev.(callevent.ToolApprovalDecided); ok {
			decided = !d.Approved
		}
	}
	if !decided {
		t.Errorf("unanswered: no denial\n%s", kinds(un.Events))
	}
}

// Keys wait for the agent's answer to the caller's line before them, as a line
// does: the README's example pressed them while the agent was still answering.
func TestFaultDTMFWaitsForAnswer(t *testing.T) {
	leakcheck.Check(t)
	sc := &Scenario{Name: "keys", Turns: []Turn{{Say: "Hello there."}, {DTMF: "42"}, {Hangup: true}},
		Expect: Expect{Ended: "caller_hangup", MinTurns: 1}}
	res, err := Run(context.Background(), Options{Agent: quickAgent(t), Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) > 0 {
		t.Fatalf("failures %q\n%s", res.Failures, kinds(res.Events))
	}
	var answered, pressed, pressedAnswer int
	for i, ev := range res.Events {
		switch e := ev.(type) {
		case callevent.AgentTranscript:
			if answered == 0 && strings.Contains(e.Text, "Hello there") {
				answered = i + 1
			}
			if strings.Contains(e.Text, "You pressed 4 2") {
				pressedAnswer = i + 1
			}
		case callevent.DTMF:
			if pressed == 0 {
				pressed = i + 1
			}
		}
	}
	if answered == 0 || pressed == 0 || pressed < answered || pressedAnswer == 0 {
		t.Fatalf("the keys (event %d) came before the answer to the line before them (event %d), or had no answer (%d)\n%s",
			pressed, answered, pressedAnswer, kinds(res.Events))
	}
}

// --approve all answers what the scenario does not; the scenario's answer wins.
func TestApproverPrecedence(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		answers map[string]string
		all     string
		want    bool
	}{
		{nil, ApproveAll, true},
		{nil, ApproveNone, false},
		{map[string]string{"weather": Deny}, ApproveAll, false},
		{map[string]string{"weather": Approve}, ApproveNone, true},
		{nil, "", false},
	} {
		a := &approver{answers: c.answers, all: c.all}
		got, _ := a.Approve(ctx, sessionRequest("weather"))
		if got != c.want {
			t.Errorf("%v %q: approved %v", c.answers, c.all, got)
		}
	}
}

func sessionRequest(name string) session.ApprovalRequest {
	return session.ApprovalRequest{Name: name}
}

// The README's scenario example is testdata/pass.yaml, which TestScenarioPasses runs.
func TestREADMEScenarioIsTested(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	pass, err := os.ReadFile("testdata/pass.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```yaml\n"+string(pass)+"```") {
		t.Fatalf("README.md's scenario example is not testdata/pass.yaml:\n%s", pass)
	}
}

// A scenario that runs over its timeout fails, saying so, and the call is ended.
func TestScenarioTimeout(t *testing.T) {
	leakcheck.Check(t)
	sc := &Scenario{Name: "slow", Timeout: Duration(time.Second), Turns: []Turn{{Wait: Duration(time.Minute)}}}
	res, err := Run(context.Background(), Options{Scenario: sc, Agent: quickAgent(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 1 || res.Failures[0] != "the scenario did not finish: the scenario ran over its 1s timeout" {
		t.Fatalf("failures %q", res.Failures)
	}
}
