package session_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// A call logs the agent it runs with at its start (the agent's description
// completed with the session's model, greeting and limits, and a digest) and
// again at a handoff (the new agent, the voice kept once the agent spoke: here
// it has not; no greeting). An agent without a description is described from
// its tools' specs.
func TestFaultCallConfigAtStartAndHandoff(t *testing.T) {
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.Agent.Name, o.Agent.Voice, o.Agent.Instructions = "front-desk", "marin", "Be kind."
		o.Agent.TurnDetection = &realtime.TurnDetection{Type: "semantic_vad", Eagerness: "low"}
		o.Agent.Tools = []session.Tool{session.NewTool(session.ToolSpec{Name: "lookup", Description: "Look up.", NeedsApproval: true},
			func(context.Context, json.RawMessage) (string, error) { return "", nil })}
		o.Agent.Config = &callevent.CallConfig{Engine: "realtime", Source: "callagent.yaml", Approval: "ask",
			Tools: []callevent.ConfigTool{{Name: "lookup", Kind: "http", Method: "GET", URL: "https://api.example.com/x"}}}
		o.Model, o.Greeting, o.MaxDuration, o.MaxCost, o.Prices = "gpt-realtime", "Greet.", 5*time.Minute, 0.25, pricing.Defaults()
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	first := waitEvent[callevent.CallConfig](tc.Ctx, t, tc.Rec, 1)
	if first.Agent != "front-desk" || first.Voice != "marin" || first.Instructions != "Be kind." || first.Model != "gpt-realtime" ||
		first.Greeting != "Greet." || first.MaxDuration != 5*time.Minute || first.MaxCostUSD != 0.25 || first.Engine != "realtime" ||
		first.Approval != "ask" || len(first.Tools) != 1 || first.Tools[0].Kind != "http" || string(first.TurnDetection) == "" ||
		first.Hash != first.Digest() || first.CallSID == "" {
		t.Errorf("the first configuration: %+v", first)
	}
	if err := tc.Session().SetAgent(session.Agent{Name: "billing", Voice: "ash", Instructions: "You handle billing.",
		Tools: []session.Tool{session.NewTool(session.ToolSpec{Name: "refund", Description: "Refund."},
			func(context.Context, json.RawMessage) (string, error) { return "", nil })}}); err != nil {
		t.Fatal(err)
	}
	second := waitEvent[callevent.CallConfig](tc.Ctx, t, tc.Rec, 2)
	if second.Agent != "billing" || second.Instructions != "You handle billing." || second.Greeting != "" || second.Model != "gpt-realtime" ||
		len(second.Tools) != 1 || second.Tools[0].Name != "refund" || second.Tools[0].Kind != "function" || second.Hash == first.Hash {
		t.Errorf("the configuration after the handoff: %+v", second)
	}
	tc.Hangup()
}
