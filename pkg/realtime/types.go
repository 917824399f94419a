package realtime

import (
	"encoding/json"
	"strings"

	"github.com/callagent/callagent/internal/jsonscan"
)

// Audio is base64-encoded audio exactly as it travels on the wire. callagent relays
// G.711 μ-law between Twilio and the model without decoding it, so audio stays text.
// (A plain []byte field would be base64-encoded a second time by encoding/json.)
type Audio []byte

// MarshalJSON writes the base64 text as a JSON string.
func (a Audio) MarshalJSON() ([]byte, error) { return jsonscan.MarshalText(a) }

// UnmarshalJSON copies the base64 text of a JSON string.
func (a *Audio) UnmarshalJSON(b []byte) error { return jsonscan.UnmarshalText((*[]byte)(a), b) }

// Audio formats. Phone calls use PCMU (G.711 μ-law, 8 kHz) in both directions.
const (
	FormatPCMU = "audio/pcmu"
	FormatPCMA = "audio/pcma"
	FormatPCM  = "audio/pcm"
)

// SessionConfig is the session object of session.update, session.created and
// session.updated. Fields the server adds (ID, Object, ExpiresAt) are only read.
type SessionConfig struct {
	Type             string          `json:"type"` // always "realtime"
	ID               string          `json:"id,omitempty"`
	Object           string          `json:"object,omitempty"`
	ExpiresAt        int64           `json:"expires_at,omitempty"`
	Model            string          `json:"model,omitempty"`
	Instructions     string          `json:"instructions"` // always stated: "" clears the previous agent's
	OutputModalities []string        `json:"output_modalities,omitempty"`
	Audio            *AudioConfig    `json:"audio,omitempty"`
	Tools            []Tool          `json:"tools,omitzero"`              // nil: left out; empty: "tools": [], which removes every tool
	ToolChoice       StringOrObject  `json:"tool_choice,omitzero"`        // "auto", "none", "required" or a function/MCP tool
	MaxOutputTokens  json.RawMessage `json:"max_output_tokens,omitempty"` // an integer or "inf"
	Tracing          json.RawMessage `json:"tracing,omitempty"`           // "auto" or a Tracing object; once on, it cannot change
	Truncation       json.RawMessage `json:"truncation,omitempty"`        // "auto", "disabled" or a RetentionRatio object
	Prompt           json.RawMessage `json:"prompt,omitempty"`            // a Prompt object
	Include          []string        `json:"include,omitempty"`
	// Reasoning and ParallelToolCalls are for reasoning models (gpt-realtime-2 and
	// later) only.
	Reasoning         *Reasoning `json:"reasoning,omitempty"`
	ParallelToolCalls *bool      `json:"parallel_tool_calls,omitempty"`
}

// Reasoning configures a reasoning model (RealtimeReasoning).
type Reasoning struct {
	Effort string `json:"effort,omitempty"` // minimal, low, medium, high, xhigh
}

// Reasoning efforts, as RealtimeReasoningEffort lists them.
var ReasoningEfforts = []string{"minimal", "low", "medium", "high", "xhigh"}

// Prompt is a stored prompt and the values of its variables (ResponsePrompt).
type Prompt struct {
	ID        string            `json:"id"`
	Version   string            `json:"version,omitempty"`
	Variables map[string]string `json:"variables,omitempty"`
}

