package cmd

import (
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/pricing"
)

// The banner names the engine, the model and the price basis, and says where the
// prices come from; a model without a price is said to have an unknown cost,
// never given a made-up one.
func TestEngineLine(t *testing.T) {
	for _, tc := range []struct {
		model   string
		pricing pricing.Table
		want    []string
	}{
		{"gpt-realtime-2", nil, []string{"Realtime API · gpt-realtime-2 · $32/1M audio in, $64/1M audio out", "callagent's prices as of " + pricing.AsOf}},
		{"gpt-live-1", nil, []string{"GPT-Live · gpt-live-1 · $0.05/min + the delegated backend's tokens", "as of"}},
		{"gpt-realtime-2", pricing.Table{"gpt-realtime-2": {AudioInput: 40, AudioOutput: 80}}, []string{"$40/1M audio in, $80/1M audio out (your prices, from callagent.yaml)"}},
		{"my-realtime-model", nil, []string{"Realtime API · my-realtime-model · cost unknown", "pricing:"}},
	} {
		cfg := agent.Default()
		cfg.Model, cfg.Pricing = tc.model, tc.pricing
		got := engineLine(cfg)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.model, got, w)
			}
		}
	}
}
