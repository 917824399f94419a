package live

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/callagent/callagent/internal/jsonscan"
)

// Audio is base64-encoded audio exactly as it travels on the wire: callagent relays
// G.711 μ-law between Twilio and the model without decoding it.
type Audio []byte

// MarshalJSON writes the base64 text as a JSON string.
func (a Audio) MarshalJSON() ([]byte, error) { return jsonscan.MarshalText(a) }

// UnmarshalJSON copies the base64 text of a JSON string.
func (a *Audio) UnmarshalJSON(b []byte) error { return jsonscan.UnmarshalText((*[]byte)(a), b) }

// Audio encodings. Phone calls use PCMU (G.711 μ-law) at 8000 Hz both ways, which
// bridges Twilio Media Streams without transcoding.
const (
	FormatPCMU = "audio/pcmu"
	FormatPCMA = "audio/pcma"
	FormatPCM  = "audio/pcm"
)

// PCMU8000 is the audio format of a phone call.
var PCMU8000 = AudioFormat{Type: FormatPCMU, Rate: 8000}

// SessionConfig is the session object of session.start: everything but the
// delegation is fixed for the session's life.
type SessionConfig struct {
	Model            string       `json:"model"`
	Instructions     string       `json:"instructions,omitempty"`
	Audio            *AudioConfig `json:"audio,omitempty"`
	Delegation       *Delegation  `json:"delegation,omitempty"` // nil: the application (client delegation)
	SafetyIdentifier string       `json:"safety_identifier,omitempty"`
	Store            *bool        `json:"store,omitempty"`
}

// AudioConfig is the session's audio: the WebSocket's format and the voice.
type AudioConfig struct {
	Format *AudioFormat `json:"format,omitempty"`
	Output *AudioOutput `json:"output,omitempty"`
}

// AudioFormat is an encoding and its sample rate (8000 for G.711; 16000 or 24000
// for audio/pcm).
type AudioFormat struct {
	Type string `json:"type"`
	Rate int    `json:"rate"`
}

// AudioOutput holds the voice of the model's speech.
type AudioOutput struct {
	Voice *Voice `json:"voice,omitempty"`
}

// Voice is a built-in voice by Name ("marin") or a custom voice by ID ({"id": ...}).
type Voice struct {
	Name string
	ID   string
}

// MarshalJSON writes a name as a string and a custom voice as {"id": ID}.
func (v Voice) MarshalJSON() ([]byte, error) {
	if v.ID != "" {
		return json.Marshal(struct {
			ID string `json:"id"`
		}{v.ID})
	}
	return json.Marshal(v.Name)
}

// UnmarshalJSON reads either spelling.
func (v *Voice) UnmarshalJSON(b []byte) error {
	*v = Voice{}
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		var c struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return err
		}
		if c.ID == "" {
			return errors.New("custom voice without an id")
		}
		v.ID = c.ID
		return nil
	}
	return json.Unmarshal(b, &v.Name)
}

// Delegation owners.
const (
	DelegateClient    = "client"
	DelegateResponses = "responses"
)

// Delegation says who handles the tasks the Live model delegates: the application
// (Type "client") or a Responses backend the session manages (Type "responses",
// Responses set). In session.update the type must stay the same.
type Delegation struct {
	Type                   string               `json:"type"`
	AcknowledgementDelayMs *int                 `json:"acknowledgement_delay_ms,omitempty"`
	Responses              *ResponsesDelegation `json:"responses,omitempty"`
}

// ResponsesDelegation configures the Responses backend. Model is required at
// session.start; in session.update omitted settings keep their values.
type ResponsesDelegation struct {
	Model             string     `json:"model,omitempty"`
	Instructions      string     `json:"instructions,omitempty"`
	MaxOutputTokens   *int       `json:"max_output_tokens,omitempty"`
	ParallelToolCalls *bool      `json:"parallel_tool_calls,omitempty"`
	Reasoning         *Reasoning `json:"reasoning,omitempty"`
	ToolChoice        string     `json:"tool_choice,omitempty"` // auto, none, required
	Tools             []Tool     `json:"tools,omitempty"`
}

