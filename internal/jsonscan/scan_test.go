package jsonscan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// members drains an Object into key/value pairs, decoding keys like encoding/json.
func members(t testing.TB, data []byte) ([][2]string, error) {
	t.Helper()
	var o Object
	o.Reset(data)
	var out [][2]string
	for o.Next() {
		// Decode the key the way encoding/json does (escapes, invalid UTF-8), so the
		// fuzz test compares member boundaries rather than key spelling.
		k, err := Unquote(o.rawKey)
		if err != nil {
			t.Fatalf("key %q scanned but does not decode: %v", o.rawKey, err)
		}
		out = append(out, [2]string{k, string(o.Value())})
	}
	return out, o.Err()
}

func TestObjectMembers(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want [][2]string
		err  bool
	}{
		{"empty", `{}`, nil, false},
		{"space", " \t\n{ } \r\n", nil, false},
		{"twilio media", `{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"40","payload":"f39/fw=="},"streamSid":"MZ1"}`,
			[][2]string{{"event", `"media"`}, {"sequenceNumber", `"3"`}, {"media", `{"track":"inbound","chunk":"2","timestamp":"40","payload":"f39/fw=="}`}, {"streamSid", `"MZ1"`}}, false},
		{"all value kinds", `{"a":1.5e-3,"b":[true,false,null,{"x":[]}],"c":"q\"\\\u00e9","d":-0}`,
			[][2]string{{"a", "1.5e-3"}, {"b", `[true,false,null,{"x":[]}]`}, {"c", `"q\"\\\u00e9"`}, {"d", "-0"}}, false},
		{"escaped key", `{"\u0074ype":"x"}`, [][2]string{{"type", `"x"`}}, false},
		{"not object", `[1]`, nil, true},
		{"trailing data", `{} x`, nil, true},
		{"trailing comma", `{"a":1,}`, [][2]string{{"a", "1"}}, true},
		{"missing colon", `{"a" 1}`, nil, true},
		{"raw control char", "{\"a\":\"x\ny\"}", nil, true},
		{"bad escape", `{"a":"\x"}`, nil, true},
		{"leading zero", `{"a":01}`, [][2]string{{"a", "0"}}, true},
		{"bare minus", `{"a":-}`, nil, true},
		{"unterminated", `{"a":"abc`, nil, true},
		{"truncated literal", `{"a":tru}`, nil, true},
		{"empty input", ``, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := members(t, []byte(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("members = %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("member %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
			if json.Valid([]byte(tt.in)) == tt.err && strings.HasPrefix(strings.TrimSpace(tt.in), "{") {
				t.Errorf("disagrees with encoding/json on validity")
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	ok := `{"a":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`
	if !Valid([]byte(ok)) || !json.Valid([]byte(ok)) {
		t.Fatalf("depth %d rejected (ours %v, encoding/json %v)", maxDepth, Valid([]byte(ok)), json.Valid([]byte(ok)))
	}
	deep := `{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`
	if Valid([]byte(deep)) || json.Valid([]byte(deep)) {
		t.Fatalf("depth %d accepted (ours %v, encoding/json %v)", maxDepth+1, Valid([]byte(deep)), json.Valid([]byte(deep)))
	}
}

func TestKeyIs(t *testing.T) {
	var o Object
	o.Reset([]byte(`{"type":1,"\u0074ype":2,"typ":3}`))
	var hits int
	for o.Next() {
		if o.KeyIs("type") {
			hits++
		}
	}
	if o.Err() != nil || hits != 2 {
		t.Fatalf("hits = %d, err = %v; want 2, nil", hits, o.Err())
	}
}

func TestStringAndInt(t *testing.T) {
	if c, esc, ok := String([]byte(`"abc"`)); !ok || esc || string(c) != "abc" {
		t.Errorf(`String("abc") = %q %v %v`, c, esc, ok)
	}
	if _, esc, ok := String([]byte(`"a\nb"`)); !ok || !esc {
		t.Errorf("escape not reported")
	}
	if _, _, ok := String([]byte(`12`)); ok {
		t.Errorf("number taken for a string")
	}
	for in, want := range map[string]int64{`"12"`: 12, `0`: 0, `-7`: -7, `"9223372036854775807"`: 9223372036854775807} {
		if got, ok := Int([]byte(in)); !ok || got != want {
			t.Errorf("Int(%s) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{`""`, `"x"`, `1.5`, `"-"`, `9223372036854775808`, `"99999999999999999999"`} {
		if _, ok := Int([]byte(in)); ok {
			t.Errorf("Int(%s) accepted", in)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\`, "tab\tnl\ncr\r", "\x00\x1f\x7f", "é✓", "bad\xffutf8", "item_ABC:12"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("AppendString(%q) decodes to %q, encoding/json round trip gives %q", s, back, wantBack)
		}
	}
}

func TestBase64Len(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 160, 161, 4000} {
		raw := bytes.Repeat([]byte{0xff, 0x7f, 0x00}, n)[:n]
		enc := []byte(base64.StdEncoding.EncodeToString(raw))
		if got, ok := Base64Len(enc); !ok || got != n {
			t.Errorf("Base64Len(%d bytes) = %d %v", n, got, ok)
		}
	}
	for _, bad := range []string{"abc", "ab\"c", "a===", "ab=c", "ab\\c", "ab c", "YQ"} {
		if _, ok := Base64Len([]byte(bad)); ok {
			t.Errorf("Base64Len(%q) accepted", bad)
		}
	}
}

// FuzzObject holds the scanner to encoding/json: the same inputs are valid, and a
// valid object yields the same members in the same order.
func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{"event":"media","media":{"payload":"f39/fw=="},"streamSid":"MZ1"}`,
		`{"type":"response.output_audio.delta","delta":"AAAA","item_id":"item_1"}`,
		`{"a":[1,2,{"b":null}],"c":"\u00e9\n","d":-1.5E+3}`,
		`{"a":"\ud800"}`, `{}`, `{"a":1}x`, `[]`, `{"a":01}`, "{\"a\":\"\x01\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := members(t, data)
		trimmed := bytes.TrimLeft(data, " \t\r\n")
		isObj := len(trimmed) > 0 && trimmed[0] == '{'
		valid := json.Valid(data)
		if isObj && valid != (err == nil) {
			t.Fatalf("validity differs: encoding/json %v, jsonscan err %v", valid, err)
		}
		if !isObj && err == nil {
			t.Fatalf("non-object accepted")
		}
		if err != nil || !valid {
			return
		}
		// Same members, in order: compare with a token walk of encoding/json.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if tok, _ := dec.Token(); tok != json.Delim('{') {
			t.Fatalf("encoding/json did not open an object")
		}
		i := 0
		for ; dec.More(); i++ {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("value: %v", err)
			}
			if i >= len(got) {
				t.Fatalf("jsonscan found %d members, encoding/json more", len(got))
			}
			if got[i][0] != tok.(string) {
				t.Fatalf("key %d: %q vs %q", i, got[i][0], tok)
			}
			var a, b bytes.Buffer
			_ = json.Compact(&a, v)
			_ = json.Compact(&b, []byte(got[i][1]))
			if a.String() != b.String() {
				t.Fatalf("value %d: %s vs %s", i, a.String(), b.String())
			}
		}
		if i != len(got) {
			t.Fatalf("jsonscan found %d members, encoding/json %d", len(got), i)
		}
	})
}

func BenchmarkScanAudioDelta(b *testing.B) {
	audio := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x7f, 0xff}, 400))
	msg := []byte(`{"type":"response.output_audio.delta","event_id":"event_123","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"` + audio + `"}`)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var o Object
	for b.Loop() {
		o.Reset(msg)
		for o.Next() {
		}
		if o.Err() != nil {
			b.Fatal(o.Err())
		}
	}
}
