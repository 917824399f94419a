package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/callagent/callagent/pkg/pricing"
	"go.yaml.in/yaml/v3"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
)

// DefaultFile is the configuration file looked for in the working directory.
const DefaultFile = "callagent.yaml"

// Load reads and validates a configuration file; getenv resolves ${VAR} references.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{Issues: []Issue{{File: path, Message: "no such file: check the path, or run `callagent init` to write a starter"}}}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data, getenv)
}

// Parse validates a configuration held in data; file names it in errors and anchors
// instructions_file paths.
func Parse(file string, data []byte, getenv func(string) string) (*Config, error) {
	d := &decoder{file: file, lines: map[fieldKey]*yaml.Node{}}
	cfg := &Config{Path: file}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		d.issues = append(d.issues, syntaxIssue(file, err))
		return nil, &Error{Issues: d.issues}
	}
	if len(root.Content) == 0 || isNull(root.Content[0]) {
		d.add(nil, "the file is empty: add an agents list (run `callagent init` for a commented example)")
		return nil, &Error{Issues: d.issues}
	}
	d.decode(root.Content[0], reflect.ValueOf(cfg).Elem(), "")
	(&validator{d: d, cfg: cfg, getenv: getenv, dir: filepath.Dir(file)}).check()
	if len(d.issues) > 0 {
		sortIssues(d.issues)
		return nil, &Error{Issues: d.issues}
	}
	return cfg, nil
}

// Validate checks a configuration built in Go and fills in its defaults.
func (c *Config) Validate(getenv func(string) string) error {
	d := &decoder{lines: map[fieldKey]*yaml.Node{}}
	(&validator{d: d, cfg: c, getenv: getenv, dir: "."}).check()
	if len(d.issues) > 0 {
		return &Error{Issues: d.issues}
	}
	return nil
}

