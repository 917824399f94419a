// Package openaiws is the client side that OpenAI's two voice WebSocket protocols
// share (pkg/realtime and pkg/live, two leaves that may not import each other): the
// handshake with bearer auth and bounded retries after 429/5xx, the failure of a
// handshake with its secrets removed, and the client event ids "ca-N-TYPE".
package openaiws

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/coder/websocket"
)

// DialOptions are what a handshake needs beyond the URL.
type DialOptions struct {
	APIKey     string
	Header     http.Header // extra headers (copied; Authorization is set from APIKey)
	HTTPClient *http.Client
	// Retry says, after the n-th refused handshake (resp), whether to try again,
	// having waited (internal/retry's policy; nil: never).
	Retry func(ctx context.Context, n int, resp *http.Response) bool
}

// Failure is a failed handshake: URL (user info redacted), StatusCode of a refused
// handshake (0 when the server was not reached), the API's error Message and the
// underlying Err, both with the key and anything like an OpenAI key removed. Each
// protocol package turns it into its own DialError.
type Failure struct {
	URL        string
	StatusCode int
	Message    string
	Err        error
}

// Dial opens the WebSocket at u, retrying a refused handshake as opts.Retry says
// (nothing was opened: repeating is safe).
func Dial(ctx context.Context, u string, opts DialOptions) (*websocket.Conn, *Failure) {
	h := http.Header{}
	for k, v := range opts.Header {
		h[k] = append([]string(nil), v...)
	}
	h.Set("Authorization", "Bearer "+opts.APIKey)
	for n := 1; ; n++ {
		ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
			HTTPClient:      opts.HTTPClient,
			HTTPHeader:      h,
			CompressionMode: websocket.CompressionDisabled,
		})
		if err == nil {
			return ws, nil
		}
		f := failure(u, opts.APIKey, resp, err)
		if resp == nil || opts.Retry == nil || !opts.Retry(ctx, n, resp) {
			return nil, f
		}
	}
}

func failure(u, key string, resp *http.Response, err error) *Failure {
	msg := Redact(err.Error(), key)
	if pu, perr := url.Parse(u); perr == nil && pu.User != nil {
		// A base URL with user info (a proxy's): its password stays out of errors.
		msg = strings.ReplaceAll(msg, u, pu.Redacted())
		u = pu.Redacted()
	}
	f := &Failure{URL: u, Err: errors.New(msg)}
	if resp != nil {
		f.StatusCode = resp.StatusCode
		if resp.Body != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			var apiErr struct {
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(body, &apiErr) == nil && apiErr.Error.Message != "" {
				f.Message = Redact(apiErr.Error.Message, key)
			}
		}
	}
	return f
}

// keyPattern matches OpenAI-style secret keys, including the masked forms the API
// puts in its own error messages ("sk-proj-****...abcd").
var keyPattern = regexp.MustCompile(`\bsk-[A-Za-z0-9_*\-]{4,}`)

// Redact removes secret from s, and anything that looks like an OpenAI key.
func Redact(s, secret string) string {
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return keyPattern.ReplaceAllString(s, "sk-[redacted]")
}

// Client event ids are "ca-N-TYPE": unique on the connection, and an error event
// that echoes one says which kind of event failed without a lookup table.
const idPrefix = "ca-"

// IDs numbers a connection's client events. The zero value is ready.
type IDs struct{ n atomic.Uint64 }

// Append appends the next id, for an event of type typ, to dst. It does not
// allocate when dst has room.
func (ids *IDs) Append(dst []byte, typ string) []byte {
	dst = append(dst, idPrefix...)
	dst = strconv.AppendUint(dst, ids.n.Add(1), 10)
	dst = append(dst, '-')
	return append(dst, typ...)
}

// Insert puts the next id into the event encoded at dst[start:] (its "type"
// member first, which it follows). The caller checked the event has none.
func (ids *IDs) Insert(dst []byte, start int, typ string) []byte {
	at := start + len(`{"type":"`) + len(typ) + 1
	id := append(append([]byte(`,"event_id":"`), ids.Append(nil, typ)...), '"')
	return slices.Insert(dst, at, id...)
}

// TypeOf returns the event type an id of IDs names, and whether id is one.
func TypeOf(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, idPrefix)
	if !ok {
		return "", false
	}
	_, typ, ok := strings.Cut(rest, "-")
	return typ, ok && typ != ""
}
