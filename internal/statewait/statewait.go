// Package statewait lets a test wait for a condition on a fake's state: every
// state change calls Notify, and Wait re-checks its condition after each one. The
// protocol twins (realtimetest, twiliotest) share it.
package statewait

import (
	"context"
	"fmt"
	"sync"
)

// Changes is the signal of a fake's state changes; the zero value is ready.
type Changes struct {
	mu sync.Mutex
	ch chan struct{}
}

func (c *Changes) current() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// Notify wakes every Wait to re-check its condition.
func (c *Changes) Notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
	}
	c.ch = make(chan struct{})
}

// Wait returns when cond holds, or an error naming who waited for what after ctx
// ends. cond must not take c's lock (it is not held while cond runs).
func (c *Changes) Wait(ctx context.Context, who, what string, cond func() bool) error {
	for {
		ch := c.current()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %s: %w", who, what, ctx.Err())
		}
	}
}