// sortIssues orders issues by position, as an editor would list them.
func sortIssues(issues []Issue) {
	slices.SortStableFunc(issues, func(a, b Issue) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}

var yamlLine = regexp.MustCompile(`line (\d+):`)

// syntaxIssue turns a YAML parse error into an issue at its line.
func syntaxIssue(file string, err error) Issue {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	is := Issue{File: file, Message: "not valid YAML: " + msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		is.Line, _ = strconv.Atoi(m[1])
		is.Column = 1
		is.Message = "not valid YAML: " + strings.TrimSpace(yamlLine.ReplaceAllString(msg, ""))
	}
	return is
}

// validator checks what the decoder cannot: references, ranges, files, environment
// variables. It also fills in defaults and expands ${VAR}.
type validator struct {
	d      *decoder
	cfg    *Config
	getenv func(string) string
	dir    string
}

var (
	agentName   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
	toolNameRe  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	e164        = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	envRef      = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
)

// issue reports a problem at the node the field at p came from.
func (v *validator) issue(p any, format string, args ...any) {
	v.d.add(v.d.nodeOf(p), format, args...)
}

func (v *validator) check() {
	c := v.cfg
	if c.Model == "" {
		c.Model = DefaultModel
	}
	v.checkPricing()
	switch c.Approval.Policy {
	case "":
		c.Approval.Policy = ApproveAsk
	case ApproveAuto, ApproveDeny, ApproveAsk:
	default:
		v.issue(&c.Approval.Policy, "approval.policy: %q is not a policy: use auto, deny or ask", c.Approval.Policy)
	}
	if c.Approval.Webhook != "" {
		c.Approval.Webhook = v.expand(&c.Approval.Webhook, "approval.webhook", c.Approval.Webhook, false)
		v.checkURL(&c.Approval.Webhook, "approval.webhook", c.Approval.Webhook)
	}
	if c.Approval.WebhookSecret != "" {
		c.Approval.WebhookSecret = v.expand(&c.Approval.WebhookSecret, "approval.webhook_secret", c.Approval.WebhookSecret, true)
		if c.Approval.Webhook == "" {
			v.issue(&c.Approval.WebhookSecret, "approval.webhook_secret without approval.webhook: set the webhook, or remove the secret")
		}
	}
	if c.Approval.Timeout == 0 {
		c.Approval.Timeout = Duration(defaultApprovalTimeout)
	}
	tools := map[string]bool{}
	for i := range c.Tools {
		v.checkTool(&c.Tools[i], tools)
	}
	if len(c.Agents) == 0 {
		v.issue(&c.Agents, "agents: add at least one agent, with a name and instructions")
		return
	}
	agents := map[string]bool{}
	for i := range c.Agents {
		a := &c.Agents[i]
		if a.Name != "" && agents[a.Name] {
			v.issue(&a.Name, "agents: two agents are named %q: names must be unique", a.Name)
		}
		agents[a.Name] = true
	}
	for i := range c.Agents {
		v.checkAgent(&c.Agents[i], tools, agents)
	}
	if c.Start != "" && !agents[c.Start] {
		v.issue(&c.Start, "start: there is no agent named %q%s", c.Start, suggest(c.Start, sortedKeys(agents), "the agents are"))
	}
	v.checkModelOptions()
}

// LiveModel reports whether model is a GPT-Live model (gpt-live-*), the other
// engine, rather than a Realtime one.
func LiveModel(model string) bool { return strings.HasPrefix(model, "gpt-live-") }

// checkModelOptions refuses options the chosen engine and model do not have: the
// API would refuse the whole session.update, and the call with it.
func (v *validator) checkModelOptions() {
	c := v.cfg
	switch c.Transport {
	case "", TransportMediaStreams, TransportSIP:
	default:
		v.issue(&c.Transport, "transport %q: use %s (Twilio Media Streams, the default) or %s (OpenAI answers over a SIP trunk)",
			c.Transport, TransportMediaStreams, TransportSIP)
	}
	switch c.AudioFormat {
	case "", "pcmu":
	case "pcma":
		if c.SIP() {
			break // the trunk's codec: a note of SIPNotes
		}
		v.issue(&c.AudioFormat, "audio_format pcma: Twilio Media Streams carry G.711 μ-law only, which callagent relays to the model "+
			"untouched as audio/pcmu; A-law is for a SIP transport, which callagent does not have yet: remove audio_format")
	default:
		v.issue(&c.AudioFormat, "audio_format %q: the only format on Twilio Media Streams is pcmu: remove audio_format", c.AudioFormat)
	}
	if r := c.Reasoning; r != nil && !slices.Contains(realtime.ReasoningEfforts, r.Effort) {
		v.issue(r, "reasoning.effort %q: use %s", r.Effort, strings.Join(realtime.ReasoningEfforts, ", "))
	}
	type option struct {
		p    any
		name string
	}
	var realtimeOnly []option // options of the Realtime engine only
	reasoning := []option{}   // options of the reasoning generation only
	if c.Reasoning != nil {
		reasoning = append(reasoning, option{c.Reasoning, "reasoning"})
	}
	if c.ParallelToolCalls != nil {
		reasoning = append(reasoning, option{c.ParallelToolCalls, "parallel_tool_calls"})
	}
	realtimeOnly = append(realtimeOnly, reasoning...)
	if c.Tracing != nil {
		realtimeOnly = append(realtimeOnly, option{c.Tracing, "tracing"})
	}
	if c.Truncation != nil {
		realtimeOnly = append(realtimeOnly, option{c.Truncation, "truncation"})
	}
	for i := range c.Agents {
		a := &c.Agents[i]
		if a.Prompt != nil {
			realtimeOnly = append(realtimeOnly, option{a.Prompt, "agents[" + a.Name + "]: prompt"})
		}
		if a.TurnDetection != nil && a.TurnDetection.IdleTimeoutMs != nil {
			realtimeOnly = append(realtimeOnly, option{a.TurnDetection.IdleTimeoutMs, "agents[" + a.Name + "]: turn_detection.idle_timeout_ms"})
		}
	}
	models := strings.Join(realtime.ReasoningModels, ", ")
	if l := c.Live; l != nil {
		if !LiveModel(c.Model) {
			v.issue(&c.Live, "live: options of the GPT-Live engine; your model %s is a Realtime model: remove live, or set model: gpt-live-1", c.Model)
		}
		if d := l.AcknowledgementDelayMs; d != nil && *d < 0 {
			v.issue(&l.AcknowledgementDelayMs, "live.acknowledgement_delay_ms %d: want 0 or more milliseconds", *d)
		}
	}
	switch {
	case LiveModel(c.Model):
		// Live's delegated backend reports a hosted MCP tool's approval request, but
		// its input items have no approval response: the call would wait forever.
		for i := range c.Tools {
			if m := c.Tools[i].MCP; m != nil && m.RequireApproval != "never" {
				v.issue(m, "tools[%s]: on GPT-Live (%s) a hosted MCP tool must say require_approval: never: the Live engine cannot answer "+
					"an approval request, so the call would wait; list the safe tools in allowed_tools and set require_approval: never, "+
					"or use a Realtime model (gpt-realtime-2)", c.Tools[i].Name, c.Model)
			}
		}
		for _, o := range realtimeOnly {
			v.issue(o.p, "%s is an option of the Realtime engine; %s is a GPT-Live model, which does not have it: remove it, or use a Realtime model (gpt-realtime-2)", o.name, c.Model)
		}
	case !realtime.ReasoningModel(c.Model):
		for _, o := range reasoning {
			v.issue(o.p, "%s needs a gpt-realtime-2 model (%s); your model is %s: set model: gpt-realtime-2, or remove %s", o.name, models, c.Model, o.name)
		}
	}
}

// CheckModel checks the options that depend on the model again, after the model
// was changed (a --model flag).
func (c *Config) CheckModel() error {
	d := &decoder{file: c.Path, lines: map[fieldKey]*yaml.Node{}}
	(&validator{d: d, cfg: c}).checkModelOptions()
	if len(d.issues) > 0 {
		return &Error{Issues: d.issues}
	}
	return nil
}

// checkPricing checks the price overrides and max_cost.
func (v *validator) checkPricing() {
	c := v.cfg
	for _, m := range slices.Sorted(maps.Keys(c.Pricing)) {
		r := c.Pricing[m]
		switch {
		case strings.TrimSpace(m) == "":
			v.issue(&c.Pricing, "pricing: an entry has no model name")
		case r.Check() != nil:
			v.issue(&c.Pricing, "pricing.%s.%v", m, r.Check())
		case r == pricing.Rates{}:
			v.issue(&c.Pricing, "pricing.%s states no price: give its prices (audio_input_per_mtok, ...), or remove the entry", m)
		}
	}
	switch {
	case math.IsNaN(c.MaxCost) || math.IsInf(c.MaxCost, 0) || c.MaxCost < 0:
		v.issue(&c.MaxCost, "max_cost: %v is not an amount of US dollars (0 or more; 0: no limit)", c.MaxCost)
	case c.MaxCost > 0:
		if _, ok := c.Prices().Lookup(c.Model); !ok {
			v.issue(&c.MaxCost, "max_cost needs the price of the model %q, which callagent does not know: add it under pricing (pricing: {%s: {audio_input_per_mtok: ...}})", c.Model, c.Model)
		}
		if b := c.LiveBackendModel(); LiveModel(c.Model) {
			if _, ok := c.Prices().Lookup(b); !ok {
				// Its tokens would leave the cost unknown, and max_cost blind, after the
				// first delegated task.
				v.issue(&c.MaxCost, "max_cost needs the price of the GPT-Live backend model %q, which callagent does not know: add it under pricing (pricing: {%s: {text_input_per_mtok: ..., cached_text_input_per_mtok: ..., text_output_per_mtok: ...}})", b, b)
			}
		}
	}
}

func (v *validator) checkAgent(a *AgentSpec, tools, agents map[string]bool) {
	path := "agents[" + a.Name + "]"
	switch {
	case a.Name == "":
		v.issue(a, "agents: every agent needs a name (lower case letters, digits, - and _)")
		path = "agents[?]"
	case !agentName.MatchString(a.Name):
		v.issue(&a.Name, "%s: name %q: use lower case letters, digits, - and _ (at most 40)", path, a.Name)
	}
	switch {
	case a.Instructions != "" && a.InstructionsFile != "":
		v.issue(&a.InstructionsFile, "%s: set instructions or instructions_file, not both", path)
	case a.InstructionsFile != "":
		file := a.InstructionsFile
		if !filepath.IsAbs(file) {
			file = filepath.Join(v.dir, file)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			v.issue(&a.InstructionsFile, "%s: instructions_file %s: %v", path, file, unwrapPathError(err))
		}
		a.Instructions = strings.TrimSpace(string(data))
	case strings.TrimSpace(a.Instructions) == "":
		v.issue(a, "%s: add instructions (what the agent is for and how it should talk) or instructions_file", path)
	}
	switch {
	case a.Voice == "":
		a.Voice = DefaultVoice
	case a.Voice.Custom():
	case !slices.Contains(voices, string(a.Voice)):
		v.issue(&a.Voice, "%s: voice %q is not a Realtime voice%s (a custom voice is written {id: voice_1234})", path, a.Voice,
			suggestOrList(string(a.Voice), voices, "the voices are"))
	}
	if p := a.Prompt; p != nil {
		if p.ID == "" {
			v.issue(p, "%s: prompt needs the id of a stored prompt: prompt: {id: pmpt_..., version: \"2\"}", path)
		}
		for name, val := range p.Variables {
			if err := session.CheckCallVars(val); err != nil {
				v.d.add(v.d.nodeOfEntry(p.Variables, name), "%s: prompt.variables.%s: %v", path, name, err)
			}
		}
	}
	if a.Speed != 0 && (a.Speed < 0.25 || a.Speed > 1.5) {
		v.issue(&a.Speed, "%s: speed %g: use a value from 0.25 to 1.5 (1 is normal)", path, a.Speed)
	}
	if td := a.TurnDetection; td != nil {
		switch td.Type {
		case "server_vad", "semantic_vad":
		case "":
			v.issue(td, "%s: turn_detection needs a type: server_vad or semantic_vad", path)
		default:
			v.issue(&td.Type, "%s: turn_detection.type %q: use server_vad or semantic_vad", path, td.Type)
		}
		if td.Eagerness != "" && td.Type != "semantic_vad" {
			v.issue(&td.Eagerness, "%s: turn_detection.eagerness only applies to semantic_vad: remove it, or use type: semantic_vad", path)
		} else if td.Eagerness != "" && !slices.Contains([]string{"low", "medium", "high", "auto"}, td.Eagerness) {
			v.issue(&td.Eagerness, "%s: turn_detection.eagerness %q: use low, medium, high or auto", path, td.Eagerness)
		}
		if td.Type == "semantic_vad" {
			// The API rejects a parameter the type does not have, and with it the
			// whole session.update: the call would stay on the wrong audio format.
			for _, f := range []struct {
				set  bool
				p    any
				name string
			}{{td.Threshold != nil, td.Threshold, "threshold"}, {td.PrefixPaddingMs != nil, td.PrefixPaddingMs, "prefix_padding_ms"}, {td.SilenceDurationMs != nil, td.SilenceDurationMs, "silence_duration_ms"}} {
				if f.set {
					v.issue(f.p, "%s: turn_detection.%s only applies to server_vad (semantic_vad decides from the words; tune it with eagerness): remove it, or use type: server_vad", path, f.name)
				}
			}
		} else if td.Threshold != nil && (*td.Threshold < 0 || *td.Threshold > 1) {
			v.issue(td.Threshold, "%s: turn_detection.threshold %g: use a value from 0 to 1", path, *td.Threshold)
		}
		if td.IdleTimeoutMs != nil && td.Type == "semantic_vad" {
			v.issue(td.IdleTimeoutMs, "%s: turn_detection.idle_timeout_ms only applies to server_vad: remove it, or use type: server_vad", path)
		}
		for _, ms := range []*int{td.PrefixPaddingMs, td.SilenceDurationMs, td.IdleTimeoutMs} {
			if ms != nil && *ms < 0 {
				v.issue(ms, "%s: turn_detection: milliseconds cannot be negative", path)
			}
		}
	}
	if !a.Transcription.Disabled && a.Transcription.Model == "" {
		a.Transcription.Model = DefaultTranscriptionModel
	}
	if a.NoiseReduction != "" && a.NoiseReduction != "near_field" && a.NoiseReduction != "far_field" {
		v.issue(&a.NoiseReduction, "%s: noise_reduction %q: use near_field (handsets) or far_field (speakerphones)", path, a.NoiseReduction)
	}
	if a.Tools != nil {
		for i, t := range *a.Tools {
			if !tools[t] {
				v.d.add(v.elemNode(a.Tools, i), "%s: tools: there is no tool named %q%s", path, t, suggest(t, sortedKeys(tools), "the tools are"))
			}
		}
	}
	for i, h := range a.Handoffs {
		switch {
		case h == a.Name:
			v.d.add(v.elemNode(&a.Handoffs, i), "%s: handoffs: an agent cannot hand off to itself", path)
		case !agents[h]:
			v.d.add(v.elemNode(&a.Handoffs, i), "%s: handoffs: there is no agent named %q%s", path, h, suggest(h, sortedKeys(agents), "the agents are"))
		}
	}
	for i, re := range a.Guardrails.Deny {
		if _, err := regexp.Compile(re); err != nil {
			v.d.add(v.elemNode(&a.Guardrails.Deny, i), "%s: guardrails.deny: %q is not a valid regular expression: %v", path, re, unwrapRegexpError(err))
		}
	}
	for i, p := range a.Guardrails.DenyPhrases {
		if strings.TrimSpace(p) == "" {
			v.d.add(v.elemNode(&a.Guardrails.DenyPhrases, i), "%s: guardrails.deny_phrases: an empty phrase would match everything", path)
		}
	}
}

// elemNode returns the node of element i of the list at p.
func (v *validator) elemNode(p any, i int) *yaml.Node {
	n := v.d.nodeOf(p)
	if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return n
}

func (v *validator) checkTool(t *ToolSpec, seen map[string]bool) {
	path := "tools[" + t.Name + "]"
	if t.Name == "" && t.Builtin != "" {
		t.Name = t.Builtin // `- builtin: hang_up` is enough
		path = "tools[" + t.Name + "]"
	}
	switch {
	case t.Name == "":
		v.issue(t, "tools: every tool needs a name")
	case !toolNameRe.MatchString(t.Name):
		v.issue(&t.Name, "%s: name %q: use letters, digits, - and _ (at most 64)", path, t.Name)
	case strings.HasPrefix(t.Name, "transfer_to_"):
		v.issue(&t.Name, "%s: names starting with transfer_to_ are reserved for handoffs between agents", path)
	case seen[t.Name]:
		v.issue(&t.Name, "%s: two tools are named %q: tool names must be unique", path, t.Name)
	}
	seen[t.Name] = true
	kinds := 0
	for _, set := range []bool{t.HTTP != nil, t.MCP != nil, t.Builtin != ""} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		v.issue(t, "%s: a tool is one of http, mcp or builtin: keep one", path)
	}
	if t.Parameters != nil {
		if typ, _ := t.Parameters["type"].(string); typ != "object" {
			v.issue(&t.Parameters, "%s: parameters must be a JSON Schema object: add `type: object` and its properties", path)
		}
		if _, err := json.Marshal(t.Parameters); err != nil {
			v.issue(&t.Parameters, "%s: parameters cannot be written as JSON: %v", path, err)
		}
	}
	if t.Transfer != nil && t.Builtin != BuiltinTransfer {
		v.issue(t.Transfer, "%s: transfer settings only apply to `builtin: transfer`", path)
	}
	switch {
	case t.HTTP != nil:
		v.checkHTTP(t, path)
	case t.MCP != nil:
		v.checkMCP(t, path)
	case t.Builtin != "":
		v.checkBuiltin(t, path)
	}
	if t.Description == "" && t.HTTP != nil {
		v.issue(t, "%s: add a description: the model decides when to call a tool from it", path)
	}
}

