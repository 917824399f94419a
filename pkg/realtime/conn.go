package realtime

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/jsonscan"
	"github.com/callagent/callagent/internal/openaiws"
	"github.com/callagent/callagent/internal/retry"
	"github.com/callagent/callagent/internal/wsconn"
)

// Defaults for Dial.
const (
	DefaultBaseURL = "https://api.openai.com/v1"
	DefaultModel   = "gpt-realtime"
	// DefaultReadLimit bounds one server event. Session and response events carry whole
	// transcripts and can be far larger than the WebSocket library's 32 KiB default.
	DefaultReadLimit = 16 << 20
)

// DialOptions configure Dial.
type DialOptions struct {
	// BaseURL is the API base, as in OPENAI_BASE_URL (default DefaultBaseURL). The
	// WebSocket URL is derived from it: scheme http→ws, https→wss, plus
	// /realtime?model=MODEL. Tests and the simulator point it at a local server.
	BaseURL string
	APIKey  string
	Model   string // default DefaultModel
	// HTTPClient makes the handshake request (default http.DefaultClient).
	HTTPClient *http.Client
	// Header holds extra handshake headers.
	Header http.Header
	// ReadLimit is the largest server event accepted, in bytes (default DefaultReadLimit).
	ReadLimit int64
	// Retry bounds the handshakes retried after HTTP 429 or 5xx (nothing was opened,
	// so a retry is safe), following Retry-After, within ctx's deadline.
	Retry retry.Policy
	// CallID, when set, dials the sideband of an accepted SIP call instead of a new
	// session: BASE/realtime?call_id=ID, no model (SidebandURL). Model is ignored.
	CallID string
}

