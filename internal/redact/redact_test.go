package redact_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/callagent/callagent/internal/redact"
)

// encoder is one way a secret reaches a log or a model.
type encoder struct {
	name string
	enc  func(string) string
}

func jsonString(escapeHTML bool) func(string) string {
	return func(s string) string {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(escapeHTML)
		_ = e.Encode(s)
		q := strings.TrimSuffix(b.String(), "\n")
		return q[1 : len(q)-1] // inside the quotes, as inside a longer string
	}
}

func slogString(s string) string {
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("", "v", s)
	q := strings.TrimSuffix(b.String(), "\n")
	_, v, _ := strings.Cut(q, `"v":"`)
	return strings.TrimSuffix(v, `"}`)
}

// pythonJSON is json.dumps with ensure_ascii: every non-ASCII character as \uXXXX.
func pythonJSON(s string) string {
	q := jsonString(false)(s)
	var b strings.Builder
	for _, r := range q {
		switch {
		case r > 0xffff:
			r -= 0x10000
			b.WriteString(`\u` + hex4(0xd800+r>>10) + `\u` + hex4(0xdc00+r&0x3ff))
		case r >= 0x80:
			b.WriteString(`\u` + hex4(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hex4(r rune) string {
	const h = "0123456789abcdef"
	return string([]byte{h[r>>12&15], h[r>>8&15], h[r>>4&15], h[r&15]})
}

var encoders = []encoder{
	{"raw", func(s string) string { return s }},
	{"encoding/json", jsonString(true)},
	{"encoding/json without HTML escapes", jsonString(false)},
	{"log/slog", slogString},
	{"PHP json_encode", func(s string) string { return strings.ReplaceAll(pythonJSON(s), "/", `\/`) }},
	{"Python json.dumps", pythonJSON},
	{"JSON in JSON (a tool's JSON output in a call log line)", func(s string) string { return jsonString(true)(jsonString(false)(s)) }},
	{"url.QueryEscape", url.QueryEscape},
	{"url.QueryEscape, lower case", func(s string) string { return lowerPercent(url.QueryEscape(s)) }},
	{"url.PathEscape", url.PathEscape},
	{"url.Values in JSON", func(s string) string { return jsonString(true)(url.Values{"key": {s}}.Encode()) }},
	{"html.EscapeString", html.EscapeString},
	{"html with &quot;", func(s string) string {
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace(s)
	}},
	{"HTML in JSON", func(s string) string { return jsonString(true)(html.EscapeString(s)) }},
}

func lowerPercent(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = bytes.ToLower(b[i+1 : i+2])[0], bytes.ToLower(b[i+2 : i+3])[0]
		}
	}
	return string(b)
}

// checkRedacted fails when the secret is still in text, in any encoder's form.
func checkRedacted(t *testing.T, s *redact.Secrets, secret string) {
	t.Helper()
	for _, e := range encoders {
		in := e.enc("before " + secret + " after")
		out := string(s.Replace([]byte(in)))
		if strings.Contains(out, e.enc(secret)) && e.enc(secret) != "" {
			t.Errorf("%s: secret %q survives: %q → %q", e.name, secret, in, out)
		}
		if strings.Contains(out, secret) {
			t.Errorf("%s: secret %q survives raw: %q", e.name, secret, out)
		}
	}
	// base64, standalone and inside a longer text at each alignment (a Basic
	// authorization's "user:secret").
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		for _, text := range []string{secret, "u:" + secret, "user:" + secret, "use:" + secret + "-and more", `{"k":"` + secret + `"}`} {
			in := "Basic " + enc.EncodeToString([]byte(text)) + " ok"
			out := string(s.Replace([]byte(in)))
			if leaks(out, secret) {
				t.Errorf("base64 of %q: secret %q recoverable from %q", text, secret, out)
			}
			if out2 := string(s.Replace([]byte(jsonString(true)(in)))); leaks(strings.ReplaceAll(out2, `\/`, "/"), secret) {
				t.Errorf("base64 of %q in JSON: secret %q recoverable from %q", text, secret, out2)
			}
		}
	}
}

// leaks reports whether any base64 window of text decodes to the secret without
// its first and last bytes (which may share characters with their neighbours).
func leaks(text, secret string) bool {
	inner := secret[1 : len(secret)-1]
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for i := range text {
			for j := i + 4; j <= len(text); j += 4 {
				b, err := enc.DecodeString(text[i:j])
				if err != nil {
					break
				}
				if strings.Contains(string(b), inner) {
					return true
				}
			}
		}
	}
	return false
}

func TestReplaceEveryEncoding(t *testing.T) {
	for _, secret := range []string{
		`p"a\ss&<w>rd-42`, "sk-proj-abcdefghijklmnop", "tab\there\nnew/line+plus sp ace", "é€😀\u2028\u2029'quote'",
		"0123456789abcdef0123456789abcdef", "~!@#$%^&*()_+{}|:<>?",
	} {
		checkRedacted(t, redact.New(secret, "another-secret-value"), secret)
	}
}

// TestReplaceRandomSecrets is the property: for random secrets, no encoder's form
// of the secret survives Replace. CALLAGENT_SOAK (a multiplier, like 20) tries
// more of them.
func TestReplaceRandomSecrets(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 7))
	alphabet := []rune("abcXYZ019 \"\\&<>'/+=%?#:;@~\t\n\x01\x7féß€😀\u2028")
	n := 40
	if soak := os.Getenv("CALLAGENT_SOAK"); soak != "" {
		m, err := strconv.Atoi(soak)
		if err != nil || m < 1 {
			m = 10
		}
		n *= m
	}
	for range n {
		r := make([]rune, redact.MinLen+rng.IntN(20))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		secret := string(r)
		checkRedacted(t, redact.New(secret), secret)
	}
}

