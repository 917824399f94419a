package live

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoAPIKey is returned by Dial without an API key.
var ErrNoAPIKey = errors.New("OPENAI_API_KEY is not set: export it or put it in .env")

var errNoType = errors.New(`no "type" member`)

// DecodeError is a malformed event. It does not end the connection: log it and read on.
type DecodeError struct {
	Type string
	Err  error
}

func (e *DecodeError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("malformed live event %s: %v", e.Type, e.Err)
	}
	return fmt.Sprintf("malformed live event: %v", e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// APIError is an error event the server sent where the client waited for an answer
// (Start: session.start refused).
type APIError struct {
	ErrorInfo
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("live API error")
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Param != "" {
		fmt.Fprintf(&b, " (%s)", e.Param)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// CloseError reports the end of a connection: the close code and reason the server
// sent, or 1006 (abnormal closure) when it dropped without one.
type CloseError struct {
	Code   int
	Reason string
	Err    error
}

func (e *CloseError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("live connection closed: %d %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("live connection closed: %d", e.Code)
}

func (e *CloseError) Unwrap() error { return e.Err }

// Normal reports whether the connection was closed normally (code 1000).
func (e *CloseError) Normal() bool { return e.Code == 1000 }

// DialError is a failed connection attempt. StatusCode is the HTTP status of a
// refused handshake (401 for a bad key), 0 when the server was not reached.
type DialError struct {
	URL        string
	StatusCode int
	Message    string // the API's error message, secrets redacted
	Err        error
}

func (e *DialError) Error() string {
	var b strings.Builder
	b.WriteString("dial live ")
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
