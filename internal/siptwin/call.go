// Package siptwin is the life of a SIP call on OpenAI's twins (realtimetest,
// livetest): ringing until the app accepts or rejects it (or it rings out),
// accepted with a session and watched by the app's sidebands, then over (hung up,
// referred away); with what the app did to it and the webhook's deliveries, for
// tests to read and wait on. The twins keep what differs: the routes, the bodies'
// checks and errors, and how a sideband learns the call is over. It is not a SIP
// stack: no SIP crosses it.
package siptwin

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// A call's states.
const (
	Ringing  = "ringing"
	Accepted = "accepted"
	Rejected = "rejected"
	Missed   = "missed"   // rang out
	Referred = "referred" // transferred away by a refer
	Ended    = "ended"    // hung up (by the app or the caller)
)

// Changes is how a twin's tests wait on a call (internal/statewait.Changes, which
// the twin gives: internal packages do not import each other).
type Changes interface {
	Notify()
	Wait(ctx context.Context, who, what string, cond func() bool) error
}

// Call is a SIP call on a twin: Conn is the twin's sideband connection, Delivery
// a webhook delivery attempt. Its methods are safe from any goroutine.
type Call[Conn, Delivery any] struct {
	id, webhookID string
	closers       *sync.WaitGroup // the twin's sideband closes in flight

	changes    Changes
	mu         sync.Mutex
	state      string
	session    json.RawMessage
	rejected   int
	referredTo string
	hungUp     bool
	sidebands  []Conn
	deliveries []Delivery
	ring       *time.Timer
	done       chan struct{}
}

// New is a call ringing; changes is told of each change of the call; closers
// counts the sideband closes End starts (the twin's Close waits for them).
func New[Conn, Delivery any](id, webhookID string, changes Changes, closers *sync.WaitGroup) *Call[Conn, Delivery] {
	return &Call[Conn, Delivery]{id: id, webhookID: webhookID, changes: changes, closers: closers, state: Ringing, done: make(chan struct{})}
}

// RingFor stops the ringing after d: missed is then called (the twin ends the
// call as missed).
func (c *Call[Conn, Delivery]) RingFor(d time.Duration, missed func()) {
	c.mu.Lock()
	c.ring = time.AfterFunc(d, missed)
	c.mu.Unlock()
}

// Delivered notes a delivery attempt of the call's webhook.
func (c *Call[Conn, Delivery]) Delivered(d Delivery) {
	c.mu.Lock()
	c.deliveries = append(c.deliveries, d)
	c.mu.Unlock()
	c.changes.Notify()
}

// ID is the call's id (Realtime's call_id, Live's session_id).
func (c *Call[Conn, Delivery]) ID() string { return c.id }

// WebhookID is the webhook-id of the call's webhook deliveries.
func (c *Call[Conn, Delivery]) WebhookID() string { return c.webhookID }

// State is the call's state: Ringing, Accepted, Rejected, Missed, Referred or
// Ended (the twins' SIP… constants).
func (c *Call[Conn, Delivery]) State() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Ringing reports whether the call still waits for an accept.
func (c *Call[Conn, Delivery]) Ringing() bool { return c.State() == Ringing }

// InProgress reports whether the call is ringing or accepted (not over).
func (c *Call[Conn, Delivery]) InProgress() bool {
	s := c.State()
	return s == Ringing || s == Accepted
}

// Deliveries are the webhook's delivery attempts so far.
func (c *Call[Conn, Delivery]) Deliveries() []Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Delivery(nil), c.deliveries...)
}

// Accepted waits until the call stops ringing and returns the session it was
// accepted with; an error when it was rejected or rang out.
func (c *Call[Conn, Delivery]) Accepted(ctx context.Context) (json.RawMessage, error) {
	if err := c.changes.Wait(ctx, "sip call", "the call answered", func() bool { return !c.Ringing() }); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session == nil {
		return nil, fmt.Errorf("call %s was not accepted: %s", c.id, c.state)
	}
	return append(json.RawMessage(nil), c.session...), nil
}

