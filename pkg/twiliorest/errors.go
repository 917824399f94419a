package twiliorest

import (
	"errors"
	"fmt"
	"net/http"

	twclient "github.com/twilio/twilio-go/client"
)

// ErrCallOver is returned by Redirect when the call has already ended.
var ErrCallOver = errors.New("the call is already over")

// Error is a failed request to Twilio's REST API: Twilio's answer (HTTP status,
// Twilio error code and message), or, with Status 0, a request that got no answer
// (a timeout, a refused connection). Every operation of this package fails with
// one, so errors.As reaches it through any wrapping.
//
// Its Error is a short sentence for users that holds no credential (twilio-go never
// puts them in errors; this keeps it that way). Callers wrap it with what they were
// doing.
type Error struct {
	// Op is the operation that failed: the method's name (UpdateNumber, Hangup, ...).
	Op string
	// Status is the HTTP status Twilio answered with, or 0 without an answer.
	Status int
	// Code is Twilio's error code (https://www.twilio.com/docs/errors/CODE), or 0.
	Code int
	// Message is Twilio's message.
	Message string
	// Err is what the twilio-go client returned.
	Err error
}

func (e *Error) Error() string {
	var re *twclient.TwilioRestError
	if !errors.As(e.Err, &re) {
		return e.Err.Error()
	}
	switch e.Status {
	case http.StatusUnauthorized:
		return "Twilio rejected the credentials (HTTP 401): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
	case http.StatusNotFound:
		return fmt.Sprintf("not found on Twilio (HTTP 404): %s", e.Message)
	}
	return fmt.Sprintf("Twilio API error %d (HTTP %d): %s", e.Code, e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// fail returns err, which twilio-go returned for op (never nil), as an *Error.
func fail(op string, err error) *Error {
	e := &Error{Op: op, Err: err}
	var re *twclient.TwilioRestError
	if errors.As(err, &re) {
		e.Status, e.Code, e.Message = re.Status, re.Code, re.Message
	}
	return e
}

// errCodeNotInProgress is Twilio's "Call is not in-progress" (the caller hung up).
const errCodeNotInProgress = 21220

// callOver reports whether the error says the call has ended.
func (e *Error) callOver() bool {
	return e.Status == http.StatusNotFound || e.Code == errCodeNotInProgress
}