func (v *validator) checkHTTP(t *ToolSpec, path string) {
	h := t.HTTP
	h.written = h.URL
	h.URL = v.expand(&h.URL, path+".http.url", h.URL, false)
	v.checkURL(&h.URL, path+".http.url", h.URL)
	h.Method = strings.ToUpper(h.Method)
	if h.Method == "" {
		h.Method = "POST"
	} else if !slices.Contains(httpMethods, h.Method) {
		v.issue(&h.Method, "%s.http.method %q: use GET, POST, PUT, PATCH or DELETE", path, h.Method)
	}
	for k, val := range h.Headers {
		h.Headers[k] = v.expandEntry(h.Headers, k, path+".http.headers."+k, val)
	}
	if h.MaxResponseBytes < 0 {
		v.issue(&h.MaxResponseBytes, "%s.http.max_response_bytes cannot be negative", path)
	} else if h.MaxResponseBytes == 0 {
		h.MaxResponseBytes = defaultMaxResponseBytes
	}
	if t.Timeout == 0 {
		t.Timeout = Duration(defaultHTTPTimeout)
	}
}

func (v *validator) checkMCP(t *ToolSpec, path string) {
	m := t.MCP
	if m.ServerLabel == "" {
		v.issue(m, "%s.mcp: add server_label, the name the model knows the server by", path)
	} else if !toolNameRe.MatchString(m.ServerLabel) {
		v.issue(&m.ServerLabel, "%s.mcp.server_label %q: use letters, digits, - and _", path, m.ServerLabel)
	}
	if m.ServerURL == "" {
		v.issue(m, "%s.mcp: add server_url, the MCP server OpenAI will call", path)
	} else {
		m.written = m.ServerURL
		m.ServerURL = v.expand(&m.ServerURL, path+".mcp.server_url", m.ServerURL, false)
		v.checkURL(&m.ServerURL, path+".mcp.server_url", m.ServerURL)
	}
	if m.Authorization != "" {
		m.Authorization = v.expand(&m.Authorization, path+".mcp.authorization", m.Authorization, true)
	}
	for k, val := range m.Headers {
		m.Headers[k] = v.expandEntry(m.Headers, k, path+".mcp.headers."+k, val)
	}
	switch m.RequireApproval {
	case "", "always", "never":
	default:
		v.issue(&m.RequireApproval, "%s.mcp.require_approval %q: use always or never", path, m.RequireApproval)
	}
	if t.NeedsApproval {
		v.issue(&t.NeedsApproval, "%s: for MCP tools use mcp.require_approval: always (OpenAI asks, callagent answers)", path)
	}
}