// Rejected returns the SIP status the app rejected the call with.
func (c *Call[Conn, Delivery]) Rejected() (status int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rejected, c.state == Rejected
}

// Sideband waits for the app's first sideband connection to the call and
// returns it.
func (c *Call[Conn, Delivery]) Sideband(ctx context.Context) (Conn, error) {
	var conn Conn
	err := c.changes.Wait(ctx, "sip call", "the sideband", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.sidebands) > 0 {
			conn = c.sidebands[0]
			return true
		}
		return false
	})
	return conn, err
}

// ReferredTo is the target_uri of the app's refer, or "".
func (c *Call[Conn, Delivery]) ReferredTo() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.referredTo
}

// HungUp reports whether the app hung the call up.
func (c *Call[Conn, Delivery]) HungUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hungUp
}

// Done is closed when the call is over (rejected, rang out, referred, hung up).
func (c *Call[Conn, Delivery]) Done() <-chan struct{} { return c.done }

// Accept answers the ringing call with session; false when it was not ringing.
func (c *Call[Conn, Delivery]) Accept(session json.RawMessage) bool {
	c.mu.Lock()
	if c.state != Ringing {
		c.mu.Unlock()
		return false
	}
	c.state, c.session = Accepted, append(json.RawMessage(nil), session...)
	if c.ring != nil {
		c.ring.Stop()
	}
	c.mu.Unlock()
	c.changes.Notify()
	return true
}

// Reject declines the ringing call with the SIP status; false when it was not
// ringing.
func (c *Call[Conn, Delivery]) Reject(status int, closeConn func(Conn)) bool {
	c.mu.Lock()
	if c.state != Ringing {
		c.mu.Unlock()
		return false
	}
	c.rejected = status
	c.mu.Unlock()
	return c.End(Ringing, Rejected, true, closeConn)
}

// Refer transfers the accepted call to target: OpenAI leaves the call and its
// session ends. False when the call was not accepted.
func (c *Call[Conn, Delivery]) Refer(target string, closeConn func(Conn)) bool {
	c.mu.Lock()
	if c.state != Accepted {
		c.mu.Unlock()
		return false
	}
	c.referredTo = target
	c.mu.Unlock()
	return c.End(Accepted, Referred, true, closeConn)
}

// Session is the session the call was accepted with (nil before).
func (c *Call[Conn, Delivery]) Session() json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Attach adds a sideband to the accepted call, once ready (when not nil) has
// taken the call's session without error; an error when the call is not
// accepted (any more).
func (c *Call[Conn, Delivery]) Attach(conn Conn, ready func(session json.RawMessage) error) error {
	c.mu.Lock()
	if c.state != Accepted {
		defer c.mu.Unlock()
		return fmt.Errorf("call %s is %s", c.id, c.state)
	}
	if ready != nil {
		if err := ready(c.session); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	c.sidebands = append(c.sidebands, conn)
	c.mu.Unlock()
	c.changes.Notify()
	return nil
}

// End moves the call from state from ("" any state in progress) to to, closes
// Done, and closes each sideband with closeConn on a goroutine of its own (the
// closing handshake waits for the app, which may be waiting for the request that
// ended the call). byApp says the app's request ended it. It reports whether it
// did.
func (c *Call[Conn, Delivery]) End(from, to string, byApp bool, closeConn func(Conn)) bool {
	c.mu.Lock()
	if c.state != Ringing && c.state != Accepted || from != "" && c.state != from {
		c.mu.Unlock()
		return false
	}
	c.state = to
	if byApp && to == Ended {
		c.hungUp = true
	}
	if c.ring != nil {
		c.ring.Stop()
	}
	conns := append([]Conn(nil), c.sidebands...)
	close(c.done)
	c.mu.Unlock()
	for _, conn := range conns {
		c.closers.Go(func() { closeConn(conn) })
	}
	c.changes.Notify()
	return true
}
