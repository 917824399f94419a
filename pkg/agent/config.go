// Package agent is what users configure: callagent.yaml (or the same structures built
// in Go) turned into what each call's session runs — instructions, voice, turn
// detection, tools (HTTP, hosted MCP, built-in hang-up and transfer, Go functions),
// approvals, guardrails, handoffs between agents, greeting, idle and time limits.
//
// Loading validates everything at once and reports each problem with file:line, what
// is wrong and how to fix it. The package does not run calls or speak any protocol:
// Runtime.Setup fills a session's options, and the session does the rest.
package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/pricing"
	"go.yaml.in/yaml/v3"
)

// Config is a callagent.yaml: agents, the tools they may use, and call settings.
type Config struct {
	// Start names the agent that answers calls (default: the first one).
	Start string `yaml:"start"`
	// Model is the OpenAI Realtime model (default gpt-realtime).
	Model string `yaml:"model"`
	// MaxCallDuration ends calls after this long, after telling the agent to wrap up.
	MaxCallDuration Duration `yaml:"max_call_duration"`
	// IdleTimeout: after this much silence the agent asks whether the caller is still
	// there; after as much again it says goodbye and hangs up.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// The Realtime engine's session options of the gpt-realtime-2 generation
	// (issue 15); each is checked against Model.

	// Reasoning sets the reasoning effort (gpt-realtime-2 models only).
	Reasoning *Reasoning `yaml:"reasoning"`
	// ParallelToolCalls lets the model make several tool calls in one response
	// (gpt-realtime-2 models only); callagent answers once, with every result.
	ParallelToolCalls *bool `yaml:"parallel_tool_calls"`
	// Tracing turns on OpenAI's traces of each call, grouped by its CallSid.
	Tracing *Tracing `yaml:"tracing"`
	// Truncation is what the model drops when the conversation outgrows its context.
	Truncation *Truncation `yaml:"truncation"`
	// AudioFormat is the audio between callagent and the model: pcmu, always, on
	// Twilio Media Streams (μ-law only); over SIP the trunk and OpenAI negotiate
	// the codec, and audio_format has no effect.
	AudioFormat string `yaml:"audio_format"`
	// Transport is how calls reach the model: "media_streams" (the default:
	// Twilio streams the call's audio through callagent) or "sip" (OpenAI answers
	// the phone over a SIP trunk; callagent accepts the call and controls it over
	// the sideband, see sip.go).
	Transport string `yaml:"transport"`
	// Live configures the GPT-Live engine (gpt-live-* models only).
	Live *Live `yaml:"live"`

	// Pricing states the prices of models, replacing callagent's defaults
	// (pricing.Defaults, dated pricing.AsOf) for the models it names, or adding
	// models: each entry states its model's prices in full (USD per 1M tokens; per
	// minute for duration-billed models), an unstated price is zero.
	Pricing map[string]pricing.Rates `yaml:"pricing"`
	// MaxCost ends a call once its cost passes this many US dollars, after telling
	// the agent to wrap up (0: no limit). It needs a price for the model.
	MaxCost float64 `yaml:"max_cost"`
	// Approval is the policy for tools marked needs_approval (and MCP approvals).
	Approval Approval    `yaml:"approval"`
	Agents   []AgentSpec `yaml:"agents"`
	Tools    []ToolSpec  `yaml:"tools"`

	// Path is the file the configuration came from ("" when built in).
	Path string `yaml:"-"`
	// secrets are values that came from ${VAR} in headers and authorizations, kept so
	// they can be scrubbed from anything a tool returns or logs.
	secrets []string
}

// Live configures the GPT-Live engine: the Responses backend the model delegates
// tasks, and callagent's tools, to.
type Live struct {
	// BackendModel is the Responses model of the delegated tasks (default
	// DefaultLiveBackendModel).
	BackendModel string `yaml:"backend_model"`
	// AcknowledgementDelayMs is how long the model waits before it acknowledges a
	// delegated task aloud (the API's default when unset).
	AcknowledgementDelayMs *int `yaml:"acknowledgement_delay_ms"`
}

// DefaultLiveBackendModel is the Responses model a GPT-Live call delegates to.
const DefaultLiveBackendModel = "gpt-5.5"

// LiveBackendModel is the backend model of a GPT-Live call.
func (c *Config) LiveBackendModel() string {
	if c.Live != nil && c.Live.BackendModel != "" {
		return c.Live.BackendModel
	}
	return DefaultLiveBackendModel
}

// Approval policies.
const (
	ApproveAuto = "auto" // tools that need approval run without asking
	ApproveDeny = "deny" // they never run; the model is told
	ApproveAsk  = "ask"  // whoever runs the call decides: the terminal in dev, the webhook in serve
)

