package agent_test

import (
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

// A pricing entry replaces the model's default prices, and max_cost ends the call
// at them: with gpt-realtime's audio at $64/1M in and $128/1M out (the file's, not
// the defaults' $32 and $64), a response of 1,000 audio tokens in and 1,000 out
// costs 1,000 × $64/1M + 1,000 × $128/1M = $0.064 + $0.128 = $0.192, past
// max_cost $0.10: the agent is told to wrap up, says goodbye (another $0.192), and
// the call ends, at $0.384.
func TestFaultPricingOverrideAndMaxCost(t *testing.T) {
	const yaml = `
model: gpt-realtime
max_cost: 0.10
pricing:
  gpt-realtime:
    audio_input_per_mtok: 64
    audio_output_per_mtok: 128
agents:
  - name: desk
    instructions: Help.
    greeting:
      say: Hello.
`
	usage := &realtime.Usage{TotalTokens: 2000, InputTokens: 1000, OutputTokens: 1000,
		InputTokenDetails:  &realtime.InputTokenDetails{AudioTokens: 1000, CachedTokensDetails: &realtime.CachedTokenDetails{}},
		OutputTokenDetails: &realtime.OutputTokenDetails{AudioTokens: 1000}}
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: make([]byte, 800), Transcript: "Hello."}}, Usage: usage}
	}}
	tc := runAgent(t, yaml, nil, agent.RuntimeOptions{}, model)
	ended := tc.Ended()
	if ended.Reason != callevent.EndMaxCost || ended.CostUSD == nil || *ended.CostUSD != pricing.FromUSD(0.384).USD() {
		t.Fatalf("ended %s, cost %v: want max_cost at $0.384", ended.Reason, ended.CostUSD)
	}
	items := tc.Model.CreatedItems()
	if len(items) != 1 || !strings.Contains(items[0].Content[0].Text, "budget") {
		t.Fatalf("wrap-up %+v", items)
	}
}

// The configuration's table: its entries over the defaults, which stay.
func TestPricesOverride(t *testing.T) {
	cfg, err := agent.Parse("callagent.yaml", []byte(`
pricing:
  my-voice-model: {audio_input_per_mtok: 12.5, audio_output_per_mtok: 25}
agents:
  - name: desk
    instructions: Help.
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Prices()
	if r, ok := p.Lookup("my-voice-model"); !ok || r.AudioInput != 12.5 || r.AudioOutput != 25 {
		t.Fatalf("override %+v %v", r, ok)
	}
	if r, ok := p.Lookup("gpt-realtime"); !ok || r.AudioInput != 32 {
		t.Fatalf("default kept: %+v %v", r, ok)
	}
}

// max_cost on GPT-Live needs the delegated backend's price too: without it the
// first delegated task would leave the cost unknown and the limit blind.
func TestMaxCostLiveNeedsBackendPrice(t *testing.T) {
	const base = `
model: gpt-live-1
max_cost: 0.5
live: {backend_model: gpt-5.5-mini}
agents:
  - name: desk
    instructions: Help.
`
	_, err := agent.Parse("callagent.yaml", []byte(base), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), `backend model "gpt-5.5-mini"`) {
		t.Fatalf("no price for the backend: %v", err)
	}
	priced := base + "pricing:\n  gpt-5.5-mini: {text_input_per_mtok: 0.25, cached_text_input_per_mtok: 0.025, text_output_per_mtok: 2}\n"
	if _, err := agent.Parse("callagent.yaml", []byte(priced), func(string) string { return "" }); err != nil {
		t.Fatalf("priced backend: %v", err)
	}
}
