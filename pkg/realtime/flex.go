package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
)

// StringOrObject is a field the API gives either as a JSON string or as an object:
// a voice ("marin", or {"id": "voice_…"} for a custom voice), a tool choice
// ("auto", or {"type": "function", "name": "…"}). It re-encodes as it came. The
// zero value is absent (omitzero leaves it out).
type StringOrObject struct {
	String string          // the value, when it is a JSON string
	Object json.RawMessage // the value as it came, when it is an object
}

// Str is a StringOrObject holding s; an empty s is absent.
func Str(s string) StringOrObject { return StringOrObject{String: s} }

// IsZero reports whether v is absent.
func (v StringOrObject) IsZero() bool { return v.String == "" && len(v.Object) == 0 }

// ID is the "id" of an object value (a custom voice's), or "".
func (v StringOrObject) ID() string {
	var o struct {
		ID string `json:"id"`
	}
	if len(v.Object) == 0 || json.Unmarshal(v.Object, &o) != nil {
		return ""
	}
	return o.ID
}

// MarshalJSON encodes the string, or the object as it came.
func (v StringOrObject) MarshalJSON() ([]byte, error) {
	if len(v.Object) > 0 {
		return v.Object, nil
	}
	return json.Marshal(v.String)
}

var errNotStringOrObject = errors.New("realtime: want a string or an object")

// UnmarshalJSON accepts a string, an object, or null (absent).
func (v *StringOrObject) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
		return errNotStringOrObject
	case data[0] == '"':
		*v = StringOrObject{}
		return json.Unmarshal(data, &v.String)
	case data[0] == '{':
		*v = StringOrObject{Object: append(json.RawMessage(nil), data...)}
		return nil
	case string(data) == "null":
		*v = StringOrObject{}
		return nil
	}
	return errNotStringOrObject
}
