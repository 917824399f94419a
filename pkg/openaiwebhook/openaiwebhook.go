// Package openaiwebhook manages an OpenAI project's webhook endpoints
// (/v1/webhook_endpoints: list, create, delete), which callagent dev --sip uses to
// have OpenAI's incoming-call webhooks (realtime.call.incoming,
// live.transport.incoming) sent to its tunnel while it runs. The API acts on the
// project of the key (a project API key, OPENAI_API_KEY). An endpoint's signing
// secret is returned once, at creation: it is kept in memory as a Secret, whose
// printed forms hide it; it is never in an error.
//
// It does not verify webhooks (pkg/sipcall) and keeps no state. The fake API for
// tests is in openaiwebhooktest.
package openaiwebhook

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

// The incoming-call events of the two engines.
const (
	EventRealtimeCallIncoming  = "realtime.call.incoming"
	EventLiveTransportIncoming = "live.transport.incoming"
)

// Endpoint is a webhook endpoint of the project.
type Endpoint struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	// SecretHint is the API's masked form of the signing secret (null for
	// some endpoints): enough to tell a secret that is not this endpoint's,
	// never the secret.
	SecretHint string `json:"signing_secret_hint"`
}

// Secret is an endpoint's signing secret (whsec_…). Its String and GoString hide
// it, so a Secret printed by mistake shows nothing; Reveal gives it to the
// webhook verifier.
type Secret struct{ s string }

// Reveal returns the secret.
func (s Secret) Reveal() string { return s.s }

func (s Secret) String() string   { return "whsec_[hidden]" }
func (s Secret) GoString() string { return "openaiwebhook.Secret{[hidden]}" }

// Error is an error answer of the API: its HTTP status and OpenAI's error object,
// or, with Status 0, a request that got no answer.
type Error struct {
	Op      string
	Status  int
	Type    string
	Code    string
	Param   string
	Message string
	Err     error // without an answer
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s: %v", e.Op, e.Err)
	}
	if e.Status == http.StatusUnauthorized {
		// OpenAI's message quotes part of the key: it is not repeated.
		return fmt.Sprintf("%s: OpenAI rejected the API key (HTTP 401): check OPENAI_API_KEY", e.Op)
	}
	msg := fmt.Sprintf("%s: OpenAI answered HTTP %d", e.Op, e.Status)
	if e.Type != "" || e.Code != "" {
		msg += " (" + strings.Trim(e.Type+" "+e.Code, " ") + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Denied reports whether the key may not manage the project's webhook endpoints
// (401, 403), or the API refused what was asked (400, 404 of the collection):
// the user then sets the endpoint up by hand.
func (e *Error) Denied() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Status == http.StatusBadRequest
}

// Options configure New.
type Options struct {
	// BaseURL is the API's, with /v1 (default https://api.openai.com/v1; OPENAI_BASE_URL).
	BaseURL string
	APIKey  string
	// HTTPClient sends the requests (default: 15 s timeout).
	HTTPClient *http.Client
	// Retry bounds the retries after 429 or 5xx of List and Delete (never Create:
	// a 5xx may hide an endpoint that was made).
	Retry retry.Policy
}

// Client manages the webhook endpoints of the key's project.
type Client struct {
	base  string
	key   string
	hc    *http.Client
	retry retry.Policy
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	base := strings.TrimSuffix(opts.BaseURL, "/")
	if base == "" {
		base = "https://api.openai.com/v1"
	}
	if u, err := url.Parse(base); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("the OpenAI API URL %q: want http(s)://host/v1", opts.BaseURL)
	}
	if opts.APIKey == "" {
		return nil, errors.New("OPENAI_API_KEY is not set: export it or put it in .env")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{base: base, key: opts.APIKey, hc: hc, retry: opts.Retry}, nil
}

// List returns the project's webhook endpoints (the first 100).
func (c *Client) List(ctx context.Context) ([]Endpoint, error) {
	var page struct {
		Data []Endpoint `json:"data"`
	}
	if err := c.do(ctx, "list webhook endpoints", http.MethodGet, "/webhook_endpoints?limit=100", nil, true, &page); err != nil {
		return nil, err
	}
	return page.Data, nil
}

// Create makes an endpoint that receives events at endpointURL (https) and
// returns it with its signing secret.
func (c *Client) Create(ctx context.Context, name, endpointURL string, events []string) (Endpoint, Secret, error) {
	var out struct {
		Endpoint
		SigningSecret string `json:"signing_secret"`
	}
	body := map[string]any{"name": name, "url": endpointURL, "event_types": events}
	if err := c.do(ctx, "create a webhook endpoint", http.MethodPost, "/webhook_endpoints", body, false, &out); err != nil {
		return Endpoint{}, Secret{}, err
	}
	if out.SigningSecret == "" {
		return out.Endpoint, Secret{}, &Error{Op: "create a webhook endpoint", Status: http.StatusOK, Message: "the answer has no signing_secret"}
	}
	return out.Endpoint, Secret{out.SigningSecret}, nil
}

// Delete removes the endpoint id; one already gone is not an error.
func (c *Client) Delete(ctx context.Context, id string) error {
	err := c.do(ctx, "delete webhook endpoint "+id, http.MethodDelete, "/webhook_endpoints/"+url.PathEscape(id), nil, true, nil)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		return nil
	}
	return err
}

func (c *Client) do(ctx context.Context, op, method, path string, body any, again bool, out any) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	for try := 1; ; try++ {
		err := c.once(ctx, op, method, path, data, out)
		var e *Error
		if err == nil || !again || !errors.As(err, &e) || !retry.Status(e.Status) || !c.retry.Wait(ctx, try, 0) {
			return err
		}
	}
}

func (c *Client) once(ctx context.Context, op, method, path string, data []byte, out any) error {
	var rd io.Reader
	if data != nil {
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// url.Error holds the URL, never the key (a header).
		return &Error{Op: op, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		var apiErr struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
				Param   string `json:"param"`
				Code    any    `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &apiErr)
		e := &Error{Op: op, Status: resp.StatusCode, Type: apiErr.Error.Type, Param: apiErr.Error.Param, Message: apiErr.Error.Message}
		if s, ok := apiErr.Error.Code.(string); ok {
			e.Code = s
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Message: "the answer is not the JSON expected"}
	}
	return nil
}
