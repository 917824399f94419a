package calllog

import (
	"regexp"
	"sync/atomic"

	"github.com/callagent/callagent/internal/redact"
)

// Redactor removes secrets from encoded lines before they are written anywhere:
// the values it is given (API keys, auth tokens, the ${VAR} values of tool
// headers) in every encoding they take in JSON, URLs, HTML and base64 (see
// internal/redact), the values of JSON fields whose names say they hold a
// secret (authorization, api_key, token, secret, password), bearer tokens, and
// OpenAI-style keys. It is safe for concurrent use; SetSecrets may be called
// while lines are redacted.
type Redactor struct {
	secrets atomic.Pointer[redact.Secrets]
}

// Redacted replaces every secret.
const Redacted = redact.Redacted

// secretNames are field names whose values are secrets.
const secretNames = `(?:authorization|proxy-authorization|api[_-]?key|x-api-key|[a-z0-9_-]*_token|auth-?token|access-?token|refresh-?token|token|secret|client[_-]?secret|password)`

var (
	secretField = regexp.MustCompile(`(?i)("` + secretNames + `"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	// The same inside a JSON string (a tool's output, a frame carried as text):
	// there the field's quotes are \", the value's own escapes \\\" and \\\\,
	// and the string's escapes \n and the like.
	escapedSecretField = regexp.MustCompile(`(?i)(\\"` + secretNames + `\\"\s*:\s*)\\"(?:[^\\]|\\\\\\.|\\\\[^\\]|\\[^"\\])*\\"`)
	bearer             = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
	openAIKey          = regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{16,}`)
)

// fieldWords are in every name secretNames matches (in any case): a line with
// none of them has no secret field, and the regular expressions, which cost
// most of the redaction, are not run.
var fieldWords = []string{"auth", "key", "token", "secret", "password"}

// NewRedactor returns a Redactor that knows secrets (empty and very short values
// are ignored: they would match everywhere).
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.SetSecrets(secrets...)
	return r
}

// SetSecrets replaces the known secret values; their encodings are computed
// here, once.
func (r *Redactor) SetSecrets(secrets ...string) {
	r.secrets.Store(redact.New(secrets...))
}

// Secrets returns the known secret values' encodings, to scrub other text (what
// a tool tells the model) the same way; nil for a nil Redactor.
func (r *Redactor) Secrets() *redact.Secrets {
	if r == nil {
		return nil
	}
	return r.secrets.Load()
}

// Redact returns line without secrets (line itself when there were none).
func (r *Redactor) Redact(line []byte) []byte {
	line = r.Secrets().Replace(line)
	if containsAnyFold(line, fieldWords) {
		if secretField.Match(line) {
			line = secretField.ReplaceAll(line, []byte(`${1}"`+Redacted+`"`))
		}
		if escapedSecretField.Match(line) {
			line = escapedSecretField.ReplaceAll(line, []byte(`${1}\"`+Redacted+`\"`))
		}
	}
	if containsAnyFold(line, []string{"bearer", "basic"}) && bearer.Match(line) {
		line = bearer.ReplaceAll(line, []byte("${1} "+Redacted))
	}
	if containsAnyFold(line, []string{"sk-"}) && openAIKey.Match(line) {
		line = openAIKey.ReplaceAll(line, []byte("sk-"+Redacted))
	}
	return line
}

// containsAnyFold reports whether b holds one of words (lower-case ASCII
// letters and '-', at most 8 words) in any case, without allocating.
func containsAnyFold(b []byte, words []string) bool {
	var first [256]uint8 // bit i: words[i] starts with this byte, in either case
	for i, w := range words {
		first[w[0]] |= 1 << i
		first[w[0]&^0x20] |= 1 << i
	}
	for i, c := range b {
		m := first[c]
		if m == 0 {
			continue
		}
		for k, w := range words {
			if m&(1<<k) == 0 || len(b)-i < len(w) {
				continue
			}
			j := 1
			for j < len(w) && b[i+j]|0x20 == w[j] {
				j++
			}
			if j == len(w) {
				return true
			}
		}
	}
	return false
}
