package realtime

import (
	"encoding/json"
	"testing"
)

func TestStringOrObject(t *testing.T) {
	tests := []struct {
		in, out string // out: the re-encoding ("" when in must be refused)
		str, id string
	}{
		{in: `"marin"`, out: `"marin"`, str: "marin"},
		{in: `"a\"b"`, out: `"a\"b"`, str: `a"b`},
		{in: `{"id":"voice_123"}`, out: `{"id":"voice_123"}`, id: "voice_123"},
		{in: ` {"type":"function","name":"w"} `, out: `{"type":"function","name":"w"}`},
		{in: `null`, out: `""`},
		{in: `12`},
		{in: `true`},
		{in: `["a"]`},
	}
	for _, tt := range tests {
		var v StringOrObject
		err := json.Unmarshal([]byte(tt.in), &v)
		if tt.out == "" {
			if err == nil {
				t.Errorf("%s accepted as %#v", tt.in, v)
			}
			continue
		}
		if err != nil || v.String != tt.str || v.ID() != tt.id {
			t.Errorf("%s: %#v (id %q), %v", tt.in, v, v.ID(), err)
			continue
		}
		data, err := json.Marshal(v)
		if err != nil || string(data) != tt.out {
			t.Errorf("%s re-encodes as %s, %v; want %s", tt.in, data, err, tt.out)
		}
	}
	// Absent values stay out of what is sent.
	data, _ := json.Marshal(AudioOutput{})
	if string(data) != `{}` {
		t.Errorf("zero AudioOutput encodes as %s", data)
	}
}

// FuzzStringOrObject: what decodes re-encodes to a value that decodes the same.
func FuzzStringOrObject(f *testing.F) {
	for _, s := range []string{`"marin"`, `{"id":"voice_1"}`, `null`, `1`, `{"a":[1,{"b":"c"}]}`, `"\u00e9"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v StringOrObject
		if json.Unmarshal(data, &v) != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%q decoded to %#v, which does not encode: %v", data, v, err)
		}
		var again StringOrObject
		if err := json.Unmarshal(out, &again); err != nil || again.String != v.String || (len(v.Object) > 0) != (len(again.Object) > 0) {
			t.Fatalf("%q → %s → %#v, %v", data, out, again, err)
		}
	})
}
