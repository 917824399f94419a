package agent_test

import (
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/agent"
)

// The live block configures the GPT-Live engine's backend, and only with a
// gpt-live model; its members are checked like every other.
func TestLiveConfig(t *testing.T) {
	cfg, err := agent.Parse("callagent.yaml", []byte("model: gpt-live-1\nlive: {backend_model: gpt-5.5-mini, acknowledgement_delay_ms: 300}\nagents: [{name: a, instructions: hi}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LiveBackendModel() != "gpt-5.5-mini" || *cfg.Live.AcknowledgementDelayMs != 300 {
		t.Errorf("live: %+v", cfg.Live)
	}
	if cfg, err := agent.Parse("callagent.yaml", []byte("model: gpt-live-1\nagents: [{name: a, instructions: hi}]\n"), nil); err != nil || cfg.LiveBackendModel() != agent.DefaultLiveBackendModel {
		t.Errorf("default backend: %v", err)
	}
	if _, err := agent.Parse("callagent.yaml", []byte("model: gpt-live-1\ntools:\n  - name: docs\n    mcp: {server_label: docs, server_url: https://mcp.example.com, require_approval: never}\nagents: [{name: a, instructions: hi}]\n"), nil); err != nil {
		t.Errorf("an MCP tool without approvals on Live: %v", err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"model: gpt-realtime\nlive: {backend_model: gpt-5.5}\n", "callagent.yaml:2"},
		{"model: gpt-realtime\nlive: {backend_model: gpt-5.5}\n", "remove live, or set model: gpt-live-1"},
		{"model: gpt-live-1\nlive: {backend: gpt-5.5}\n", "backend"},
		{"model: gpt-live-1\nlive: {acknowledgement_delay_ms: -5}\n", "want 0 or more"},
		// A hosted MCP tool whose approval Live could not answer: the call would wait.
		{"model: gpt-live-1\ntools:\n  - name: docs\n    mcp: {server_label: docs, server_url: https://mcp.example.com}\n", "callagent.yaml:4"},
		{"model: gpt-live-1\ntools:\n  - name: docs\n    mcp: {server_label: docs, server_url: https://mcp.example.com, require_approval: always}\n", "must say require_approval: never"},
	} {
		_, err := agent.Parse("callagent.yaml", []byte(tc.yaml+"agents: [{name: a, instructions: hi}]\n"), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
