package twiliorest

import (
	"context"
	"net/http"

	"github.com/callagent/callagent/internal/retry"
)

// safety says when a request that failed may be sent again.
type safety int

const (
	// never: CreateCall. A 5xx may come after Twilio placed the call, and a
	// second try rings the person twice; even after a 429 a command places at
	// most one call, and the user decides to try again.
	never safety = iota
	// rateLimited: only after a 429, which Twilio answers before doing anything.
	// Redirect: if a 5xx hid a redirect that was made, a second one would restart
	// the new TwiML (ring the transfer target again).
	rateLimited
	// idempotent: after a 429 or a 5xx, for reads and for updates that set a
	// value (a number's voice URL, a call's status): done twice is done once.
	idempotent
)

// do runs one request of op, trying it again after HTTP 429 or 5xx when s allows,
// within c.retry's bounds and ctx. twilio-go does not show the answer's headers,
// so Retry-After cannot be followed: the backoff alone spaces the tries.
func (c *Client) do(ctx context.Context, op string, s safety, req func() error) *Error {
	for n := 1; ; n++ {
		err := req()
		if err == nil {
			return nil
		}
		e := fail(op, err)
		if !retryable(s, e.Status) || !c.retry.Wait(ctx, n, 0) {
			return e
		}
	}
}

func retryable(s safety, status int) bool {
	switch s {
	case idempotent:
		return retry.Status(status)
	case rateLimited:
		return status == http.StatusTooManyRequests
	}
	return false
}