// URL returns the Realtime WebSocket URL for an API base URL and a model.
func URL(baseURL, model string) (string, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if model == "" {
		model = DefaultModel
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", fmt.Errorf("OPENAI_BASE_URL %q is not a URL: %w", baseURL, err)
	}
	switch u.Scheme {
	case "https", "wss":
		u.Scheme = "wss"
	case "http", "ws":
		u.Scheme = "ws"
	default:
		return "", fmt.Errorf("OPENAI_BASE_URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return "", fmt.Errorf("OPENAI_BASE_URL %q has no host", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/realtime"
	u.RawPath = ""
	q := u.Query()
	q.Set("model", model)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// TraceFunc observes frames for debugging: sent is true for frames the client sends.
// It is called synchronously with raw valid only during the call, and never for audio
// frames (input_audio_buffer.append, response.output_audio.delta), which are counted
// instead of traced.
type TraceFunc func(sent bool, eventType string, raw []byte)

// Conn is a Realtime WebSocket connection. One goroutine reads with ReadEvent; any
// number may send. Close unblocks both.
type Conn struct {
	ws    *wsconn.Conn
	dec   decoder
	trace atomic.Pointer[TraceFunc]
	ids   openaiws.IDs // client event ids
}

// EventIDType returns the event type an event_id of Conn's names ("ca-N-TYPE":
// unique on the connection, and an error that echoes one says which kind of event
// failed), and whether id is one of Conn's.
func EventIDType(id string) (string, bool) { return openaiws.TypeOf(id) }

// Dial connects to the Realtime API. The API key never appears in errors.
func Dial(ctx context.Context, opts DialOptions) (*Conn, error) {
	if opts.APIKey == "" {
		return nil, ErrNoAPIKey
	}
	u, err := URL(opts.BaseURL, opts.Model)
	if opts.CallID != "" {
		u, err = SidebandURL(opts.BaseURL, opts.CallID)
	}
	if err != nil {
		return nil, err
	}
	ws, f := openaiws.Dial(ctx, u, openaiws.DialOptions{APIKey: opts.APIKey, Header: opts.Header,
		HTTPClient: opts.HTTPClient, Retry: opts.Retry.Handshake})
	if f != nil {
		return nil, &DialError{URL: f.URL, StatusCode: f.StatusCode, Message: f.Message, Err: f.Err}
	}
	return NewConn(ws, opts.ReadLimit), nil
}

// NewConn wraps an accepted or dialed WebSocket (for servers and tests).
func NewConn(ws *websocket.Conn, readLimit int64) *Conn {
	if readLimit <= 0 {
		readLimit = DefaultReadLimit
	}
	return &Conn{ws: wsconn.New(ws, readLimit)}
}

// SetTrace installs (or, with nil, removes) a frame observer.
func (c *Conn) SetTrace(fn TraceFunc) {
	if fn == nil {
		c.trace.Store(nil)
		return
	}
	c.trace.Store(&fn)
}

// ReadEvent returns the next server event. An audio delta is returned as a reused
// *ResponseOutputAudioDelta valid until the next call. A malformed event returns a
// *DecodeError and the connection stays usable; the end of the connection returns an
// error wrapping *CloseError. Cancelling ctx closes the connection.
func (c *Conn) ReadEvent(ctx context.Context) (ServerEvent, error) {
	data, err := c.ws.Read(ctx)
	if err != nil {
		return nil, closeError(err)
	}
	ev, err := c.dec.decode(data)
	if t := c.trace.Load(); t != nil {
		typ := TypeResponseOutputAudioDelta
		if ev != nil {
			typ = ev.EventType()
		} else if err != nil {
			typ = ""
		}
		if typ != TypeResponseOutputAudioDelta {
			(*t)(false, typ, data)
		}
	}
	return ev, err
}

// Send writes a client event. An event without an event_id is given one (see
// EventIDType), so an error the server sends about it can be tied to it. Cancelling
// ctx closes the connection.
func (c *Conn) Send(ctx context.Context, ev ClientEvent) error {
	var encErr error
	err := c.ws.Write(ctx, func(dst []byte) []byte {
		start := len(dst)
		dst, encErr = AppendEvent(dst, ev)
		if encErr == nil {
			// The events' own event_id members are omitted when empty, never null.
			if v, err := jsonscan.Lookup(dst[start:], "event_id"); err != nil || v == nil {
				dst = c.ids.Insert(dst, start, ev.EventType())
			}
		}
		if t := c.trace.Load(); t != nil && encErr == nil && ev.EventType() != TypeInputAudioBufferAppend {
			(*t)(true, ev.EventType(), dst)
		}
		return dst
	})
	if encErr != nil {
		return encErr
	}
	if err != nil {
		return fmt.Errorf("send %s: %w", ev.EventType(), closeError(err))
	}
	return nil
}

// AppendAudio sends input_audio_buffer.append with audio, base64 text passed through
// as is, and an event_id like every client event. The caller guarantees it is valid
// base64 (see twiliotransport).
func (c *Conn) AppendAudio(ctx context.Context, audio []byte) error {
	err := c.ws.Write(ctx, func(dst []byte) []byte {
		dst = append(dst, `{"type":"input_audio_buffer.append","event_id":"`...)
		dst = c.ids.Append(dst, TypeInputAudioBufferAppend)
		dst = append(dst, `","audio":"`...)
		dst = append(dst, audio...)
		return append(dst, `"}`...)
	})
	if err != nil {
		return fmt.Errorf("send %s: %w", TypeInputAudioBufferAppend, closeError(err))
	}
	return nil
}

// Close closes the connection normally (code 1000).
func (c *Conn) Close() error {
	return c.ws.Close(websocket.StatusNormalClosure, "call ended")
}

// CloseNow drops the connection without the closing handshake.
func (c *Conn) CloseNow() error {
	return c.ws.CloseNow()
}

// closeError turns the end of the connection into a *CloseError.
func closeError(err error) error {
	code, reason, ctxErr := wsconn.Ended(err)
	if ctxErr != nil {
		return ctxErr
	}
	return &CloseError{Code: code, Reason: reason, Err: err}
}
