// Package sipcall is OpenAI's SIP call control: Standard Webhooks signatures, the
// incoming-call events of both engines and the call-control REST API.
//
// THIS FILE IS A STAND-IN written by the control plane's branch (i19-server) from
// the contract in sip-contract.md, so that pkg/server could be built and tested
// before the protocol branch (i19-proto) landed. It is deleted when i19-proto is
// merged: the real package replaces it whole.
package sipcall

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Engine is the OpenAI engine a call runs on.
type Engine string

// Engines.
const (
	EngineRealtime Engine = "realtime"
	EngineLive     Engine = "live"
)

// Tolerance is how far a webhook's timestamp may be from now.
const Tolerance = 5 * time.Minute

// Verification failures.
var (
	ErrUnsigned     = errors.New("sipcall: the webhook is not signed")
	ErrBadSignature = errors.New("sipcall: the webhook's signature does not match")
	ErrStale        = errors.New("sipcall: the webhook's timestamp is too far from now")
	ErrBadSecret    = errors.New("sipcall: the webhook secret is not usable")
	ErrNotIncoming  = errors.New("sipcall: not an incoming-call event")
)

func key(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(k) == 0 {
		return nil, ErrBadSecret
	}
	return k, nil
}

func mac(k []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks a Standard Webhooks signature.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	k, err := key(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrUnsigned
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return ErrStale
	}
	want := mac(k, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if ok && v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// Sign returns the headers of a webhook signed with secret.
func Sign(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	k, err := key(secret)
	if err != nil {
		return nil, err
	}
	t := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", t)
	h.Set("webhook-signature", "v1,"+mac(k, id, t, body))
	return h, nil
}

// Header is a SIP header of an incoming call.
type Header struct{ Name, Value string }

// Incoming is an incoming call.
type Incoming struct {
	Engine    Engine
	ID        string
	EventID   string
	WebhookID string
	CreatedAt time.Time
	From, To  string
	Headers   []Header
}

// ParseIncoming decodes realtime.call.incoming and live.transport.incoming.
func ParseIncoming(body []byte) (Incoming, error) {
	var ev struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		CreatedAt int64  `json:"created_at"`
		Data      struct {
			CallID     string   `json:"call_id"`
			SessionID  string   `json:"session_id"`
			SIPHeaders []Header `json:"sip_headers"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return Incoming{}, err
	}
	in := Incoming{EventID: ev.ID, CreatedAt: time.Unix(ev.CreatedAt, 0), Headers: ev.Data.SIPHeaders}
	switch ev.Type {
	case "realtime.call.incoming":
		in.Engine, in.ID = EngineRealtime, ev.Data.CallID
	case "live.transport.incoming", "live.call.incoming":
		in.Engine, in.ID = EngineLive, ev.Data.SessionID
	default:
		return Incoming{}, ErrNotIncoming
	}
	if in.ID == "" {
		return Incoming{}, errors.New("sipcall: the incoming call has no id")
	}
	for _, h := range in.Headers {
		switch strings.ToLower(h.Name) {
		case "from":
			in.From = h.Value
		case "to":
			in.To = h.Value
		}
	}
	return in, nil
}

// Client is OpenAI's call-control REST API (stand-in: see the file's comment).
type Client struct {
	base, key string
	hc        *http.Client
}

// NewClient returns a Client of the API at baseURL.
func NewClient(baseURL, apiKey string, hc *http.Client) *Client {
	if baseURL == "" {
		baseURL = "https://api.openai.com/v1"
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), key: apiKey, hc: hc}
}

func (c *Client) post(ctx context.Context, e Engine, id, op string, body any) error {
	path := "/realtime/calls/" + url.PathEscape(id) + "/" + op
	if e == EngineLive {
		path = "/live/sessions/" + url.PathEscape(id) + "/" + op
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sipcall: %s: HTTP %d", op, resp.StatusCode)
	}
	return nil
}

// Accept accepts a call with its session.
func (c *Client) Accept(ctx context.Context, e Engine, id string, session any) error {
	if e == EngineLive {
		return c.post(ctx, e, id, "accept", map[string]any{"session": session})
	}
	return c.post(ctx, e, id, "accept", session)
}

// Reject rejects a call with a SIP status.
func (c *Client) Reject(ctx context.Context, e Engine, id string, sipStatus int) error {
	return c.post(ctx, e, id, "reject", map[string]int{"status_code": sipStatus})
}

// Refer transfers a call.
func (c *Client) Refer(ctx context.Context, e Engine, id, targetURI string) error {
	return c.post(ctx, e, id, "refer", map[string]string{"target_uri": targetURI})
}

// Hangup ends a call.
func (c *Client) Hangup(ctx context.Context, e Engine, id string) error {
	return c.post(ctx, e, id, "hangup", struct{}{})
}
