package realtime

import (
	"errors"
	"fmt"
	"strings"

	"github.com/callagent/callagent/internal/openaiws"
)

// ErrNoAPIKey is returned by Dial without an API key.
var ErrNoAPIKey = errors.New("OPENAI_API_KEY is not set: export it or put it in .env")

var errNoType = errors.New(`no "type" member`)

// DecodeError is a malformed event. It does not end the connection: log it and read on.
type DecodeError struct {
	Type string // the event type, when it could be read
	Err  error
}

func (e *DecodeError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("malformed realtime event %s: %v", e.Type, e.Err)
	}
	return fmt.Sprintf("malformed realtime event: %v", e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// CloseError reports the end of a connection: the close code and reason the server
// sent, or code 1006 (abnormal closure) when the connection dropped without one.
type CloseError struct {
	Code   int
	Reason string
	Err    error // the underlying error, if any
}

func (e *CloseError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("realtime connection closed: %d %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("realtime connection closed: %d", e.Code)
}

func (e *CloseError) Unwrap() error { return e.Err }

// Normal reports whether the connection was closed normally (code 1000).
func (e *CloseError) Normal() bool { return e.Code == 1000 }

// DialError is a failed connection attempt. StatusCode is the HTTP status of a
// rejected handshake (401 for a bad key), or 0 when the server was not reached.
type DialError struct {
	URL        string
	StatusCode int
	Message    string // the API's error message, secrets redacted
	Err        error
}

func (e *DialError) Error() string {
	var b strings.Builder
	b.WriteString("dial realtime ")
	b.WriteString(e.URL)
	switch {
	case e.StatusCode == 401:
		b.WriteString(": the API key was rejected (HTTP 401): check OPENAI_API_KEY")
	case e.StatusCode != 0:
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.StatusCode == 0 && e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *DialError) Unwrap() error { return e.Err }

// Redact removes secret from s, and anything that looks like an OpenAI key.
func Redact(s, secret string) string { return openaiws.Redact(s, secret) }