// Tracing is the object form of the tracing setting (TracingConfiguration).
type Tracing struct {
	WorkflowName string            `json:"workflow_name,omitempty"`
	GroupID      string            `json:"group_id,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// RetentionRatio is the object form of the truncation setting
// (RealtimeTruncationRetentionRatio).
type RetentionRatio struct {
	Type           string       `json:"type"` // always "retention_ratio"
	RetentionRatio float64      `json:"retention_ratio"`
	TokenLimits    *TokenLimits `json:"token_limits,omitempty"`
}

// TokenLimits bounds the conversation kept by retention-ratio truncation.
type TokenLimits struct {
	PostInstructions int `json:"post_instructions,omitempty"`
}

// ReasoningModel reports whether a Realtime model is of the reasoning generation
// (gpt-realtime-2, gpt-realtime-2.1, gpt-realtime-2.1-mini and their dated
// snapshots), the only ones with reasoning and parallel_tool_calls.
func ReasoningModel(model string) bool {
	rest, ok := strings.CutPrefix(model, "gpt-realtime-")
	if !ok || rest == "" || rest[0] < '2' || rest[0] > '9' {
		return false
	}
	// gpt-realtime-2025-08-28 is a dated snapshot of the first generation.
	major, _, _ := strings.Cut(rest, "-")
	major, _, _ = strings.Cut(major, ".")
	return len(major) == 1
}

// ReasoningModels are the reasoning Realtime models known when callagent was built.
var ReasoningModels = []string{"gpt-realtime-2", "gpt-realtime-2.1", "gpt-realtime-2.1-mini"}

// AudioConfig holds the input and output audio settings of a session.
type AudioConfig struct {
	Input  *AudioInput  `json:"input,omitempty"`
	Output *AudioOutput `json:"output,omitempty"`
}

// AudioFormat names an audio encoding; Rate is only used with audio/pcm.
type AudioFormat struct {
	Type string `json:"type"`
	Rate int    `json:"rate,omitempty"`
}

// AudioInput configures what the model hears. An update merges into the session:
// a nil setting is left as the server has it unless Off names it, in which case it is
// sent as an explicit null, which turns it off.
type AudioInput struct {
	Format         *AudioFormat    `json:"format,omitempty"`
	Transcription  *Transcription  `json:"transcription,omitempty"`
	TurnDetection  *TurnDetection  `json:"turn_detection,omitempty"`
	NoiseReduction *NoiseReduction `json:"noise_reduction,omitempty"`
	Off            InputSettings   `json:"-"`
}

// InputSettings names settings of AudioInput, for AudioInput.Off.
type InputSettings uint8

// The settings an update can turn off with null.
const (
	OffTranscription InputSettings = 1 << iota
	OffTurnDetection
	OffNoiseReduction
)

// MarshalJSON writes the input settings, with null for those Off names and nil.
func (in AudioInput) MarshalJSON() ([]byte, error) {
	type plain AudioInput
	b, err := json.Marshal(plain(in))
	if err != nil || in.Off == 0 {
		return b, err
	}
	for _, f := range []struct {
		bit  InputSettings
		set  bool
		name string
	}{{OffTranscription, in.Transcription != nil, "transcription"}, {OffTurnDetection, in.TurnDetection != nil, "turn_detection"},
		{OffNoiseReduction, in.NoiseReduction != nil, "noise_reduction"}} {
		if in.Off&f.bit == 0 || f.set {
			continue
		}
		if len(b) > 2 {
			b = append(b[:len(b)-1], ',')
		} else {
			b = b[:len(b)-1]
		}
		b = append(append(append(b, '"'), f.name...), `":null}`...)
	}
	return b, nil
}

// AudioOutput configures what the model says.
type AudioOutput struct {
	Format *AudioFormat   `json:"format,omitempty"`
	Voice  StringOrObject `json:"voice,omitzero"` // "marin", or {"id": "voice_…"} for a custom voice
	Speed  float64        `json:"speed,omitempty"`
}

// Transcription turns on transcripts of the caller's speech.
type Transcription struct {
	Model    string `json:"model,omitempty"`
	Language string `json:"language,omitempty"`
	Prompt   string `json:"prompt,omitempty"`
}

// Turn detection types.
const (
	ServerVAD   = "server_vad"
	SemanticVAD = "semantic_vad"
)

// TurnDetection configures voice activity detection. Pointer fields are left to the
// server's default when nil.
type TurnDetection struct {
	Type              string   `json:"type"`
	Threshold         *float64 `json:"threshold,omitempty"`
	PrefixPaddingMs   *int     `json:"prefix_padding_ms,omitempty"`
	SilenceDurationMs *int     `json:"silence_duration_ms,omitempty"`
	IdleTimeoutMs     *int     `json:"idle_timeout_ms,omitempty"`
	CreateResponse    *bool    `json:"create_response,omitempty"`
	InterruptResponse *bool    `json:"interrupt_response,omitempty"`
	Eagerness         string   `json:"eagerness,omitempty"` // semantic_vad: low, medium, high, auto
}

// NoiseReduction selects input noise reduction: "near_field" or "far_field".
type NoiseReduction struct {
	Type string `json:"type"`
}

