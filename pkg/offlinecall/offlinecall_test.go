package offlinecall

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/callevent"
)

func kinds(evs []callevent.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		switch e := ev.(type) {
		case callevent.MediaStats, callevent.AgentTranscriptDelta, callevent.CallerTranscriptDelta:
		case callevent.AgentTranscript:
			b.WriteString("agent: " + e.Text + "\n")
		case callevent.CallerTranscript:
			b.WriteString("caller: " + e.Text + "\n")
		case callevent.ToolCall:
			b.WriteString("tool: " + e.Name + " " + e.Arguments + "\n")
		default:
			b.WriteString(ev.Kind() + "\n")
		}
	}
	return b.String()
}

// The built-in demo: the default agent, a question with a tool call, a barge-in and a
// goodbye, all offline.
func TestDefaultSimulation(t *testing.T) {
	leakcheck.Check(t)
	res, err := Run(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("events:\n%s", kinds(res.Events))
	if len(res.Failures) > 0 {
		t.Fatalf("failures: %q", res.Failures)
	}
	s := res.Summary
	if res.Ended.Reason != callevent.EndAgentHangup || s.Turns < 2 || s.Interruptions < 1 || s.ToolCalls < 3 || s.Errors != 0 {
		t.Fatalf("summary %+v, ended %s (%v)", s, res.Ended.Reason, res.Ended.Err)
	}
	if s.LatencyP50 <= 0 || s.LatencyP95 < s.LatencyP50 {
		t.Fatalf("latency p50 %v p95 %v", s.LatencyP50, s.LatencyP95)
	}
}

func TestScenarioPasses(t *testing.T) {
	leakcheck.Check(t)
	sc, err := LoadScenario("testdata/pass.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Scenario: sc, Agent: quickAgent(t), Approve: ApproveAll})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) > 0 {
		t.Fatalf("failures %q\n%s", res.Failures, kinds(res.Events))
	}
	var dtmf int
	for _, ev := range res.Events {
		if _, ok := ev.(callevent.DTMF); ok {
			dtmf++
		}
	}
	if dtmf != 3 {
		t.Fatalf("%d DTMF events, want 3", dtmf)
	}
}

// A caller who hangs up, and expectations that do not hold: each is reported.
func TestScenarioFails(t *testing.T) {
	leakcheck.Check(t)
	sc, err := LoadScenario("testdata/fail.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Scenario: sc, Agent: quickAgent(t)}) // no greeting: a shorter call
	if err != nil {
		t.Fatal(err)
	}
	if res.Ended.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s", res.Ended.Reason)
	}
	want := []string{`expected a call to tool "refund"`, `expected the agent to say "a refund was issued"`,
		"expected the call to end agent_hangup; it ended caller_hangup", "expected at least 1 interruptions, got 0"}
	if len(res.Failures) != len(want) {
		t.Fatalf("failures %q", res.Failures)
	}
	for i, w := range want {
		if !strings.Contains(res.Failures[i], w) {
			t.Errorf("failure %d = %q, want %q", i, res.Failures[i], w)
		}
	}
}

func TestLoadScenarioErrors(t *testing.T) {
	for name, body := range map[string]string{
		"unknown key": "turns: [{say: hi}]\nexpectations: {}\n",
		"no turns":    "name: x\n",
		"two actions": "turns: [{say: hi, dtmf: '1'}]\n",
		"bad dtmf":    "turns: [{dtmf: '12a'}]\n",
		"bad barge":   "turns: [{wait: 1s, barge_in_after: 1s}]\n",
		"bad time":    "turns: [{wait: soon}]\n",
	} {
		path := t.TempDir() + "/s.yaml"
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadScenario(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// --record: a stereo WAV as long as the call, the caller's audio on the left.
func TestRecording(t *testing.T) {
	leakcheck.Check(t)
	path := t.TempDir() + "/call.wav"
	sc := &Scenario{Name: "short", Turns: []Turn{{Say: "Hello."}, {Hangup: true}}}
	res, err := Run(context.Background(), Options{Scenario: sc, RecordPath: path, Agent: quickAgent(t)})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rate, ch, err := audio.ReadWAVChannels(data)
	if err != nil || rate != 8000 || len(ch) != 2 {
		t.Fatalf("WAV: %d Hz, %d channels, %v", rate, len(ch), err)
	}
	got := time.Duration(len(ch[0])) * time.Second / 8000
	if diff := got - res.Ended.Duration; diff < -20*time.Millisecond || diff > 20*time.Millisecond {
		t.Fatalf("the recording lasts %v, the call %v (more than a frame apart)", got, res.Ended.Duration)
	}
	left := audio.EncodeMulaw(ch[0])
	speech := CallerVoice.Speak("Hello.")
	if !bytes.Contains(res.CallerAudio, speech) || !bytes.Contains(left, speech) {
		t.Fatal("the caller's speech is not on the left channel")
	}
	if text, ok := Transcribe(audio.EncodeMulaw(ch[1])); !ok || !strings.Contains(text, "You said: Hello") {
		t.Fatalf("the agent's channel says %q", text)
	}
}

// An interrupted simulation (Ctrl-C) is neither a pass nor a failure: Run ends the
// call and returns the context's error.
func TestInterruptedSimulation(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	res, err := Run(ctx, Options{OnEvent: func(ev callevent.Event) {
		if _, ok := ev.(callevent.AgentTranscript); ok {
			once.Do(cancel) // mid-call
		}
	}})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("Run = %+v, %v; want context.Canceled", res, err)
	}
}

// Options.Secrets (simulate passes the environment's keys) are scrubbed from tool
// results like the configuration's own: a member name the built-in weather tool
// answers with stands in for a key an API echoes.
func TestToolResultsScrubbedOfSecrets(t *testing.T) {
	leakcheck.Check(t)
	const secret = "temperature_c"
	sc := &Scenario{Name: "weather", Turns: []Turn{{Say: "What's the weather in Paris?"}, {Hangup: true}}}
	res, err := Run(context.Background(), Options{Secrets: []string{secret}, Scenario: sc, Agent: quickAgent(t), Approve: ApproveAll})
	if err != nil {
		t.Fatal(err)
	}
	results := 0
	for _, ev := range res.Events {
		if r, ok := ev.(callevent.ToolResult); ok && r.Name == "weather" {
			results++
			if strings.Contains(r.Output, secret) || !strings.Contains(r.Output, "demo data") {
				t.Fatalf("weather result not scrubbed of %q: %q", secret, r.Output)
			}
		}
	}
	if results == 0 {
		t.Fatal("the call made no weather call")
	}
}

// liveConfig is the default agent on the GPT-Live engine.
func liveConfig() *agent.Config {
	cfg := agent.Default()
	cfg.Model = "gpt-live-1"
	return cfg
}

// The built-in demo on the GPT-Live engine, offline: the greeting spoken first, a
// tool call through delegation (the weather, twice), a barge-in the model owns with
// the stale agent audio cleared at Twilio, and the hang_up tool ending the call.
func TestFaultLiveSimulation(t *testing.T) {
	leakcheck.Check(t)
	res, err := Run(context.Background(), Options{Agent: liveConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("events:\n%s", kinds(res.Events))
	if len(res.Failures) > 0 {
		t.Fatalf("failures: %q", res.Failures)
	}
	s := res.Summary
	if res.Ended.Reason != callevent.EndAgentHangup || s.Turns < 2 || s.Interruptions < 1 || s.ToolCalls < 3 || s.Errors != 0 {
		t.Fatalf("summary %+v, ended %s (%v)", s, res.Ended.Reason, res.Ended.Err)
	}
	var greeting, cleared bool
	for _, ev := range res.Events {
		switch e := ev.(type) {
		case callevent.AgentTranscript:
			greeting = greeting || strings.Contains(e.Text, "How can I help")
		case callevent.Interruption:
			cleared = cleared || e.Cleared
		}
	}
	if !greeting || !cleared {
		t.Errorf("greeting %v, barge-in cleared Twilio %v", greeting, cleared)
	}
}

// The same scenario files run on both engines.
func TestLiveScenarioPasses(t *testing.T) {
	leakcheck.Check(t)
	sc, err := LoadScenario("testdata/pass.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := quickAgent(t)
	cfg.Model = "gpt-live-1"
	res, err := Run(context.Background(), Options{Scenario: sc, Agent: cfg, Approve: ApproveAll})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) > 0 {
		t.Fatalf("failures %q\n%s", res.Failures, kinds(res.Events))
	}
}
