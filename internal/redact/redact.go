// Package redact finds secret values in text in every form they take once
// encoded: raw, JSON string escapes (of any common encoder, and a JSON string
// inside a JSON string as a call log line holds a tool's JSON output), URL
// percent-encoding, HTML character references and base64 (standalone, and
// inside a longer base64 text such as a Basic authorization of "user:secret").
// Every form is computed once, when the Secrets are made; Replace then scans a
// text once. It is for logs and for what a model is told, never for deciding
// whether something is safe to trust.
//
// It is on the ground floor so that the call log (pkg/calllog) and what runs a
// call's tools (pkg/agent, through a session option) share one definition of
// "the secret, in any encoding".
package redact

import (
	"encoding/base64"
	"slices"
	"strings"
)

// Redacted replaces every secret.
const Redacted = "[redacted]"

// MinLen is the shortest secret looked for: shorter values would match
// everywhere.
const MinLen = 6

// Secrets is a set of secret values in all their encodings. It is immutable and
// safe for concurrent use; the zero value and nil know no secrets.
type Secrets struct {
	forms []string // every encoding of every secret, longest first
	// starts has bit p set when some form begins with the two bytes p (big
	// endian): Replace looks at most positions no further than this bitmap.
	starts [1 << 16 / 64]uint64
	byTwo  map[uint16][]int // first two bytes → indexes into forms, longest first
}

// New returns the Secrets of values; empty values and values shorter than
// MinLen are ignored.
func New(values ...string) *Secrets {
	s := &Secrets{byTwo: map[uint16][]int{}}
	seen := map[string]bool{}
	for _, v := range values {
		if len(v) < MinLen {
			continue
		}
		for _, f := range Forms(v) {
			if !seen[f] {
				seen[f] = true
				s.forms = append(s.forms, f)
			}
		}
	}
	// Longest first, so a form containing another is replaced whole.
	slices.SortStableFunc(s.forms, func(a, b string) int { return len(b) - len(a) })
	for i, f := range s.forms {
		k := uint16(f[0])<<8 | uint16(f[1])
		s.starts[k/64] |= 1 << (k % 64)
		s.byTwo[k] = append(s.byTwo[k], i)
	}
	return s
}

// Len is the number of encoded forms looked for.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	return len(s.forms)
}

// MaxLen is the length of the longest form looked for (0 when there are none):
// a text cut to a length is scrubbed whole first, with this much beyond the cut.
func (s *Secrets) MaxLen() int {
	if s == nil || len(s.forms) == 0 {
		return 0
	}
	return len(s.forms[0])
}

// Replace returns b with every form of every secret replaced by Redacted; b
// itself, unchanged and without allocating, when none occurs.
func (s *Secrets) Replace(b []byte) []byte {
	if s == nil || len(s.forms) == 0 {
		return b
	}
	out, found := replace(s, b)
	if !found {
		return b
	}
	return out
}

// ReplaceString is Replace for a string; it allocates only when it replaces.
func (s *Secrets) ReplaceString(str string) string {
	if s == nil || len(s.forms) == 0 {
		return str
	}
	out, found := replace(s, str)
	if !found {
		return str
	}
	return string(out)
}

// replace scans t once; out is nil unless a form was found.
func replace[T string | []byte](s *Secrets, t T) (out []byte, found bool) {
	last := 0 // t[last:] is not in out yet
	for i := 0; i+1 < len(t); {
		k := uint16(t[i])<<8 | uint16(t[i+1])
		if s.starts[k/64]&(1<<(k%64)) == 0 {
			i++
			continue
		}
		n := match(s, t[i:], k)
		if n == 0 {
			i++
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(t))
		}
		out = append(out, t[last:i]...)
		out = append(out, Redacted...)
		i += n
		last = i
	}
	if out == nil {
		return nil, false
	}
	return append(out, t[last:]...), true
}

