package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/callagent/callagent/internal/redact"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
)

// CallController changes a call through Twilio's REST API;
// *twiliorest.Client implements it.
type CallController interface {
	Hangup(ctx context.Context, callSID string) error
	Redirect(ctx context.Context, callSID, twiml string) error
}

// RuntimeOptions are what a Runtime needs from whoever runs the calls.
type RuntimeOptions struct {
	// Tools are Go functions, available to agents by their names.
	Tools []session.Tool
	// HTTPClient makes HTTP tool calls (default: a client without a global timeout;
	// each tool call has its own).
	HTTPClient *http.Client
	// Calls hangs up and transfers through Twilio's REST API. Without it hang_up ends
	// the call by closing the stream, and transfer reports it is not available.
	Calls CallController
	// Approver answers "ask" approvals: the terminal in dev, a webhook in serve. When
	// nil and approval.webhook is set, the webhook is used; otherwise asks are denied.
	Approver session.Approver
	// Secrets are values no tool result may carry to the model besides the
	// configuration's own (the ${VAR} values of headers and authorizations): the
	// environment's API keys and tokens. Each is scrubbed in every encoding.
	Secrets []string
	// TraceParent, when set, gives the W3C traceparent header of an HTTP tool's
	// request from the call's SID and the tool call's call_id (pkg/telemetry's
	// Tracer.TraceParent); "" sends none.
	TraceParent func(callSID, toolCallID string) string
}

// Runtime turns a validated Config into what each call's session runs.
type Runtime struct {
	cfg      *Config
	agents   map[string]session.Agent // built once; tools are stateless
	approver session.Approver
	secrets  *redact.Secrets // the configuration's and RuntimeOptions.Secrets
	prices   pricing.Table   // built once and shared by every call (read only): a copy per call was ~2 KB
}

// NewRuntime builds the agents of cfg (which must have passed Load or Validate).
func NewRuntime(cfg *Config, opts RuntimeOptions) (*Runtime, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	goTools := map[string]session.Tool{}
	for _, t := range opts.Tools {
		goTools[t.Spec().Name] = t
	}
	r := &Runtime{cfg: cfg, agents: map[string]session.Agent{}, prices: cfg.Prices(),
		secrets: redact.New(append(slices.Clone(cfg.secrets), opts.Secrets...)...)}
	tools := map[string]session.Tool{}
	hosted := map[string]realtime.Tool{}
	var issues []Issue
	for i := range cfg.Tools {
		spec := &cfg.Tools[i]
		switch {
		case spec.HTTP != nil:
			tools[spec.Name] = newHTTPTool(spec, opts.HTTPClient, r.secrets, opts.TraceParent)
		case spec.MCP != nil:
			hosted[spec.Name] = mcpTool(spec.MCP)
		case spec.Builtin != "":
			tools[spec.Name] = builtinTool(spec, opts.Calls)
		default:
			gt, ok := goTools[spec.Name]
			if !ok {
				issues = append(issues, Issue{File: cfg.Path, Message: fmt.Sprintf(
					"tools[%s]: has no http, mcp or builtin, and no Go function is registered under that name", spec.Name)})
				continue
			}
			tools[spec.Name] = withSpec(gt, spec)
			if tools[spec.Name].Spec().Description == "" {
				issues = append(issues, Issue{File: cfg.Path, Message: fmt.Sprintf(
					"tools[%s]: add a description, in the file or the Go function's spec: the model decides when to call a tool from it", spec.Name)})
			}
		}
	}
	if len(issues) > 0 {
		return nil, &Error{Issues: issues}
	}
	for i := range cfg.Agents {
		a := &cfg.Agents[i]
		sa := session.Agent{
			Name: a.Name, Instructions: a.Instructions, Voice: string(a.Voice), Speed: a.Speed,
			TurnDetection: a.TurnDetection.realtime(), NoiseReduction: a.NoiseReduction,
			Guardrail: guardrail(a.Guardrails),
		}
		if !a.Transcription.Disabled {
			sa.Transcription = &realtime.Transcription{Model: a.Transcription.Model, Language: a.Transcription.Language, Prompt: a.Transcription.Prompt}
		}
		names := toolNames(cfg)
		if a.Tools != nil {
			names = *a.Tools
		}
		for _, n := range names {
			if t, ok := tools[n]; ok {
				sa.Tools = append(sa.Tools, t)
			} else if h, ok := hosted[n]; ok {
				sa.HostedTools = append(sa.HostedTools, h)
			}
		}
		for _, h := range a.Handoffs {
			sa.Tools = append(sa.Tools, r.handoffTool(cfg.Agent(h)))
		}
		cfg.realtimeOptions(a, &sa)
		sa.Config = cfg.describe(a, &sa)
		r.agents[a.Name] = sa
	}
	r.approver = policyApprover(cfg.Approval, opts.Approver, opts.HTTPClient)
	return r, nil
}