// Tool is a function tool or a hosted MCP server offered to the model.
type Tool struct {
	Type        string          `json:"type"` // "function" or "mcp"
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`

	// Hosted MCP (type "mcp").
	ServerLabel       string            `json:"server_label,omitempty"`
	ServerURL         string            `json:"server_url,omitempty"`
	ServerDescription string            `json:"server_description,omitempty"`
	ConnectorID       string            `json:"connector_id,omitempty"`
	Authorization     string            `json:"authorization,omitempty"`
	Headers           map[string]string `json:"headers,omitempty"`
	AllowedTools      json.RawMessage   `json:"allowed_tools,omitempty"`    // a list of names or a filter object
	RequireApproval   json.RawMessage   `json:"require_approval,omitempty"` // "always", "never" or a filter object
}

// Item types.
const (
	ItemMessage             = "message"
	ItemFunctionCall        = "function_call"
	ItemFunctionCallOutput  = "function_call_output"
	ItemMCPCall             = "mcp_call"
	ItemMCPListTools        = "mcp_list_tools"
	ItemMCPApprovalRequest  = "mcp_approval_request"
	ItemMCPApprovalResponse = "mcp_approval_response"
)

// Item is a conversation item: a message, a function call or its output, or an MCP
// item. Only the fields of its Type are set.
type Item struct {
	ID     string `json:"id,omitempty"`
	Type   string `json:"type"`
	Object string `json:"object,omitempty"`
	Status string `json:"status,omitempty"` // completed, incomplete, in_progress

	// message
	Role    string        `json:"role,omitempty"` // user, assistant, system
	Content []ContentPart `json:"content,omitempty"`

	// function_call and function_call_output
	CallID    string `json:"call_id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
	Output    string `json:"output,omitempty"`

	// MCP items
	ServerLabel       string          `json:"server_label,omitempty"`
	ApprovalRequestID string          `json:"approval_request_id,omitempty"`
	Approve           *bool           `json:"approve,omitempty"`
	Reason            string          `json:"reason,omitempty"`
	Error             json.RawMessage `json:"error,omitempty"`
	Tools             json.RawMessage `json:"tools,omitempty"`
}

// requiredItemMembers are the members the API's item types require, written even
// when empty (the struct's omitempty would drop them): a function_call announced
// before its arguments has "arguments": "", a message before its content "content": [].
var requiredItemMembers = map[string][]string{
	ItemMessage:             {"content"},
	ItemFunctionCall:        {"name", "arguments"},
	ItemFunctionCallOutput:  {"call_id", "output"},
	ItemMCPCall:             {"server_label", "name", "arguments"},
	ItemMCPApprovalRequest:  {"server_label", "name", "arguments"},
	ItemMCPListTools:        {"server_label", "tools"},
	ItemMCPApprovalResponse: {"approval_request_id"},
}

// MarshalJSON writes the item with the members its type requires.
func (it Item) MarshalJSON() ([]byte, error) {
	type plain Item
	b, err := json.Marshal(plain(it))
	if err != nil {
		return nil, err
	}
	for _, k := range requiredItemMembers[it.Type] {
		if v, err := jsonscan.Lookup(b, k); err == nil && v != nil {
			continue
		}
		empty := `""`
		if k == "content" || k == "tools" {
			empty = `[]`
		}
		b = append(append(append(append(b[:len(b)-1], `,"`...), k...), `":`...), empty...)
		b = append(b, '}')
	}
	return b, nil
}

// ContentPart is one part of a message item.
type ContentPart struct {
	Type       string `json:"type"` // input_text, input_audio, output_text, output_audio
	Text       string `json:"text,omitempty"`
	Audio      Audio  `json:"audio,omitempty"`
	Transcript string `json:"transcript,omitempty"`
}

// Response statuses.
const (
	StatusCompleted  = "completed"
	StatusCancelled  = "cancelled"
	StatusFailed     = "failed"
	StatusIncomplete = "incomplete"
	StatusInProgress = "in_progress"
)

