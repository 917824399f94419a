package calllog

import (
	"bytes"
	"regexp"
	"slices"
	"sync/atomic"
)

// Redactor removes secrets from encoded lines before they are written anywhere:
// the values it is given (API keys, auth tokens, the ${VAR} values of tool headers),
// the values of JSON fields whose names say they hold a secret (authorization,
// api_key, token, secret, password), bearer tokens, and OpenAI-style keys. It is
// safe for concurrent use; SetSecrets may be called while lines are redacted.
type Redactor struct {
	secrets atomic.Pointer[[][]byte]
}

// Redacted replaces every secret.
const Redacted = "[redacted]"

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

// NewRedactor returns a Redactor that knows secrets (empty and very short values
// are ignored: they would match everywhere).
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.SetSecrets(secrets...)
	return r
}

// SetSecrets replaces the known secret values.
func (r *Redactor) SetSecrets(secrets ...string) {
	var list [][]byte
	for _, s := range secrets {
		if len(s) >= 6 {
			list = append(list, []byte(s))
		}
	}
	// Longest first, so a secret containing another is replaced whole.
	slices.SortFunc(list, func(a, b []byte) int { return len(b) - len(a) })
	r.secrets.Store(&list)
}

// Redact returns line without secrets (line itself when there were none).
func (r *Redactor) Redact(line []byte) []byte {
	if r != nil {
		if list := r.secrets.Load(); list != nil {
			for _, s := range *list {
				if bytes.Contains(line, s) {
					line = bytes.ReplaceAll(line, s, []byte(Redacted))
				}
			}
		}
	}
	if secretField.Match(line) {
		line = secretField.ReplaceAll(line, []byte(`${1}"`+Redacted+`"`))
	}
	if escapedSecretField.Match(line) {
		line = escapedSecretField.ReplaceAll(line, []byte(`${1}\"`+Redacted+`\"`))
	}
	if bearer.Match(line) {
		line = bearer.ReplaceAll(line, []byte("${1} "+Redacted))
	}
	if openAIKey.Match(line) {
		line = openAIKey.ReplaceAll(line, []byte("sk-"+Redacted))
	}
	return line
}