func FuzzReplace(f *testing.F) {
	f.Add(`p"a\ss&<w>rd-42`)
	f.Add("sk-live-0123456789abcdef")
	f.Add("a b+c/d=e%f")
	f.Fuzz(func(t *testing.T, secret string) {
		if len(secret) < redact.MinLen || !utf8.ValidString(secret) || strings.Contains(redact.Redacted, secret) ||
			strings.ContainsAny(secret, "[]") || len(secret) > 64 {
			t.Skip()
		}
		checkRedacted(t, redact.New(secret), secret)
	})
}

func TestReplaceKeepsOtherText(t *testing.T) {
	s := redact.New("secret-value", "short", "")
	in := []byte(`{"a":"nothing here","b":"short"}`)
	if out := s.Replace(in); &out[0] != &in[0] || string(out) != string(in) {
		t.Errorf("a text without secrets changed or was copied: %q", out)
	}
	got := string(s.Replace([]byte("x secret-value y c2VjcmV0LXZhbHVl z")))
	if want := "x [redacted] y [redacted] z"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := s.ReplaceString("a%22secret-value"); got != "a%22[redacted]" {
		t.Errorf("ReplaceString: %q", got)
	}
	var none *redact.Secrets
	if got := none.ReplaceString("secret-value"); got != "secret-value" {
		t.Errorf("nil Secrets changed a text: %q", got)
	}
}

func TestReplaceNoAllocationWithoutSecret(t *testing.T) {
	s := redact.New("sk-proj-abcdefghijklmnopqrstuvwxyz", `p"a\ss&<w>rd-42`)
	line := []byte(`{"time":"2026-11-23T10:00:01.5Z","level":"info","type":"tool.result","fields":{"output":"{\"order\":\"A-1234\"}"}}`)
	if n := testing.AllocsPerRun(100, func() { s.Replace(line) }); n != 0 {
		t.Errorf("Replace allocated %v times on a line without secrets", n)
	}
}

func TestReplaceStringAllocatesOnlyToReplace(t *testing.T) {
	s := redact.New("sk-proj-abcdefghijklmnopqrstuvwxyz", `p"a\ss&<w>rd-42`)
	// "sk" and "p\"" begin forms: match runs, finds nothing.
	text := `{"output":"sk-proj and p\"a are not secrets; skipping sk-proj-abc"}`
	if n := testing.AllocsPerRun(100, func() { s.ReplaceString(text) }); n != 0 {
		t.Errorf("ReplaceString allocated %v times on a text without secrets", n)
	}
	if n := testing.AllocsPerRun(100, func() { s.Replace([]byte(text)) }); n != 0 {
		t.Errorf("Replace allocated %v times on a text without secrets", n)
	}
}
