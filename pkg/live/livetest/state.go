package livetest

import (
	"context"
	"fmt"
	"slices"

	"github.com/callagent/callagent/pkg/live"
)

func (c *ModelConn) notify() { c.changes.Notify() }

// WaitFor waits until cond, evaluated after every change of the connection's state,
// holds. what names the condition in the error.
func (c *ModelConn) WaitFor(ctx context.Context, what string, cond func() bool) error {
	return c.changes.Wait(ctx, "live model", what, cond)
}

// WaitAudio waits until the model received at least n bytes of caller audio.
func (c *ModelConn) WaitAudio(ctx context.Context, n int) error {
	return c.WaitFor(ctx, fmt.Sprintf("%d bytes of caller audio", n), func() bool { return len(c.AudioIn()) >= n })
}

// WaitEvent waits for the n-th (1-based) client event of type typ and returns it.
func (c *ModelConn) WaitEvent(ctx context.Context, typ string, n int) (live.ClientEvent, error) {
	var ev live.ClientEvent
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

// WaitClosed waits until the connection has ended.
func (c *ModelConn) WaitClosed(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("live model: waiting for the connection to end: %w", ctx.Err())
	}
}

// Started reports whether session.started was sent.
func (c *ModelConn) Started() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// Config is the session.start configuration the client sent.
func (c *ModelConn) Config() live.SessionConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.config
}

// Session is the resolved session.
func (c *ModelConn) Session() live.SessionResource {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Closed reports whether the connection has ended.
func (c *ModelConn) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Done is closed when the connection has ended.
func (c *ModelConn) Done() <-chan struct{} { return c.done }

// CloseErr is the read error that ended the connection.
func (c *ModelConn) CloseErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// AudioIn is the caller audio received, decoded.
func (c *ModelConn) AudioIn() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.audio)
}

// CallerSpeaking reports whether the detector hears the caller now, and how many
// times the caller started speaking.
func (c *ModelConn) CallerSpeaking() (now bool, starts int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.speaking, c.speeches
}

// Received returns the client events of type typ ("" for all) other than audio.
func (c *ModelConn) Received(typ string) []live.ClientEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []live.ClientEvent
	for _, ev := range c.received {
		if typ == "" || ev.EventType() == typ {
			out = append(out, ev)
		}
	}
	return out
}

// ErrorsSent are the error events sent.
func (c *ModelConn) ErrorsSent() []live.ErrorInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errorsSent)
}

// MissingEventIDs are the types of client events that came without an event_id.
func (c *ModelConn) MissingEventIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.noID)
}
