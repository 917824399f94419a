package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Events encode to JSON with snake_case fields and without their Header (call logs
// and --json output put time and call SID beside the fields). Errors become their
// text under "error"; a raw frame's data is embedded as the JSON it is.

// MarshalJSON encodes the event with its error as text.
func (e CallEnded) MarshalJSON() ([]byte, error) {
	type plain CallEnded
	return json.Marshal(struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain(e), errText(e.Err)})
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (e *CallEnded) UnmarshalJSON(data []byte) error {
	type plain CallEnded
	var v struct {
		plain
		Error string `json:"error"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*e = CallEnded(v.plain)
	e.Err = textErr(v.Error)
	return nil
}

// MarshalJSON encodes the event with its error as text.
func (e ToolResult) MarshalJSON() ([]byte, error) {
	type plain ToolResult
	return json.Marshal(struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain(e), errText(e.Err)})
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (e *ToolResult) UnmarshalJSON(data []byte) error {
	type plain ToolResult
	var v struct {
		plain
		Error string `json:"error"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*e = ToolResult(v.plain)
	e.Err = textErr(v.Error)
	return nil
}

// MarshalJSON embeds the frame as JSON when it is JSON (every Twilio and Realtime
// text frame), else as a string.
func (e RawFrame) MarshalJSON() ([]byte, error) {
	type plain RawFrame
	var data any
	switch {
	case len(e.Data) == 0:
	case json.Valid(e.Data):
		data = json.RawMessage(e.Data)
	default:
		data = string(e.Data)
	}
	p := plain(e)
	p.Data = nil
	return json.Marshal(struct {
		plain
		Data any `json:"data,omitempty"`
	}{p, data})
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (e *RawFrame) UnmarshalJSON(data []byte) error {
	type plain RawFrame
	var v struct {
		plain
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*e = RawFrame(v.plain)
	e.Data = nil
	if len(v.Data) > 0 {
		var s string
		if json.Unmarshal(v.Data, &s) == nil {
			e.Data = []byte(s)
		} else {
			e.Data = []byte(v.Data)
		}
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func textErr(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// eventTypes makes an empty event of each kind, for DecodeEvent.
var eventTypes = map[string]func() Event{}

func register[E Event](newE func() *E) {
	var zero E
	eventTypes[zero.Kind()] = func() Event { return any(newE()).(Event) }
}

func init() {
	register(func() *CallStarted { return new(CallStarted) })
	register(func() *ModelConnected { return new(ModelConnected) })
	register(func() *SpeechStarted { return new(SpeechStarted) })
	register(func() *SpeechStopped { return new(SpeechStopped) })
	register(func() *CallerTranscriptDelta { return new(CallerTranscriptDelta) })
	register(func() *CallerTranscript { return new(CallerTranscript) })
	register(func() *AgentTranscriptDelta { return new(AgentTranscriptDelta) })
	register(func() *AgentTranscript { return new(AgentTranscript) })
	register(func() *Interruption { return new(Interruption) })
	register(func() *TurnLatency { return new(TurnLatency) })
	register(func() *ResponseDone { return new(ResponseDone) })
	register(func() *GuardrailTripped { return new(GuardrailTripped) })
	register(func() *AgentChanged { return new(AgentChanged) })
	register(func() *ToolCall { return new(ToolCall) })
	register(func() *ToolApprovalRequested { return new(ToolApprovalRequested) })
	register(func() *ToolApprovalDecided { return new(ToolApprovalDecided) })
	register(func() *ToolResult { return new(ToolResult) })
	register(func() *MCPEvent { return new(MCPEvent) })
	register(func() *DTMF { return new(DTMF) })
	register(func() *ModelError { return new(ModelError) })
	register(func() *Warning { return new(Warning) })
	register(func() *RawFrame { return new(RawFrame) })
	register(func() *HTTPRequest { return new(HTTPRequest) })
	register(func() *MediaStats { return new(MediaStats) })
	register(func() *CallEnded { return new(CallEnded) })
}

// DecodeEvent rebuilds an event of the given kind from its JSON fields (as
// json.Marshal of the event wrote them) and header.
func DecodeEvent(kind string, fields []byte, h Header) (Event, error) {
	newE, ok := eventTypes[kind]
	if !ok {
		return nil, fmt.Errorf("unknown event type %q", kind)
	}
	p := newE()
	if len(fields) > 0 {
		if err := json.Unmarshal(fields, p); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
	}
	return withHeader(p, h), nil
}

// withHeader returns the event p points to, as a value, with h set.
func withHeader(p Event, h Header) Event {
	v := reflect.ValueOf(p).Elem()
	v.FieldByName("Header").Set(reflect.ValueOf(h))
	return v.Interface().(Event)
}