func toolNames(cfg *Config) []string {
	names := make([]string, len(cfg.Tools))
	for i, t := range cfg.Tools {
		names[i] = t.Name
	}
	return names
}

// Config returns the configuration the runtime was built from.
func (r *Runtime) Config() *Config { return r.cfg }

// Agent returns the session agent of the named agent.
func (r *Runtime) Agent(name string) (session.Agent, bool) {
	a, ok := r.agents[name]
	return a, ok
}

// Setup fills a call's session options: the start agent, greeting, approvals, time
// and idle limits. It has the signature of server.Config.Session's function body.
func (r *Runtime) Setup(opts *session.Options) {
	start := r.cfg.StartAgent()
	opts.Agent = r.agents[start.Name]
	opts.Approver = r.approver
	if r.secrets.Len() > 0 {
		opts.ScrubToolOutput = r.secrets.ReplaceString
	}
	opts.ApprovalTimeout = r.cfg.Approval.Timeout.D()
	opts.MaxDuration = r.cfg.MaxCallDuration.D()
	opts.Model = r.cfg.Model
	opts.Prices = r.prices
	opts.MaxCost = r.cfg.MaxCost
	opts.IdleTimeout = r.cfg.IdleTimeout.D()
	if t := r.cfg.Tracing; t != nil {
		opts.Tracing = &realtime.Tracing{WorkflowName: t.WorkflowName, Metadata: t.Metadata} // the group: the CallSid
	}
	if g := start.Greeting; g.Enabled {
		switch {
		case g.Say != "":
			opts.Greeting = "Say exactly this, then listen: " + g.Say
		case g.Instructions != "":
			opts.Greeting = g.Instructions
		default:
			opts.Greeting = "Greet the caller briefly and ask how you can help."
		}
	}
}

// realtimeOptions fills the gpt-realtime-2 generation's options of an agent: the
// configuration's reasoning, parallel tool calls and truncation (the same for every
// agent, so a handoff keeps them) and the agent's stored prompt.
func (c *Config) realtimeOptions(a *AgentSpec, sa *session.Agent) {
	if c.Reasoning != nil {
		sa.Reasoning = &realtime.Reasoning{Effort: c.Reasoning.Effort}
	}
	sa.ParallelToolCalls = c.ParallelToolCalls
	if t := c.Truncation; t != nil {
		switch t.Mode {
		case "retention_ratio":
			rr := realtime.RetentionRatio{Type: t.Mode, RetentionRatio: t.RetentionRatio}
			if t.PostInstructions > 0 {
				rr.TokenLimits = &realtime.TokenLimits{PostInstructions: t.PostInstructions}
			}
			sa.Truncation, _ = json.Marshal(rr) // numbers only: always encodes
		default:
			sa.Truncation = json.RawMessage(`"` + t.Mode + `"`)
		}
	}
	if p := a.Prompt; p != nil {
		sa.Prompt = &realtime.Prompt{ID: p.ID, Version: p.Version, Variables: p.Variables}
	}
}

// realtime converts the turn detection settings.
func (td *TurnDetection) realtime() *realtime.TurnDetection {
	if td == nil {
		return nil
	}
	return &realtime.TurnDetection{Type: td.Type, Threshold: td.Threshold, PrefixPaddingMs: td.PrefixPaddingMs,
		SilenceDurationMs: td.SilenceDurationMs, IdleTimeoutMs: td.IdleTimeoutMs, Eagerness: td.Eagerness, CreateResponse: td.CreateResponse,
		InterruptResponse: td.InterruptResponse}
}