// Approval configures approvals.
type Approval struct {
	Policy string `yaml:"policy"`
	// Webhook receives approval requests under "ask" in serve: a POST of
	// {call_sid, call_id, tool, arguments}, answered with {"approved": true|false}.
	Webhook string `yaml:"webhook"`
	// WebhookSecret, when set, signs each request (X-Callagent-Signature:
	// t=UNIX,v1=hex HMAC-SHA256 of "UNIX.body"), so the webhook can tell callagent
	// from anyone else. Use ${VAR}: it is a secret.
	WebhookSecret string   `yaml:"webhook_secret"`
	Timeout       Duration `yaml:"timeout"`
}

// AgentSpec is one agent.
type AgentSpec struct {
	Name string `yaml:"name"`
	// Description tells other agents what this one does (used for handoff tools).
	Description      string `yaml:"description"`
	Instructions     string `yaml:"instructions"`
	InstructionsFile string `yaml:"instructions_file"`
	// Voice is a built-in voice's name, or a custom voice: {id: voice_1234} in YAML,
	// its id here.
	Voice          Voice          `yaml:"voice"`
	Speed          float64        `yaml:"speed"`
	Greeting       Greeting       `yaml:"greeting"`
	TurnDetection  *TurnDetection `yaml:"turn_detection"`
	Transcription  Transcription  `yaml:"transcription"`
	NoiseReduction string         `yaml:"noise_reduction"`
	// Tools lists the tools this agent may use by name; all tools when absent.
	Tools *[]string `yaml:"tools"`
	// Handoffs lists the agents this one may hand the call to.
	Handoffs   []string   `yaml:"handoffs"`
	Guardrails Guardrails `yaml:"guardrails"`
	// Prompt is a stored prompt (Realtime engine): its variables' values may name
	// the call, {{call.from}}, {{call.to}}, {{call.sid}}, {{call.param.NAME}}.
	Prompt *Prompt `yaml:"prompt"`
}

// Voice is a built-in voice's name or a custom voice's id (voice_…).
type Voice string

// Custom reports whether the voice is a custom voice's id.
func (v Voice) Custom() bool { return strings.HasPrefix(string(v), "voice_") }

// Reasoning configures a reasoning model.
type Reasoning struct {
	Effort string `yaml:"effort"` // minimal, low, medium, high, xhigh
}

// Prompt is a stored prompt of the OpenAI platform and its variables.
type Prompt struct {
	ID        string            `yaml:"id"`
	Version   string            `yaml:"version"`
	Variables map[string]string `yaml:"variables"`
}

// Tracing configures OpenAI's traces. In YAML: `tracing: auto`, or
// {workflow_name, metadata}. The group id is always the call's CallSid.
type Tracing struct {
	WorkflowName string            `yaml:"workflow_name"`
	Metadata     map[string]string `yaml:"metadata"`
}

// Truncation configures what the model drops when the conversation is too long for
// its context. In YAML: auto, disabled, or {retention_ratio: 0.8,
// token_limits: {post_instructions: 8000}}.
type Truncation struct {
	Mode             string  // auto, disabled or retention_ratio
	RetentionRatio   float64 // retention_ratio: the fraction kept (0 to 1)
	PostInstructions int     // retention_ratio: tokens allowed after the instructions (0: the model's)
}

// Greeting makes the agent speak first. In YAML: `greeting: false`, a string (the
// words to say), or {say: ..., instructions: ...}.
type Greeting struct {
	Enabled      bool
	Say          string // the exact words
	Instructions string // or how to greet
	set          bool
}

// TurnDetection configures voice activity detection.
type TurnDetection struct {
	Type              string   `yaml:"type"` // server_vad or semantic_vad
	Threshold         *float64 `yaml:"threshold"`
	PrefixPaddingMs   *int     `yaml:"prefix_padding_ms"`
	SilenceDurationMs *int     `yaml:"silence_duration_ms"`
	Eagerness         string   `yaml:"eagerness"` // semantic_vad: low, medium, high, auto
	// IdleTimeoutMs (server_vad, Realtime engine): after this much silence following
	// the agent's audio, the model itself prompts the caller to go on.
	IdleTimeoutMs     *int  `yaml:"idle_timeout_ms"`
	CreateResponse    *bool `yaml:"create_response"`
	InterruptResponse *bool `yaml:"interrupt_response"`
}

// Transcription of the caller's speech. In YAML: `transcription: false` to turn it
// off, or {model, language, prompt}. On by default (gpt-4o-mini-transcribe).
type Transcription struct {
	Disabled bool
	Model    string
	Language string
	Prompt   string
}

