package agent

import (
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/session"
)

// Tool kinds, as a call's CallConfig event names them.
const (
	KindHTTP     = "http"
	KindMCP      = "mcp"
	KindBuiltin  = "builtin"
	KindFunction = "function" // a Go function registered with the Runtime
	KindHandoff  = "handoff"
)

// describe is the description of agent a for its calls' CallConfig events
// (session.Agent.Config): what the session cannot know of it. sa is the
// session agent built from it, whose tools are described in its order. No
// secret: headers are named, not valued; URLs lose credentials and query values.
func (c *Config) describe(a *AgentSpec, sa *session.Agent) *callevent.CallConfig {
	d := &callevent.CallConfig{Agent: a.Name, Source: c.Path, Engine: "realtime", Model: c.Model,
		Approval: c.Approval.Policy, Handoffs: a.Handoffs}
	if LiveModel(c.Model) {
		d.Engine = "live"
	}
	for _, g := range a.Guardrails.Deny {
		d.Guardrails = append(d.Guardrails, "deny: "+g)
	}
	for _, g := range a.Guardrails.DenyPhrases {
		d.Guardrails = append(d.Guardrails, "deny phrase: "+g)
	}
	specs := map[string]*ToolSpec{}
	for i := range c.Tools {
		specs[c.Tools[i].Name] = &c.Tools[i]
	}
	for _, t := range sa.Tools {
		sp := t.Spec()
		ct := callevent.ConfigTool{Name: sp.Name, Kind: KindHandoff, Description: sp.Description,
			NeedsApproval: sp.NeedsApproval, Background: sp.Background}
		if spec, ok := specs[sp.Name]; ok {
			switch {
			case spec.HTTP != nil:
				ct.Kind, ct.Method, ct.URL = KindHTTP, spec.HTTP.Method, callevent.ConfigURL(orWritten(spec.HTTP.written, spec.HTTP.URL))
				ct.Headers = callevent.HeaderNames(spec.HTTP.Headers)
				if ct.Method == "" {
					ct.Method = "POST"
				}
			case spec.Builtin != "":
				ct.Kind = KindBuiltin
			default:
				ct.Kind = KindFunction
			}
		}
		d.Tools = append(d.Tools, ct)
	}
	for _, h := range sa.HostedTools {
		ct := callevent.ConfigTool{Name: h.ServerLabel, Kind: KindMCP, Description: h.ServerDescription,
			Headers: callevent.HeaderNames(h.Headers)}
		for i := range c.Tools {
			if m := c.Tools[i].MCP; m != nil && m.ServerLabel == h.ServerLabel {
				ct.URL = callevent.ConfigURL(orWritten(m.written, m.ServerURL))
			}
		}
		if string(h.RequireApproval) == `"always"` {
			ct.NeedsApproval = true
		}
		if h.Authorization != "" {
			ct.Headers = append(ct.Headers, "Authorization")
		}
		d.Tools = append(d.Tools, ct)
	}
	return d
}

// orWritten is the URL as the file wrote it (${VAR} unexpanded: a value from
// the environment may be a key), or url for a configuration built in Go.
func orWritten(written, url string) string {
	if written != "" {
		return written
	}
	return url
}
