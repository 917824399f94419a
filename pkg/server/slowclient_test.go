package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Slow and idle clients (issue 14, item 1): every connection that stops sending is
// closed within the configured time, so stalled clients cannot hold the server's
// file descriptors and keep Twilio's webhooks out.

const slowTimeout = 200 * time.Millisecond

func slowConfig(c *Config) {
	c.ReadHeaderTimeout = slowTimeout
	c.BodyReadTimeout = slowTimeout
	c.IdleTimeout = slowTimeout
}

// dialRaw opens a loopback connection to ts, closed at the end of the test.
func dialRaw(t *testing.T, ts *testServer) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stallBody sends a webhook's headers and the start of its body, then stops.
func stallBody(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := io.WriteString(c, "POST "+PathIncomingCall+" HTTP/1.1\r\nHost: calls.example.com\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nCallSid=CA"); err != nil {
		t.Fatal(err)
	}
}

// keepIdle makes one request on c, reads its answer, and leaves the connection open.
func keepIdle(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+PathHealth+" HTTP/1.1\r\nHost: calls.example.com\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Fatal("the server did not keep the connection alive")
	}
}

// closedWithin reads c until the server closes it, failing if that takes longer than limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c) // a 400 answer may come first; then EOF or a reset
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v", limit)
	}
	return time.Since(start)
}

func TestStalledWebhookBodyIsClosed(t *testing.T) {
	ts := newTestServer(t, slowConfig)
	c := dialRaw(t, ts)
	stallBody(t, c)
	if took := closedWithin(t, c, 10*slowTimeout); took < slowTimeout/2 {
		t.Fatalf("closed after %v, before the body timeout", took)
	}
}

func TestIdleKeepAliveIsClosed(t *testing.T) {
	ts := newTestServer(t, slowConfig)
	c := dialRaw(t, ts)
	keepIdle(t, c)
	if took := closedWithin(t, c, 10*slowTimeout); took < slowTimeout/2 {
		t.Fatalf("closed after %v, before the idle timeout", took)
	}
}

// TestStalledClientsDoNotStopCalls holds as many stalled connections as the server
// may have open (a file-descriptor limit, modelled by limitListener) and then places
// a correctly signed call: it is answered once the stalled ones are timed out.
func TestStalledClientsDoNotStopCalls(t *testing.T) {
	const n = 200
	ts := newTestServerOn(t, slowConfig, func(ln net.Listener) net.Listener { return newLimitListener(ln, n) })
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c := dialRaw(t, ts)
		switch i % 3 {
		case 0: // headers that never end
			if _, err := io.WriteString(c, "POST "+PathIncomingCall+" HTTP/1.1\r\nHost: calls.example.com\r\n"); err != nil {
				t.Fatal(err)
			}
		case 1:
			stallBody(t, c)
		case 2:
			keepIdle(t, c)
		}
		conns = append(conns, c)
	}
	ts.client.Timeout = 20 * slowTimeout
	resp, body := ts.webhook("CAslow", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<Stream") {
		t.Fatalf("signed webhook: %d %s", resp.StatusCode, body)
	}
	for _, c := range conns {
		closedWithin(t, c, 10*slowTimeout)
	}
	ts.client.CloseIdleConnections()
}

// limitListener accepts at most n open connections at a time, as a process at its
// file-descriptor limit does: further clients wait in the kernel's backlog.
type limitListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
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