func (v *validator) checkBuiltin(t *ToolSpec, path string) {
	switch t.Builtin {
	case BuiltinHangUp, BuiltinWeather:
	case BuiltinTransfer:
		tr := t.Transfer
		if tr == nil || (tr.To == "" && len(tr.Targets) == 0) {
			v.issue(t, "%s: builtin transfer needs transfer.to (a number) or transfer.targets (name: number)", path)
			return
		}
		if tr.To != "" && len(tr.Targets) > 0 {
			v.issue(tr, "%s.transfer: set to or targets, not both", path)
		}
		if tr.To != "" && !e164.MatchString(tr.To) {
			v.issue(&tr.To, "%s.transfer.to %q: write the number in E.164, like +14155550123", path, tr.To)
		}
		for name, num := range tr.Targets {
			if !agentName.MatchString(name) {
				v.d.add(v.d.nodeOfEntry(tr.Targets, name), "%s.transfer.targets: name %q: use lower case letters, digits, - and _", path, name)
			}
			if !e164.MatchString(num) {
				v.d.add(v.d.nodeOfEntry(tr.Targets, name), "%s.transfer.targets.%s %q: write the number in E.164, like +14155550123", path, name, num)
			}
		}
	default:
		v.issue(&t.Builtin, "%s: builtin %q does not exist%s", path, t.Builtin,
			suggestOrList(t.Builtin, []string{BuiltinHangUp, BuiltinTransfer, BuiltinWeather}, "the built-ins are"))
	}
}

