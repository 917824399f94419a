package agent_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/session/sessiontest"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

const realtime2YAML = `
model: gpt-realtime-2
reasoning: {effort: low}
parallel_tool_calls: true
tracing:
  workflow_name: support line
  metadata: {env: test}
truncation:
  retention_ratio: 0.75
  token_limits: {post_instructions: 6000}
agents:
  - name: front-desk
    instructions: Help callers.
    voice: {id: voice_front123}
    prompt:
      id: pmpt_abc
      version: "3"
      variables:
        caller: "{{call.from}}"
        account: "{{call.param.Account}}"
    turn_detection: {type: server_vad, idle_timeout_ms: 7000}
`

// callagent.yaml's gpt-realtime-2 options reach the model as the API's types have
// them, with the call's own values, in a session the strict twin accepts.
func TestFaultRealtime2ConfigReachesTheModel(t *testing.T) {
	cfg, err := agent.Parse("callagent.yaml", []byte(realtime2YAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := agent.NewRuntime(cfg, agent.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := sessiontest.New(t, sessiontest.Config{ModelName: cfg.Model, Options: func(o *session.Options) {
		rt.Setup(o)
		o.CallerIdleTimeout = -1
	}})
	tc := b.Start(twiliotest.CallerOptions{CallSID: "CAfeed", Parameters: map[string]string{"From": "+14155550111", "Account": "A-42"}})
	if err := tc.Model.WaitFor(tc.Ctx, "the session", func() bool { return tc.Model.Session().Reasoning != nil }); err != nil {
		t.Fatal(err)
	}
	sessiontest.NoModelErrors(t, tc.Model)
	got := tc.Model.Session()
	sessiontest.CheckPCMU(t, got)
	if got.Reasoning.Effort != "low" || got.ParallelToolCalls == nil || !*got.ParallelToolCalls || got.Audio.Output.Voice.ID() != "voice_front123" {
		t.Errorf("reasoning %+v, parallel %v, voice %s", got.Reasoning, got.ParallelToolCalls, got.Audio.Output.Voice.Object)
	}
	var p realtime.Prompt
	_ = json.Unmarshal(got.Prompt, &p)
	if p.ID != "pmpt_abc" || p.Version != "3" || p.Variables["caller"] != "+14155550111" || p.Variables["account"] != "A-42" {
		t.Errorf("prompt %s", got.Prompt)
	}
	if !strings.Contains(string(got.Tracing), `"group_id":"CAfeed"`) || !strings.Contains(string(got.Tracing), `"workflow_name":"support line"`) {
		t.Errorf("tracing %s", got.Tracing)
	}
	if string(got.Truncation) != `{"retention_ratio":0.75,"token_limits":{"post_instructions":6000},"type":"retention_ratio"}` {
		t.Errorf("truncation %s", got.Truncation)
	}
	if td := got.Audio.Input.TurnDetection; td.IdleTimeoutMs == nil || *td.IdleTimeoutMs != 7000 {
		t.Errorf("turn detection %+v", td)
	}
	tc.Hangup()
}

// An option the model does not have is refused when the configuration is loaded,
// with the fix, not by the API in the middle of a call; a --model flag is checked
// again.
func TestFaultConfigRefusesOptionsTheModelLacks(t *testing.T) {
	for _, tc := range []struct{ model, want string }{
		{"gpt-realtime", "reasoning needs a gpt-realtime-2 model (gpt-realtime-2, gpt-realtime-2.1, gpt-realtime-2.1-mini); your model is gpt-realtime"},
		{"gpt-live-1", "tracing is an option of the Realtime engine; gpt-live-1 is a GPT-Live model"},
	} {
		yaml := strings.Replace(realtime2YAML, "model: gpt-realtime-2", "model: "+tc.model, 1)
		_, err := agent.Parse("callagent.yaml", []byte(yaml), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("model %s: %v, want an issue saying %q", tc.model, err, tc.want)
		}
	}
	cfg, err := agent.Parse("callagent.yaml", []byte(realtime2YAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Model = "gpt-realtime-mini"
	if err := cfg.CheckModel(); err == nil || !strings.Contains(err.Error(), "your model is gpt-realtime-mini") {
		t.Errorf("CheckModel after --model gpt-realtime-mini: %v", err)
	}
	yaml := strings.Replace(realtime2YAML, "model: gpt-realtime-2", "model: gpt-realtime-2\naudio_format: pcma", 1)
	if _, err := agent.Parse("callagent.yaml", []byte(yaml), nil); err == nil || !strings.Contains(err.Error(), "μ-law only") {
		t.Errorf("audio_format pcma: %v", err)
	}
}