// match returns the length of the longest form that t begins with, or 0; the
// forms of s.byTwo[k] begin with t's first two bytes.
func match[T string | []byte](s *Secrets, t T, k uint16) int {
next:
	for _, i := range s.byTwo[k] {
		f := s.forms[i]
		if len(t) < len(f) {
			continue
		}
		for j := 2; j < len(f); j++ {
			if t[j] != f[j] {
				continue next
			}
		}
		return len(f)
	}
	return 0
}

// Forms returns the encodings of secret that Replace finds, raw first, without
// duplicates. Each is at least two bytes long.
func Forms(secret string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(f string) {
		if len(f) >= 2 && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	base := baseForms(secret)
	for _, f := range base {
		add(f)
	}
	// A JSON string holding the form: a tool's JSON output, an API's JSON error.
	var once []string
	for _, f := range base {
		for _, st := range jsonStyles {
			once = append(once, st.escape(f))
		}
	}
	for _, f := range once {
		add(f)
	}
	// That JSON inside a JSON string: the output as a call log line or a serve log
	// line holds it (Go's encoders: encoding/json and log/slog).
	for _, f := range once {
		add(goJSON.escape(f))
		add(slogJSON.escape(f))
	}
	return out
}

// baseForms are the secret as text carries it outside JSON: raw, percent-encoded,
// as HTML character references, and in base64.
func baseForms(secret string) []string {
	forms := []string{secret}
	for _, keep := range []string{queryKeep, pathKeep, componentKeep} {
		for _, upper := range []bool{true, false} {
			forms = append(forms, percentEncode(secret, keep, keep == queryKeep, upper))
		}
	}
	// A space as %20 in a query (encodeURIComponent does this, as do many clients).
	forms = append(forms, percentEncode(secret, queryKeep, false, true), percentEncode(secret, queryKeep, false, false))
	for _, st := range htmlStyles {
		forms = append(forms, st.escape(secret))
	}
	forms = append(forms, base64Forms(secret)...)
	return forms
}

// Percent-encoding: the bytes each encoder leaves as they are.
const (
	alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	// url.QueryEscape
	queryKeep = alnum + "-_.~"
	// url.PathEscape
	pathKeep = alnum + "-_.~$&+=:@"
	// JavaScript's encodeURIComponent
	componentKeep = alnum + "-_.!~*'()"
)

func percentEncode(s, keep string, plusSpace, upper bool) string {
	hex := "0123456789ABCDEF"
	if !upper {
		hex = "0123456789abcdef"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(keep, c) >= 0:
			b.WriteByte(c)
		case c == ' ' && plusSpace:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// htmlStyle is how one escaper writes the five characters HTML escapes.
type htmlStyle struct{ amp, lt, gt, quot, apos string }

var htmlStyles = []htmlStyle{
	{"&amp;", "&lt;", "&gt;", "&#34;", "&#39;"},                  // Go's html.EscapeString, html/template
	{"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"},                 // PHP htmlspecialchars(ENT_QUOTES), Rails
	{"&amp;", "&lt;", "&gt;", "&quot;", "&#x27;"},                // Python html.escape, Django
	{"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"},                // XML
	{"&amp;", "&lt;", "&gt;", `"`, "'"},                          // text content, quotes left alone
	{"&#38;", "&#60;", "&#62;", "&#34;", "&#39;"},                // decimal references
	{"&#x26;", "&#x3c;", "&#x3e;", "&#x22;", "&#x27;"},           // hexadecimal references
	{"&#x26;", "&#x3C;", "&#x3E;", "&#x22;", "&#x27;"},           // the same, upper case
	{"&amp;", "&lt;", "&gt;", "&quot;", "&#039;"},                // PHP before 8.1
	{"&#x0026;", "&#x003C;", "&#x003E;", "&#x0022;", "&#x0027;"}, // OWASP encoders
}

func (st htmlStyle) escape(s string) string {
	if !strings.ContainsAny(s, `&<>"'`) {
		return s
	}
	return strings.NewReplacer("&", st.amp, "<", st.lt, ">", st.gt, `"`, st.quot, "'", st.apos).Replace(s)
}

// jsonStyle is how one encoder writes a string's characters inside a JSON string.
type jsonStyle struct {
	html      bool // < > & as \u003c \u003e \u0026 (encoding/json by default)
	slash     bool // / as \/ (PHP, some Java encoders)
	ascii     bool // every non-ASCII character as \uXXXX, astral ones as surrogate pairs (Python, PHP)
	upper     bool // \u00A0 rather than \u00a0 (Jackson, Gson)
	lineSep   bool // U+2028 and U+2029 escaped (encoding/json, log/slog)
	shortBF   bool // \b and \f rather than \u0008 and \u000c
	allCtlHex bool // every control character as \u00XX, even \n (a few encoders)
}

// jsonStyles are the encoders whose output Forms covers; goJSON and slogJSON are
// the ones this program writes its logs with.
var (
	goJSON   = jsonStyle{html: true, lineSep: true, shortBF: true}
	slogJSON = jsonStyle{lineSep: true}

	jsonStyles = func() []jsonStyle {
		var all []jsonStyle
		for m := 0; m < 1<<6; m++ {
			st := jsonStyle{html: m&1 != 0, slash: m&2 != 0, ascii: m&4 != 0, upper: m&8 != 0, lineSep: m&16 != 0, shortBF: m&32 != 0}
			all = append(all, st)
		}
		all = append(all, jsonStyle{allCtlHex: true}, jsonStyle{allCtlHex: true, upper: true})
		return all
	}()
)

func (st jsonStyle) escape(s string) string {
	if !needsJSONEscape(s) {
		return s // every style leaves it as it is
	}
	hex := "0123456789abcdef"
	if st.upper {
		hex = "0123456789ABCDEF"
	}
	var b strings.Builder
	u := func(r rune) {
		b.WriteString(`\u`)
		b.WriteByte(hex[r>>12&15])
		b.WriteByte(hex[r>>8&15])
		b.WriteByte(hex[r>>4&15])
		b.WriteByte(hex[r&15])
	}
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 && st.allCtlHex:
			u(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b' && st.shortBF:
			b.WriteString(`\b`)
		case r == '\f' && st.shortBF:
			b.WriteString(`\f`)
		case r < 0x20:
			u(r)
		case (r == '<' || r == '>' || r == '&') && st.html:
			u(r)
		case r == '/' && st.slash:
			b.WriteString(`\/`)
		case (r == '\u2028' || r == '\u2029') && (st.lineSep || st.ascii):
			u(r)
		case r >= 0x80 && st.ascii:
			if r > 0xffff {
				r -= 0x10000
				u(0xd800 + r>>10)
				u(0xdc00 + r&0x3ff)
			} else {
				u(r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// needsJSONEscape reports whether some jsonStyle would change s.
func needsJSONEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c >= 0x80, c == '"', c == '\\', c == '<', c == '>', c == '&', c == '/':
			return true
		}
	}
	return false
}

// base64Forms are the secret in base64, both alphabets: whole (padded and not),
// and the characters that depend on the secret alone when it sits at each of the
// three alignments inside a longer encoded text ("user:secret" in a Basic
// authorization, a token inside an encoded JSON document). The one or two
// characters at each end that mix the secret's bits with its neighbours' are
// not replaced.
func base64Forms(secret string) []string {
	var forms []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(secret)), enc.WithPadding(base64.NoPadding).EncodeToString([]byte(secret)))
		raw := enc.WithPadding(base64.NoPadding)
		n := len(secret)
		for a := 0; a < 3; a++ {
			text := raw.EncodeToString(append(make([]byte, a), secret...))
			// Character i holds bits [6i, 6i+6); the secret is bits [8a, 8a+8n).
			from := (8*a + 5) / 6
			to := (8*a + 8*n) / 6
			if to-from >= 4 {
				forms = append(forms, text[from:to])
			}
		}
	}
	return forms
}
