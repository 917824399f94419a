package sipcall

import (
	"errors"
	"fmt"
)

// Webhook verification failures. Verify wraps them with detail; errors.Is reaches
// them. None of them carries the secret or a signature.
var (
	// ErrUnsigned: a Standard Webhooks header (webhook-id, webhook-timestamp,
	// webhook-signature) is missing or empty.
	ErrUnsigned = errors.New("webhook is not signed")
	// ErrBadSignature: no v1 signature matches, or the timestamp is not a number.
	ErrBadSignature = errors.New("webhook signature does not match")
	// ErrStale: the timestamp is more than Tolerance away from now (a replay, or a
	// clock that is off).
	ErrStale = errors.New("webhook timestamp outside the tolerance")
	// ErrBadSecret: the configured secret is empty or its whsec_ part is not base64.
	ErrBadSecret = errors.New("webhook secret is unusable")
)

// ErrNotIncoming is returned by ParseIncoming for a well-formed event of another
// type (batch.completed, live.transport.connected, ...): answer it 2xx and ignore it,
// or OpenAI retries it.
var ErrNotIncoming = errors.New("not an incoming-call event")

// ErrMalformed is returned by ParseIncoming for a body that is not a valid
// incoming-call event.
var ErrMalformed = errors.New("malformed incoming-call event")

// CodeCallNotFound is the error code of a call the API does not know (any more): a
// wrong id, a call that rang out, ended, or was taken by the other engine.
const CodeCallNotFound = "call_id_not_found"

// APIError is a refused call-control request, with OpenAI's error shape
// ({"error": {"message", "type", "code", "param"}}).
type APIError struct {
	Op      string // accept, reject, refer, hangup
	Status  int    // HTTP status
	Type    string // invalid_request_error, ...
	Code    string // call_id_not_found, unknown_parameter, ...
	Param   string
	Message string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s call: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Param != "" {
		s += " (" + e.Param + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// CallGone reports whether the API no longer knows the call (404, or the
// call_id_not_found code): there is nothing left to accept, refer or hang up.
func (e *APIError) CallGone() bool { return e.Status == 404 || e.Code == CodeCallNotFound }
