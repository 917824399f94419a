package live

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/jsonscan"
	"github.com/callagent/callagent/internal/openaiws"
	"github.com/callagent/callagent/internal/retry"
	"github.com/callagent/callagent/internal/wsconn"
)

// Defaults for Dial.
const (
	DefaultBaseURL = "https://api.openai.com/v1"
	DefaultModel   = "gpt-live-1"
	// DefaultReadLimit bounds one server event (session snapshots carry whole
	// instructions; response.event frames nest the backend's events).
	DefaultReadLimit = 16 << 20
)

// DialOptions configure Dial.
type DialOptions struct {
	// BaseURL is the API base, as in OPENAI_BASE_URL (default DefaultBaseURL). The
	// WebSocket URL is BaseURL + /live/sessions with ws(s), and no query parameters.
	BaseURL string
	APIKey  string
	// HTTPClient makes the handshake request (default http.DefaultClient).
	HTTPClient *http.Client
	// Header holds extra handshake headers.
	Header http.Header
	// ReadLimit is the largest server event accepted, in bytes (default DefaultReadLimit).
	ReadLimit int64
	// Retry bounds the handshakes retried after HTTP 429 or 5xx, following
	// Retry-After, within ctx's deadline.
	Retry retry.Policy
	// AttachSessionID, when set, attaches a sideband to the session of an accepted
	// SIP call instead of opening a new one: BASE/live/sessions/{id}/attach
	// (AttachURL). The session has started: send no session.start, and no audio
	// (the SIP leg carries it).
	AttachSessionID string
}

// URL returns the Live WebSocket URL for an API base URL.
func URL(baseURL string) (string, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
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
	if u.RawQuery != "" {
		return "", fmt.Errorf("OPENAI_BASE_URL %q: the Live endpoint takes no query parameters", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/live/sessions"
	u.RawPath = ""
	return u.String(), nil
}

// Conn is a Live WebSocket connection. After Start, one goroutine reads with
// ReadEvent; any number may send. Close unblocks both.
type Conn struct {
	ws  *wsconn.Conn
	dec Decoder
	ids openaiws.IDs
}

// EventIDType returns the event type an event_id of Conn's names ("ca-N-TYPE":
// unique on the connection, and an error that echoes one says which kind of event
// failed), and whether id is one of Conn's.
func EventIDType(id string) (string, bool) { return openaiws.TypeOf(id) }

// Dial connects to the Live endpoint. The API key never appears in errors. The
// session is not started: call Start.
func Dial(ctx context.Context, opts DialOptions) (*Conn, error) {
	if opts.APIKey == "" {
		return nil, ErrNoAPIKey
	}
	u, err := URL(opts.BaseURL)
	if opts.AttachSessionID != "" {
		u, err = AttachURL(opts.BaseURL, opts.AttachSessionID)
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

// Start sends session.start with cfg and waits for session.started, which it
// returns. An error event in answer is returned as *APIError; info events before it
// are skipped. Call it once, before the goroutine that reads with ReadEvent starts.
func (c *Conn) Start(ctx context.Context, cfg SessionConfig) (*SessionStarted, error) {
	if err := c.Send(ctx, &SessionStart{Session: cfg}); err != nil {
		return nil, err
	}
	for {
		ev, err := c.ReadEvent(ctx)
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", TypeSessionStarted, err)
		}
		switch e := ev.(type) {
		case *SessionStarted:
			return e, nil
		case *ErrorEvent:
			info := e.Error
			if info.ClientEventID == "" {
				info.ClientEventID = e.ClientEventID
			}
			return nil, &APIError{ErrorInfo: info}
		case *SessionClosed:
			return nil, fmt.Errorf("waiting for %s: the session closed (%s)", TypeSessionStarted, e.Reason)
		}
	}
}

// ReadEvent returns the next server event. An audio delta is returned as a reused
// *OutputAudioDelta valid until the next call. A malformed event returns a
// *DecodeError and the connection stays usable; the end of the connection returns a
// *CloseError. Cancelling ctx closes the connection.
func (c *Conn) ReadEvent(ctx context.Context) (ServerEvent, error) {
	data, err := c.ws.Read(ctx)
	if err != nil {
		return nil, closeError(err)
	}
	return c.dec.DecodeServer(data)
}

// Send writes a client event. An event without an event_id is given one (see
// EventIDType). Cancelling ctx closes the connection.
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

// AppendAudio sends session.input_audio.append with audio, base64 text passed
// through as is (the caller guarantees it is valid base64), with an event_id. It
// does not allocate.
func (c *Conn) AppendAudio(ctx context.Context, audio []byte) error {
	err := c.ws.Write(ctx, func(dst []byte) []byte {
		dst = append(dst, `{"type":"`+TypeInputAudioAppend+`","event_id":"`...)
		dst = c.ids.Append(dst, TypeInputAudioAppend)
		dst = append(dst, `","audio":"`...)
		dst = append(dst, audio...)
		return append(dst, `"}`...)
	})
	if err != nil {
		return fmt.Errorf("send %s: %w", TypeInputAudioAppend, closeError(err))
	}
	return nil
}

// Close closes the connection normally (code 1000). To end the session with its
// final usage first, send SessionClose and read until SessionClosed.
func (c *Conn) Close() error {
	return c.ws.Close(websocket.StatusNormalClosure, "call ended")
}

// CloseNow drops the connection without the closing handshake.
func (c *Conn) CloseNow() error {
	return c.ws.CloseNow()
}

func closeError(err error) error {
	code, reason, ctxErr := wsconn.Ended(err)
	if ctxErr != nil {
		return ctxErr
	}
	return &CloseError{Code: code, Reason: reason, Err: err}
}