func (v *validator) checkURL(p *string, path, raw string) {
	if raw == "" {
		v.issue(p, "%s: add the URL", path)
		return
	}
	if envRef.MatchString(raw) {
		return // already reported: a variable is missing
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		v.issue(p, "%s: %q is not an http(s) URL", path, raw)
	}
}

// expand replaces ${VAR} in s, reporting each variable that is not set. Values that
// come from variables in secret places are remembered for redaction.
func (v *validator) expand(p any, path, s string, secret bool) string {
	return v.expandAt(v.d.nodeOf(p), path, s, secret)
}

func (v *validator) expandEntry(m map[string]string, key, path, s string) string {
	return v.expandAt(v.d.nodeOfEntry(m, key), path, s, true)
}

func (v *validator) expandAt(n *yaml.Node, path, s string, secret bool) string {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		val := ""
		if v.getenv != nil {
			val = v.getenv(name)
		}
		if val == "" {
			missing = append(missing, name)
			return ref
		}
		if secret {
			v.cfg.secrets = append(v.cfg.secrets, val)
		}
		return val
	})
	for _, name := range missing {
		v.d.add(n, "%s: environment variable %s is not set: export it or add it to .env", path, name)
	}
	return out
}

// CheckVoice checks a voice given outside the file (dev's and serve's --voice) as
// the file's voice is checked: a built-in voice or a custom voice's id.
func CheckVoice(name string) error {
	if Voice(name).Custom() || slices.Contains(voices, name) {
		return nil
	}
	return fmt.Errorf("voice %q is not a Realtime voice%s (a custom voice is its id, voice_1234)", name,
		suggestOrList(name, voices, "the voices are"))
}

// suggestOrList suggests the closest value and always lists them all.
func suggestOrList(got string, known []string, intro string) string {
	s := suggest(got, known, intro)
	if strings.HasPrefix(s, ": did you mean") {
		s += " (" + intro + " " + strings.Join(known, ", ") + ")"
	}
	return s
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func unwrapRegexpError(err error) string {
	var re *syntax.Error
	if errors.As(err, &re) {
		return fmt.Sprintf("%s in %q", re.Code, re.Expr)
	}
	return err.Error()
}
