// Package retry is the bounded backoff callagent uses for requests that are safe to
// repeat and failed with HTTP 429 or 5xx: the Realtime handshake and some Twilio
// REST calls. It decides nothing about which requests are safe; its callers do.
package retry

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Policy bounds the tries of one request. The zero value is the default: 3 tries,
// waiting 500 ms then 1 s (or what Retry-After asks, up to 5 s).
type Policy struct {
	// Attempts is the number of tries, the first included (default 3; 1: no retry).
	Attempts int
	// Base is the first wait, doubled at each retry (default 500 ms).
	Base time.Duration
	// Max caps one wait, Retry-After included (default 5 s): a server asking for
	// longer gets the error instead.
	Max time.Duration
	// Sleep waits d, or returns ctx's error first (default: a timer). Tests record
	// the waits instead of taking them.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Status reports whether an answer with this HTTP status may be worth a retry:
// 429 (rate limited) and 5xx.
func Status(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// Wait waits before retry number n (1 for the first retry), hint being the
// server's Retry-After (0 without one). It returns false, without waiting, when
// the tries are used up, the wait would exceed Max, or ctx would end first (its
// deadline is the bound on the total time).
func (p Policy) Wait(ctx context.Context, n int, hint time.Duration) bool {
	attempts, base, limit := p.Attempts, p.Base, p.Max
	if attempts <= 0 {
		attempts = 3
	}
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if limit <= 0 {
		limit = 5 * time.Second
	}
	if n >= attempts {
		return false
	}
	d := base << (n - 1)
	if hint > 0 {
		d = hint
	}
	if d > limit {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	sleep := p.Sleep
	if sleep == nil {
		sleep = timerSleep
	}
	return sleep(ctx, d) == nil
}

func timerSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RetryAfter reads a Retry-After header: seconds, or an HTTP date (relative to
// now). It returns 0 when there is none or it cannot be read.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Handshake says whether a refused WebSocket handshake (the n-th try, answered
// resp) is tried again, having waited: only after 429 or 5xx, as the policy
// allows. It is internal/openaiws's DialOptions.Retry.
func (p Policy) Handshake(ctx context.Context, n int, resp *http.Response) bool {
	return Status(resp.StatusCode) && p.Wait(ctx, n, RetryAfter(resp.Header, time.Now()))
}