// Guardrails are checked on the agent's transcript as it speaks.
type Guardrails struct {
	// Deny are regular expressions (RE2; (?i) for case-insensitive).
	Deny []string `yaml:"deny"`
	// DenyPhrases match case-insensitively, whatever the spacing.
	DenyPhrases []string `yaml:"deny_phrases"`
}

// ToolSpec is a tool: HTTP, hosted MCP, built-in, or a Go function registered with
// the Runtime under its name (a spec with none of http, mcp and builtin).
type ToolSpec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Parameters is the JSON Schema of the arguments (an object schema).
	Parameters    map[string]any `yaml:"parameters"`
	Timeout       Duration       `yaml:"timeout"`
	NeedsApproval bool           `yaml:"needs_approval"`
	Background    bool           `yaml:"background"`

	HTTP     *HTTPSpec     `yaml:"http"`
	MCP      *MCPSpec      `yaml:"mcp"`
	Builtin  string        `yaml:"builtin"` // hang_up, transfer, weather
	Transfer *TransferSpec `yaml:"transfer"`
}

// HTTPSpec calls a URL with the arguments as JSON.
type HTTPSpec struct {
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"` // default POST
	Headers map[string]string `yaml:"headers"`
	// MaxResponseBytes bounds what is returned to the model (default 16 KiB).
	MaxResponseBytes int `yaml:"max_response_bytes"`

	written string // URL as the file wrote it, ${VAR} unexpanded: what a call's log says
}

// MCPSpec is a hosted MCP server, called by OpenAI, not by callagent.
type MCPSpec struct {
	ServerLabel       string            `yaml:"server_label"`
	ServerURL         string            `yaml:"server_url"`
	ServerDescription string            `yaml:"server_description"`
	Headers           map[string]string `yaml:"headers"`
	Authorization     string            `yaml:"authorization"`
	AllowedTools      []string          `yaml:"allowed_tools"`
	RequireApproval   string            `yaml:"require_approval"` // always or never

	written string // ServerURL as the file wrote it, ${VAR} unexpanded
}

// TransferSpec configures the built-in transfer: one number, or named targets the
// model chooses from.
type TransferSpec struct {
	To           string            `yaml:"to"`
	Targets      map[string]string `yaml:"targets"`
	Announcement string            `yaml:"announcement"` // said by Twilio before dialing
}

// Duration is a time.Duration written as "30s" or "10m" in YAML.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Built-in tools.
const (
	BuiltinHangUp   = "hang_up"
	BuiltinTransfer = "transfer"
	BuiltinWeather  = "weather"
)

// Voices the Realtime API offers.
var voices = []string{"alloy", "ash", "ballad", "cedar", "coral", "echo", "marin", "sage", "shimmer", "verse"}

// Defaults.
const (
	DefaultModel              = "gpt-realtime"
	DefaultVoice              = "marin"
	DefaultTranscriptionModel = "gpt-4o-mini-transcribe"
	defaultHTTPTimeout        = 10 * time.Second
	defaultMaxResponseBytes   = 16 << 10
	defaultApprovalTimeout    = 30 * time.Second
)

// Secrets returns the values that came from environment variables in headers and
// authorizations, for redaction.
func (c *Config) Secrets() []string { return c.secrets }

// Agent returns the agent named name, or nil.
func (c *Config) Agent(name string) *AgentSpec {
	for i := range c.Agents {
		if c.Agents[i].Name == name {
			return &c.Agents[i]
		}
	}
	return nil
}

// StartAgent returns the agent that answers calls.
func (c *Config) StartAgent() *AgentSpec {
	if c.Start != "" {
		return c.Agent(c.Start)
	}
	if len(c.Agents) == 0 {
		return nil
	}
	return &c.Agents[0]
}

// Summary is a one-line description, for startup banners: where the
// configuration comes from, then Contents.
func (c *Config) Summary() string {
	src := c.Path
	if src == "" {
		src = "built-in default"
	}
	return src + ": " + c.Contents()
}

// Contents says what the configuration holds: its agents and the number of tools.
func (c *Config) Contents() string {
	names := make([]string, len(c.Agents))
	for i, a := range c.Agents {
		names[i] = a.Name
	}
	return fmt.Sprintf("%d agent(s) (%s), %d tool(s)", len(c.Agents), strings.Join(names, ", "), len(c.Tools))
}

var _ yaml.Marshaler = Duration(0)

// Prices is the price table calls are costed with: callagent's defaults with the
// configuration's pricing entries in place of theirs.
func (c *Config) Prices() pricing.Table { return pricing.Defaults().With(c.Pricing) }