// Response is the response object of response.created and response.done.
type Response struct {
	ID               string          `json:"id,omitempty"`
	Object           string          `json:"object,omitempty"`
	Status           string          `json:"status,omitempty"`
	StatusDetails    *StatusDetails  `json:"status_details,omitempty"`
	Output           []Item          `json:"output,omitempty"`
	ConversationID   string          `json:"conversation_id,omitempty"`
	OutputModalities []string        `json:"output_modalities,omitempty"`
	Usage            *Usage          `json:"usage,omitempty"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
}

// StatusDetails says why a response did not complete.
type StatusDetails struct {
	Type   string     `json:"type,omitempty"`
	Reason string     `json:"reason,omitempty"` // turn_detected, client_cancelled, max_output_tokens, content_filter
	Error  *ErrorInfo `json:"error,omitempty"`
}

// Usage counts the tokens of a response (RealtimeResponseUsage). Input counts
// the whole conversation sent to the model for this response: cached tokens are a
// subset of the input tokens, not an addition to them.
type Usage struct {
	TotalTokens        int                 `json:"total_tokens"`
	InputTokens        int                 `json:"input_tokens"`
	OutputTokens       int                 `json:"output_tokens"`
	InputTokenDetails  *InputTokenDetails  `json:"input_token_details,omitempty"`
	OutputTokenDetails *OutputTokenDetails `json:"output_token_details,omitempty"`
}

// InputTokenDetails splits a response's input tokens by modality
// (RealtimeResponseUsageInputTokenDetails).
type InputTokenDetails struct {
	TextTokens          int                 `json:"text_tokens"`
	AudioTokens         int                 `json:"audio_tokens"`
	ImageTokens         int                 `json:"image_tokens"`
	CachedTokens        int                 `json:"cached_tokens"`
	CachedTokensDetails *CachedTokenDetails `json:"cached_tokens_details,omitempty"`
}

// CachedTokenDetails splits the cached input tokens by modality.
type CachedTokenDetails struct {
	TextTokens  int `json:"text_tokens"`
	AudioTokens int `json:"audio_tokens"`
	ImageTokens int `json:"image_tokens"`
}

// OutputTokenDetails splits a response's output tokens by modality.
type OutputTokenDetails struct {
	TextTokens  int `json:"text_tokens"`
	AudioTokens int `json:"audio_tokens"`
}

// Transcription usage types: token-billed models (gpt-4o-transcribe and its kin)
// and duration-billed ones (whisper-1).
const (
	UsageTokens   = "tokens"
	UsageDuration = "duration"
)

// TranscriptionUsage is the usage of conversation.item.input_audio_transcription.completed:
// TranscriptTextUsageTokens (Type "tokens") or TranscriptTextUsageDuration (Type
// "duration", Seconds set).
type TranscriptionUsage struct {
	Type              string                          `json:"type"`
	InputTokens       int                             `json:"input_tokens,omitempty"`
	OutputTokens      int                             `json:"output_tokens,omitempty"`
	TotalTokens       int                             `json:"total_tokens,omitempty"`
	InputTokenDetails *TranscriptionInputTokenDetails `json:"input_token_details,omitempty"`
	Seconds           float64                         `json:"seconds,omitempty"`
}

// TranscriptionInputTokenDetails splits a transcription's input tokens.
type TranscriptionInputTokenDetails struct {
	TextTokens  int `json:"text_tokens"`
	AudioTokens int `json:"audio_tokens"`
}

// ErrorInfo is the error object of an error event.
type ErrorInfo struct {
	Type    string `json:"type,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Param   string `json:"param,omitempty"`
	EventID string `json:"event_id,omitempty"` // the client event that caused it
}

// Error codes callagent reacts to.
const (
	CodeActiveResponse = "conversation_already_has_active_response"
)

// ResponseParams are the options of response.create.
type ResponseParams struct {
	Instructions     string          `json:"instructions,omitempty"`
	OutputModalities []string        `json:"output_modalities,omitempty"`
	Tools            []Tool          `json:"tools,omitzero"`         // nil: left out; empty: "tools": [], which removes every tool
	ToolChoice       StringOrObject  `json:"tool_choice,omitzero"`   // "auto", "none", "required" or a function/MCP tool
	Conversation     string          `json:"conversation,omitempty"` // "none" for out-of-band
	Input            []Item          `json:"input,omitempty"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
	Audio            *AudioConfig    `json:"audio,omitempty"`
}

// RateLimit is one entry of rate_limits.updated.
type RateLimit struct {
	Name         string  `json:"name"`
	Limit        int     `json:"limit"`
	Remaining    int     `json:"remaining"`
	ResetSeconds float64 `json:"reset_seconds"`
}
