// Package wsconn wraps a github.com/coder/websocket connection for the audio path:
// whole messages read into one reused buffer, writes serialized through one reused
// buffer, and context cancellation without a per-message allocation.
//
// coder/websocket arms a context.AfterFunc for every Read and Write whose context can
// be cancelled; at 50 frames a second each way that is most of a frame's allocations.
// wsconn instead binds each distinct context once: when a bound context is cancelled
// the connection is closed, which is what coder/websocket does too, so callers see the
// same behaviour. Both the Realtime client and the Twilio stream use it.
package wsconn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/coder/websocket"
)

// Conn is a WebSocket connection with one reader and any number of writers.
type Conn struct {
	ws *websocket.Conn

	rbuf   bytes.Buffer // owned by the single reading goroutine
	rsmall int          // messages in a row far smaller than rbuf (see keepCap)

	wmu    sync.Mutex
	wbuf   []byte
	wsmall int

	bmu   sync.Mutex // guards the bindings; held only for a pointer compare per message
	rbind binding
	wbind binding
}

// A message far larger than the usual ones (a session.updated that echoes long
// instructions, the session.update that states them) grows a buffer that every later
// message, 20 ms of audio, would keep for the rest of the call: tens of KiB per call
// for nothing. A buffer larger than keepCap is let go after shrinkAfter messages in a
// row that each used less than a quarter of it; the next message then allocates one
// its own size. A few allocations once per large message, none per frame.
const (
	keepCap     = 16 << 10
	shrinkAfter = 64
)

// oversized counts a message of n bytes against a buffer of capacity c, and reports
// whether the buffer should go.
func oversized(small *int, n, c int) bool {
	if c <= keepCap || n >= c/4 {
		*small = 0
		return false
	}
	*small++
	if *small < shrinkAfter {
		return false
	}
	*small = 0
	return true
}

// binding remembers the context a direction was last bound to.
type binding struct {
	done <-chan struct{}
	stop func() bool
}

// New wraps ws and sets its read limit (bytes per message; <=0 keeps the library's).
func New(ws *websocket.Conn, readLimit int64) *Conn {
	if readLimit > 0 {
		ws.SetReadLimit(readLimit)
	}
	return &Conn{ws: ws}
}

// bind arranges for the connection to close when ctx is cancelled. Contexts are told
// apart by their Done channel, so a call context reused for every frame costs nothing
// after the first frame.
func (c *Conn) bind(b *binding, ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := ctx.Done()
	c.bmu.Lock()
	defer c.bmu.Unlock()
	if done == b.done {
		return nil
	}
	// A new context replaces the old binding, so an expired handshake deadline cannot
	// close a connection that has moved on to a long-lived context.
	if b.stop != nil {
		b.stop()
		b.stop = nil
	}
	b.done = done
	if done != nil {
		b.stop = context.AfterFunc(ctx, func() { _ = c.ws.CloseNow() })
	}
	return nil
}

// Read returns the next data message. The slice is valid until the next Read.
// Only one goroutine may call Read.
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	if err := c.bind(&c.rbind, ctx); err != nil {
		return nil, err
	}
	_, r, err := c.ws.Reader(context.Background())
	if err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	if oversized(&c.rsmall, c.rbuf.Len(), c.rbuf.Cap()) {
		c.rbuf = bytes.Buffer{}
	}
	c.rbuf.Reset()
	if _, err := c.rbuf.ReadFrom(r); err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	return c.rbuf.Bytes(), nil
}

// Write builds a text message with build, which appends to the buffer it is given and
// returns it, and writes it. Writes from several goroutines are serialized; build runs
// under the write lock and must not call back into c.
func (c *Conn) Write(ctx context.Context, build func(dst []byte) []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.bind(&c.wbind, ctx); err != nil {
		return err
	}
	c.wbuf = build(c.wbuf[:0])
	err := c.ws.Write(context.Background(), websocket.MessageText, c.wbuf)
	if oversized(&c.wsmall, len(c.wbuf), cap(c.wbuf)) {
		c.wbuf = nil
	}
	if err != nil {
		return c.ctxErr(ctx, err)
	}
	return nil
}

func (c *Conn) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Close performs the closing handshake with code and reason (bounded by the library
// at five seconds when the peer does not answer). It unblocks Read and Write.
func (c *Conn) Close(code websocket.StatusCode, reason string) error {
	defer c.unbind()
	err := c.ws.Close(code, reason)
	if isClosed(err) {
		return nil
	}
	return err
}

// CloseNow closes the connection without a handshake, for a peer that is gone or stuck.
func (c *Conn) CloseNow() error {
	defer c.unbind()
	err := c.ws.CloseNow()
	if isClosed(err) {
		return nil
	}
	return err
}

// Unbind forgets the contexts bound so far: cancelling them no longer closes the
// connection. Later calls bind their own.
func (c *Conn) Unbind() { c.unbind() }

func (c *Conn) unbind() {
	c.bmu.Lock()
	defer c.bmu.Unlock()
	for _, b := range []*binding{&c.rbind, &c.wbind} {
		if b.stop != nil {
			b.stop()
		}
		*b = binding{}
	}
}

func isClosed(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || websocket.CloseStatus(err) != -1 ||
		errors.Is(err, net.ErrClosed)
}

// Ended describes how a connection ended from the error of a failed read or write:
// the close code and reason the peer sent, or 1006 (abnormal closure) when it went
// away without one. A context error is returned as ctxErr instead: the caller gave up,
// the peer did not end anything.
func Ended(err error) (code int, reason string, ctxErr error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, "", err
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code), ce.Reason, nil
	}
	// EOF, a reset connection, or our own close: no close frame was received.
	return int(websocket.StatusAbnormalClosure), "", nil
}
