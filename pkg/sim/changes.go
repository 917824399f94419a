package sim

import (
	"context"
	"fmt"
	"sync"
)

// changes lets a test wait for a condition on a fake's state: every state change
// calls notify, and wait re-checks its condition after each one.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

func (c *changes) current() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *changes) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
	}
	c.ch = make(chan struct{})
}

// wait returns when cond holds, or an error naming what after ctx ends. cond must
// not hold c's lock (it is not held while cond runs).
func (c *changes) wait(ctx context.Context, who, what string, cond func() bool) error {
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
