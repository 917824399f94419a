package sipcall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callagent/callagent/internal/retry"
)

// DefaultBaseURL is the API base the call-control routes are under.
const DefaultBaseURL = "https://api.openai.com/v1"

// DeclineStatus is the SIP status Reject sends when none is given: 603 Decline,
// Realtime's default when status_code is omitted (resources/realtime/calls.d.ts).
const DeclineStatus = 603

// maxErrorBody bounds the error body read from the API.
const maxErrorBody = 64 << 10

// Client makes the call-control requests of a SIP call. It is safe for concurrent
// use.
type Client struct {
	base   string
	apiKey string
	hc     *http.Client
	// Retry bounds the retries of a request OpenAI refused before doing it (429),
	// and of the ending requests (reject, hangup) after a 5xx or a lost answer,
	// which are safe to repeat. Accept and refer are never repeated after a 5xx or
	// a lost answer: the first may have been done (a second accept is refused, a
	// second refer would transfer twice).
	Retry retry.Policy
}

// NewClient returns a Client for the API at baseURL (DefaultBaseURL when empty, as
// OPENAI_BASE_URL) with the bearer apiKey; hc nil is http.DefaultClient.
func NewClient(baseURL, apiKey string, hc *http.Client) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), apiKey: apiKey, hc: hc}
}

func route(e Engine, id, op string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	switch e {
	case EngineRealtime:
		return "/realtime/calls/" + url.PathEscape(id) + "/" + op, nil
	case EngineLive:
		return "/live/sessions/" + url.PathEscape(id) + "/" + op, nil
	}
	return "", fmt.Errorf("sipcall: unknown engine %q", e)
}

// Accept answers the call with a session. Realtime: POST /realtime/calls/{id}/accept
// whose body is the session object itself (type "realtime", model, instructions,
// audio, tools, ...: CallAcceptParams). Live: POST /live/sessions/{id}/accept with
// {"session": {...}} (type "live", model, ...; SIP negotiates the media format, so
// no audio.format: SessionAcceptParams). The API answers 200 with an empty body.
func (c *Client) Accept(ctx context.Context, e Engine, id string, session any) error {
	var body any = session
	if e == EngineLive {
		body = map[string]any{"session": session}
	}
	return c.do(ctx, e, id, "accept", body, false)
}

// Reject declines a ringing call with a SIP status (300–699; 0 is DeclineStatus).
// Body {"status_code": N}: optional for Realtime, required for Live.
func (c *Client) Reject(ctx context.Context, e Engine, id string, sipStatus int) error {
	if sipStatus == 0 {
		sipStatus = DeclineStatus
	}
	if sipStatus < 300 || sipStatus > 699 {
		return fmt.Errorf("reject call: SIP status %d is not a rejection (300–699)", sipStatus)
	}
	return c.do(ctx, e, id, "reject", map[string]int{"status_code": sipStatus}, true)
}

// Refer transfers an accepted call with a SIP REFER to targetURI (tel:+1… or
// sip:…@…), body {"target_uri": …}. The API answers 200 once the REFER is relayed to
// the trunk; the call then leaves OpenAI.
func (c *Client) Refer(ctx context.Context, e Engine, id, targetURI string) error {
	if !IsReferTarget(targetURI) {
		return fmt.Errorf("refer call: target %q is not a tel: or sip: URI", printable(targetURI))
	}
	return c.do(ctx, e, id, "refer", map[string]string{"target_uri": targetURI}, false)
}

// Hangup ends the call, no body.
func (c *Client) Hangup(ctx context.Context, e Engine, id string) error {
	return c.do(ctx, e, id, "hangup", nil, true)
}

// do posts one call-control request. ending marks reject and hangup: repeated after
// a 5xx or a lost answer, and a retry finding the call gone has done its work.
func (c *Client) do(ctx context.Context, e Engine, id, op string, body any, ending bool) error {
	path, err := route(e, id, op)
	if err != nil {
		return fmt.Errorf("%s call: %w", op, err)
	}
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("%s call: encode the body: %w", op, err)
		}
	}
	for try := 1; ; try++ {
		status, hint, err := c.post(ctx, op, path, payload)
		if err == nil {
			return nil
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) && try > 1 && ending && apiErr.CallGone() {
			return nil // an earlier try ended it; its answer was lost
		}
		again := status == http.StatusTooManyRequests || ending && (status == 0 || status >= 500)
		if ctx.Err() != nil || !again || !c.Retry.Wait(ctx, try, hint) {
			return err
		}
	}
}

// post makes one request; status is 0 when no answer came.
func (c *Client) post(ctx context.Context, op, path string, payload []byte) (int, time.Duration, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, rd)
	if err != nil {
		return 0, 0, fmt.Errorf("%s call: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "*/*") // as the SDKs ask: the answer has no body
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error names the URL, never the Authorization header.
		return 0, 0, fmt.Errorf("%s call: %w", op, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, 0, nil
	}
	apiErr := &APIError{Op: op, Status: resp.StatusCode}
	var shape struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
			Param   any    `json:"param"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &shape) == nil {
		apiErr.Type, apiErr.Message = shape.Error.Type, shape.Error.Message
		apiErr.Code, apiErr.Param = scalar(shape.Error.Code), scalar(shape.Error.Param)
	} else {
		apiErr.Message = strings.TrimSpace(printable(string(data)))
	}
	return resp.StatusCode, retry.RetryAfter(resp.Header, time.Now()), apiErr
}

// scalar renders a code or param member, which the API sends as a string, a number
// or null.
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// IsReferTarget reports whether uri is what a REFER may name: a tel: or sip:
// (sips:) URI ("Supports values like tel:+14155550123 or sip:agent@example.com",
// the openai package's calls.d.ts). The client and both twins check with it.
func IsReferTarget(uri string) bool {
	return strings.HasPrefix(uri, "tel:") || strings.HasPrefix(uri, "sip:") || strings.HasPrefix(uri, "sips:")
}
