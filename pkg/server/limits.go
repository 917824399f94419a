package server

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config's listener limits and windows, for the commands' flags.
const (
	DefaultReadHeaderTimeout  = defaultReadHeaderTimeout
	DefaultBodyReadTimeout    = defaultBodyReadTimeout
	DefaultWriteTimeout       = defaultWriteTimeout
	DefaultIdleTimeout        = defaultIdleTimeout
	DefaultStreamStartTimeout = defaultStreamStart
	DefaultMaxWebhookBody     = defaultMaxWebhookBody
	DefaultPredialTTL         = defaultPredialTTL
)

var _ time.Duration = DefaultPredialTTL // typed: they are durations

// DefaultMaxConns is the bound on connections served at once for a process that may
// open limit files (0: unknown, no bound): half of them. The other half stays for
// what the calls taken need besides their connection to Twilio: the model
// session's connection, the call log, the recording. Without the bound a flood of
// stalled clients takes every descriptor the moment one is freed, and a call
// answered meanwhile cannot dial its model.
func DefaultMaxConns(limit int) int {
	return limit / 2
}

// limitListener accepts at most n open connections at a time: further clients
// wait in the kernel's backlog until a connection closes.
type limitListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
	peak atomic.Int64 // the most connections open at once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	for n := int64(len(l.sem)); ; {
		p := l.peak.Load()
		if n <= p || l.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
