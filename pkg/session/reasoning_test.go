package session_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// The gpt-realtime-2 generation's options reach the model as the types say, with the
// call's own values in the prompt's variables and the CallSid as the trace's group,
// and a handoff to an agent without a prompt clears it while tracing stays as it was.
func TestFaultSessionUpdateCarriesReasoningGenerationOptions(t *testing.T) {
	yes, idle := true, 6000
	b := newBridge(t, bridgeConfig{ModelName: "gpt-realtime-2", Options: func(o *session.Options) {
		o.Agent = session.Agent{Name: "ada", Instructions: "You are Ada.", Voice: "voice_abc123",
			Reasoning: &realtime.Reasoning{Effort: "low"}, ParallelToolCalls: &yes,
			Prompt: &realtime.Prompt{ID: "pmpt_1", Version: "4", Variables: map[string]string{
				"caller": "{{call.from}}", "line": "{{ call.to }}", "ref": "call {{call.sid}} tier {{call.param.Tier}}", "missing": "[{{call.param.Nope}}]"}},
			Truncation:    json.RawMessage(`{"type":"retention_ratio","retention_ratio":0.8}`),
			TurnDetection: &realtime.TurnDetection{Type: realtime.ServerVAD, IdleTimeoutMs: &idle}}
		o.Tracing = &realtime.Tracing{WorkflowName: "support", Metadata: map[string]string{"env": "test"}}
	}})
	tc := b.Start(twiliotest.CallerOptions{CallSID: "CA0123", Parameters: map[string]string{"From": "+14155550100", "To": "+14155550199", "Tier": "gold"}})
	if err := tc.Model.WaitFor(tc.Ctx, "the first session.update", func() bool { return len(tc.Model.SessionUpdates()) == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := tc.Model.WaitFor(tc.Ctx, "session.updated", func() bool { return tc.Model.Session().Reasoning != nil }); err != nil {
		t.Fatal(err)
	}
	noModelErrors(t, tc.Model)
	got := tc.Model.Session()
	checkPCMU(t, got)
	if got.Reasoning.Effort != "low" || got.ParallelToolCalls == nil || !*got.ParallelToolCalls {
		t.Errorf("reasoning %+v, parallel_tool_calls %v", got.Reasoning, got.ParallelToolCalls)
	}
	if id := got.Audio.Output.Voice.ID(); id != "voice_abc123" {
		t.Errorf("voice %s, want the custom voice {id: voice_abc123}", got.Audio.Output.Voice.Object)
	}
	var p realtime.Prompt
	if err := json.Unmarshal(got.Prompt, &p); err != nil || p.ID != "pmpt_1" || p.Version != "4" ||
		p.Variables["caller"] != "+14155550100" || p.Variables["line"] != "+14155550199" ||
		p.Variables["ref"] != "call CA0123 tier gold" || p.Variables["missing"] != "[]" {
		t.Errorf("prompt %s (%v)", got.Prompt, err)
	}
	var tr realtime.Tracing
	if err := json.Unmarshal(got.Tracing, &tr); err != nil || tr.GroupID != "CA0123" || tr.WorkflowName != "support" || tr.Metadata["env"] != "test" {
		t.Errorf("tracing %s (%v): the group must be the CallSid", got.Tracing, err)
	}
	if string(got.Truncation) != `{"retention_ratio":0.8,"type":"retention_ratio"}` {
		t.Errorf("truncation %s", got.Truncation)
	}
	if td := got.Audio.Input.TurnDetection; td == nil || td.IdleTimeoutMs == nil || *td.IdleTimeoutMs != idle {
		t.Errorf("turn detection %+v", td)
	}

	if err := tc.Session().SetAgent(session.Agent{Name: "bob", Instructions: "You are Bob.", Voice: "voice_abc123"}); err != nil {
		t.Fatal(err)
	}
	if err := tc.Model.WaitFor(tc.Ctx, "the handoff's session.update", func() bool { return len(tc.Model.SessionUpdates()) == 2 }); err != nil {
		t.Fatal(err)
	}
	if err := tc.Model.WaitFor(tc.Ctx, "the prompt cleared", func() bool { p := tc.Model.Session().Prompt; return p == nil || string(p) == "null" }); err != nil {
		t.Fatal(err)
	}
	noModelErrors(t, tc.Model)
	if got := tc.Model.Session(); !strings.Contains(string(got.Tracing), `"group_id":"CA0123"`) {
		t.Error("tracing did not survive the handoff")
	}
	tc.Hangup()
}