func mcpTool(m *MCPSpec) realtime.Tool {
	t := realtime.Tool{Type: "mcp", ServerLabel: m.ServerLabel, ServerURL: m.ServerURL, ServerDescription: m.ServerDescription,
		Authorization: m.Authorization, Headers: m.Headers}
	if m.AllowedTools != nil {
		t.AllowedTools, _ = json.Marshal(m.AllowedTools) // a []string always encodes
	}
	if m.RequireApproval != "" {
		t.RequireApproval = json.RawMessage(`"` + m.RequireApproval + `"`)
	}
	return t
}

// withSpec gives a Go tool the description, schema and policies of its config entry
// where the entry sets them.
func withSpec(t session.Tool, spec *ToolSpec) session.Tool {
	s := t.Spec()
	if spec.Description != "" {
		s.Description = spec.Description
	}
	if spec.Parameters != nil {
		s.Parameters, _ = json.Marshal(spec.Parameters)
	}
	if spec.Timeout != 0 {
		s.Timeout = spec.Timeout.D()
	}
	s.NeedsApproval = s.NeedsApproval || spec.NeedsApproval
	s.Background = s.Background || spec.Background
	return session.NewTool(s, t.Call)
}

// toolSpec converts the common fields of a config entry.
func toolSpec(spec *ToolSpec) session.ToolSpec {
	s := session.ToolSpec{Name: spec.Name, Description: spec.Description, Timeout: spec.Timeout.D(),
		NeedsApproval: spec.NeedsApproval, Background: spec.Background}
	if spec.Parameters != nil {
		s.Parameters, _ = json.Marshal(spec.Parameters)
	}
	return s
}

// handoffTool switches the call to another agent in the same live session.
func (r *Runtime) handoffTool(to *AgentSpec) session.Tool {
	desc := "Hand the call to the " + to.Name + " agent"
	if to.Description != "" {
		desc += ": " + to.Description
	}
	desc += ". Tell the caller first, briefly."
	return session.NewTool(session.ToolSpec{Name: "transfer_to_" + to.Name, Description: desc},
		func(ctx context.Context, _ json.RawMessage) (string, error) {
			call, ok := session.CallFrom(ctx)
			if !ok {
				return "", fmt.Errorf("handoff outside a call")
			}
			if err := call.SetAgent(r.agents[to.Name]); err != nil {
				return "", err
			}
			return "You are now the " + to.Name + " agent. Continue the conversation with the caller.", nil
		})
}

// guardrail compiles an agent's guardrails; nil when it has none.
func guardrail(g Guardrails) func(string) (string, bool) {
	type rule struct {
		name string
		re   *regexp.Regexp
	}
	var rules []rule
	for _, d := range g.Deny {
		rules = append(rules, rule{name: d, re: regexp.MustCompile(d)}) // validated already
	}
	for _, p := range g.DenyPhrases {
		words := strings.Fields(p)
		for i, w := range words {
			words[i] = regexp.QuoteMeta(w)
		}
		rules = append(rules, rule{name: p, re: regexp.MustCompile(`(?i)\b` + strings.Join(words, `\s+`) + `\b`)})
	}
	if len(rules) == 0 {
		return nil
	}
	return func(text string) (string, bool) {
		for _, r := range rules {
			if r.re.MatchString(text) {
				return r.name, true
			}
		}
		return "", false
	}
}

// policyApprover implements the approval policy.
func policyApprover(a Approval, ask session.Approver, client *http.Client) session.Approver {
	switch a.Policy {
	case ApproveAuto:
		return session.ApproverFunc(func(context.Context, session.ApprovalRequest) (bool, error) { return true, nil })
	case ApproveDeny:
		return session.ApproverFunc(func(context.Context, session.ApprovalRequest) (bool, error) {
			return false, fmt.Errorf("the approval policy is deny")
		})
	}
	if ask != nil {
		return ask
	}
	if a.Webhook != "" {
		return &WebhookApprover{URL: a.Webhook, Secret: a.WebhookSecret, Client: client}
	}
	return nil // the session denies: nobody can answer
}

// NeedsAsk reports whether calls may need an answer from a person or a webhook:
// policy ask and at least one tool that needs approval (or an MCP server that does).
func (c *Config) NeedsAsk() bool {
	if c.Approval.Policy != ApproveAsk {
		return false
	}
	return slices.ContainsFunc(c.Tools, func(t ToolSpec) bool {
		return t.NeedsApproval || (t.MCP != nil && t.MCP.RequireApproval == "always")
	})
}
