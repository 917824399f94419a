package realtimetest

import (
	"context"
	"fmt"

	"github.com/callagent/callagent/pkg/realtime"
)

func (c *ModelConn) notify() { c.changes.Notify() }

// WaitFor waits until cond, evaluated after every change of the connection's state,
// holds. what names the condition in the error.
func (c *ModelConn) WaitFor(ctx context.Context, what string, cond func() bool) error {
	return c.changes.Wait(ctx, "model", what, cond)
}

// WaitAudio waits until the model received at least n bytes of caller audio.
func (c *ModelConn) WaitAudio(ctx context.Context, n int) error {
	return c.WaitFor(ctx, fmt.Sprintf("%d bytes of caller audio", n), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.audioBytes >= n
	})
}

// WaitEvent waits for the n-th (1-based) client event of type typ and returns it.
func (c *ModelConn) WaitEvent(ctx context.Context, typ string, n int) (realtime.ClientEvent, error) {
	var ev realtime.ClientEvent
	err := c.WaitFor(ctx, fmt.Sprintf("client event %s #%d", typ, n), func() bool {
		got := c.Received(typ)
		if len(got) >= n {
			ev = got[n-1]
			return true
		}
		return false
	})
	return ev, err
}

// WaitClosed waits until the client closed the connection.
func (c *ModelConn) WaitClosed(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("model: waiting for the client to close: %w", ctx.Err())
	}
}

// Closed reports whether the connection has ended.
func (c *ModelConn) Closed() bool { return c.isClosed() }

func (c *ModelConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Done is closed when the connection has ended.
func (c *ModelConn) Done() <-chan struct{} { return c.done }

// CloseErr is the read error that ended the connection (a close frame's status, or
// the failure).
func (c *ModelConn) CloseErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// AudioIn returns a copy of the caller audio received (μ-law bytes); nothing
// with Model.DiscardAudio.
func (c *ModelConn) AudioIn() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.audio...)
}

// Received returns the client events of type typ received so far (all when typ is
// empty), audio appends excepted.
func (c *ModelConn) Received(typ string) []realtime.ClientEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []realtime.ClientEvent
	for _, ev := range c.received {
		if typ == "" || ev.EventType() == typ {
			out = append(out, ev)
		}
	}
	return out
}

// SessionUpdates returns every session.update's session, in order.
func (c *ModelConn) SessionUpdates() []realtime.SessionConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]realtime.SessionConfig(nil), c.updates...)
}

// Truncations returns every conversation.item.truncate received.
func (c *ModelConn) Truncations() []realtime.ConversationItemTruncate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]realtime.ConversationItemTruncate(nil), c.truncates...)
}

// CreatedItems returns the items the client created (function outputs, messages,
// MCP approval responses).
func (c *ModelConn) CreatedItems() []realtime.Item {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]realtime.Item(nil), c.outputs...)
}

// ErrorsSent returns the error events this fake sent: a correct client causes none
// but those a test provoked.
func (c *ModelConn) ErrorsSent() []realtime.ErrorInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]realtime.ErrorInfo(nil), c.errorsSent...)
}

// Active reports whether a response is in progress.
func (c *ModelConn) Active() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active != nil
}
