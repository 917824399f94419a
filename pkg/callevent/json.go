package callevent

import (
	"encoding/json"
	"errors"
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