// Reasoning is the backend's reasoning effort ("low", "medium", ...) and summary.
type Reasoning struct {
	Effort  string `json:"effort,omitempty"`
	Summary string `json:"summary,omitempty"`
}

// Tool is a tool of the Responses backend: a function tool (Type "function",
// Name, Description, Parameters as a JSON Schema), or, with Raw set, any other tool
// (web_search, mcp, ...) written as Raw.
type Tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	Raw         json.RawMessage `json:"-"`
}

// MarshalJSON writes Raw when it is set, else the function tool.
func (t Tool) MarshalJSON() ([]byte, error) {
	if t.Raw != nil {
		return t.Raw, nil
	}
	type plain Tool
	return json.Marshal(plain(t))
}

// UnmarshalJSON keeps the whole tool in Raw too, so a hosted tool survives a round trip.
func (t *Tool) UnmarshalJSON(b []byte) error {
	type plain Tool
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = Tool(p)
	if t.Type != "function" {
		t.Raw = append(json.RawMessage(nil), b...)
	}
	return nil
}

// SessionUpdateConfig is the session object of session.update: only the delegation
// (and Decisions triggers, not used here) can change after startup.
type SessionUpdateConfig struct {
	Delegation *Delegation `json:"delegation,omitempty"`
}

// SessionResource is the resolved session of session.started, session.updated and
// session.closed.
type SessionResource struct {
	ID               string       `json:"id"`
	ExpiresAt        int64        `json:"expires_at"`
	Model            string       `json:"model"`
	Status           string       `json:"status"` // always "active"
	Audio            *AudioConfig `json:"audio,omitempty"`
	Delegation       *Delegation  `json:"delegation,omitempty"`
	Instructions     *string      `json:"instructions,omitempty"`
	SafetyIdentifier *string      `json:"safety_identifier,omitempty"`
	Store            *bool        `json:"store,omitempty"`
}

// InputItem is an input item for the Responses backend (response.item.create): a
// function tool's result (FunctionCallOutput) or a message.
type InputItem struct {
	Type    string      `json:"type"`
	CallID  string      `json:"call_id,omitempty"`
	Output  *string     `json:"output,omitempty"`
	Role    string      `json:"role,omitempty"`
	Content []InputText `json:"content,omitempty"`
}

// InputText is a text part of a message item.
type InputText struct {
	Type string `json:"type"` // input_text
	Text string `json:"text"`
}

// Item types of InputItem.
const (
	ItemFunctionCallOutput = "function_call_output"
	ItemMessage            = "message"
)

// FunctionCallOutput is the result of the backend's function call callID.
func FunctionCallOutput(callID, output string) InputItem {
	return InputItem{Type: ItemFunctionCallOutput, CallID: callID, Output: &output}
}

// Usage is the session's cumulative audio duration: a total, not an increment.
type Usage struct {
	Seconds float64 `json:"seconds"`
}

// ContextWindow is the latest context-window use, as a ratio of the model's limit.
type ContextWindow struct {
	UsageRatio float64 `json:"usage_ratio"`
}

// ErrorInfo is the error object of an error event.
type ErrorInfo struct {
	Type          string `json:"type"`
	Code          string `json:"code"`
	Message       string `json:"message"`
	Param         string `json:"param,omitempty"`
	ClientEventID string `json:"client_event_id,omitempty"`
}

// DelegationInfo is the delegation of session.delegation.created: metadata, not the
// task text.
type DelegationInfo struct {
	ID         string `json:"id"`
	Target     string `json:"target"` // client, responses, decisions
	Type       string `json:"type"`   // always "delegation"
	ResponseID string `json:"response_id,omitempty"`
}
