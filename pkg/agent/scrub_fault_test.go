package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/session"
)

// A Go tool (not only an HTTP tool) that returns a secret of the environment
// (RuntimeOptions.Secrets) or of the configuration, in any encoding, in its
// text or its error: the model gets neither, nor does the ToolResult event.
func TestFaultGoToolResultScrubbed(t *testing.T) {
	const envSecret = `env"se\cr&<e>t-1`
	const cfgSecret = "cfg-secret-value-2"
	js, _ := json.Marshal(envSecret)
	forms := []string{envSecret, string(js[1 : len(js)-1]), url.QueryEscape(envSecret), html.EscapeString(envSecret), cfgSecret}
	echo := session.NewTool(session.ToolSpec{Name: "echo", Description: "Echoes."}, func(_ context.Context, args json.RawMessage) (string, error) {
		text := "got " + strings.Join(forms, " | ")
		if strings.Contains(string(args), "fail") {
			return "", errors.New(text)
		}
		return text, nil
	})
	const yaml = `
agents:
  - name: ada
    instructions: Help.
tools:
  - name: echo
  - name: order_status
    description: Look up an order.
    http:
      url: https://api.example/status
      headers:
        X-Key: ${CFG_SECRET}
`
	for _, args := range []string{`{"q":"ok"}`, `{"q":"fail"}`} {
		t.Run(args, func(t *testing.T) {
			tc := runAgent(t, yaml, map[string]string{"CFG_SECRET": cfgSecret},
				agent.RuntimeOptions{Tools: []session.Tool{echo}, Secrets: []string{envSecret, ""}}, answering())
			res, out := callTool(t, tc, "echo", args)
			if !strings.Contains(out.Output, "got [redacted] |") {
				t.Errorf("the model got %q", out.Output)
			}
			for _, f := range forms {
				for where, text := range map[string]string{"the model's function_call_output": out.Output, "the ToolResult event": res.Output} {
					if strings.Contains(text, f) {
						t.Errorf("%s holds the secret as %q: %q", where, f, text)
					}
				}
				if res.Err != nil && strings.Contains(res.Err.Error(), f) {
					t.Errorf("the ToolResult's error holds the secret as %q", f)
				}
			}
			tc.Hangup()
		})
	}
}
