package eventrecord

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecorderKeepsOneEventPerShape: values do not make a new shape,
// members and enum values do; long strings are cut but stay strings.
func TestRecorderKeepsOneEventPerShape(t *testing.T) {
	r := New(t.TempDir(), "live-events")
	long := strings.Repeat("A", 4000)
	frames := []string{
		`{"type":"input_audio_buffer.append","audio":"` + long + `"}`,
		`{"type":"input_audio_buffer.append","audio":"AAAA"}`,                         // same shape
		`{"type":"input_audio_buffer.append","audio":"AAAA","extra":1}`,               // a new member
		`{"type":"response.done","response":{"status":"completed","output":[]}}`,      // enum value
		`{"type":"response.done","response":{"status":"cancelled","output":[]}}`,      // another one
		`{"type":"response.done","response":{"status":"cancelled","output":[{},{}]}}`, // array members
		`not json`,
	}
	for _, f := range frames {
		r.Record("server", []byte(f))
	}
	data, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d shapes recorded, want 5:\n%s", len(lines), data)
	}
	if len(lines[0]) > 250 || !strings.Contains(lines[0], `"audio":"AAAA`) {
		t.Errorf("long audio not cut to a short string: %.300s", lines[0])
	}
	a := skeleton(nil, []byte(`{"type":"x","item_id":"item_1_23","audio":"`+long+`","n":12}`))
	b := skeleton(nil, []byte(`{"type":"x","item_id":"item_4_5","audio":"AAAA`+long+`","n":7}`))
	if string(a) != string(b) || len(a) > 60 {
		t.Errorf("skeletons %s and %s", a, b)
	}
	if !strings.HasPrefix(filepath.Base(r.path), "live-events-") {
		t.Errorf("recorded in %s", r.path)
	}
	if New("", "x") != nil {
		t.Error("a recorder without a directory")
	}
}
