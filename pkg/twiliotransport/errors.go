package twiliotransport

import (
	"errors"
	"fmt"

	"github.com/callagent/callagent/internal/wsconn"
)

var (
	errNoEvent = errors.New(`no "event" member`)
	// ErrBadPayload is a media payload that is not padded base64; the frame is skipped.
	ErrBadPayload = errors.New("media payload is not base64")
	// ErrNoStart is returned by Accept when the stream sent no start message in time.
	ErrNoStart = errors.New("twilio stream sent no start message")
)

// DecodeError is a malformed message. It does not end the stream: log it and read on.
type DecodeError struct {
	Event string // the event name, when it could be read
	Err   error
}

func (e *DecodeError) Error() string {
	if e.Event != "" {
		return fmt.Sprintf("malformed twilio %s message: %v", e.Event, e.Err)
	}
	return fmt.Sprintf("malformed twilio message: %v", e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// CloseError reports the end of the stream's WebSocket: the close code and reason
// Twilio sent, or 1006 (abnormal closure) when it dropped without one.
type CloseError struct {
	Code   int
	Reason string
	Err    error
}

func (e *CloseError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("twilio stream closed: %d %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("twilio stream closed: %d", e.Code)
}

func (e *CloseError) Unwrap() error { return e.Err }

func closeError(err error) error {
	code, reason, ctxErr := wsconn.Ended(err)
	if ctxErr != nil {
		return ctxErr
	}
	return &CloseError{Code: code, Reason: reason, Err: err}
}
