package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
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

// A media stream that is upgraded (signed) and then sends no start is closed after
// StreamStartTimeout, and counts for no call.
func TestStreamWithoutStartIsClosed(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		slowConfig(c)
		c.StreamStartTimeout = slowTimeout
	})
	ctx := ctxFor(t)
	opts := ts.callerOptions("CAsilent", -1)
	ws, _, err := websocket.Dial(ctx, opts.URL, &websocket.DialOptions{HTTPHeader: opts.Header})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 10*slowTimeout)
	defer cancel()
	if _, _, err := ws.Read(rctx); rctx.Err() != nil {
		t.Fatalf("the stream without a start stayed open for %v", 10*slowTimeout)
	} else if err == nil {
		t.Fatal("the server sent a message to a stream without a start")
	}
	if took := time.Since(start); took < slowTimeout/2 {
		t.Fatalf("closed after %v, before the start timeout", took)
	}
	if n := ts.srv.ActiveCalls(); n != 0 {
		t.Fatalf("%d active calls", n)
	}
}

// An answer the client does not read (here a large one, which fills the socket's
// buffers) is cut off after WriteTimeout; a WebSocket upgrade is not given a write
// deadline, so a call that runs longer than it goes on.
func TestWriteTimeoutCutsUnreadAnswers(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		slowConfig(c)
		c.WriteTimeout = slowTimeout
	})
	big := bytes.Repeat([]byte("x"), 32<<20) // more than loopback socket buffers hold
	wrote := make(chan error, 1)
	hs := &http.Server{Handler: ts.srv.boundReads(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := w.Write(big)
		wrote <- err
	})), ReadHeaderTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select { // never read
	case err := <-wrote:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("writing to a client that does not read: %v, want a timeout", err)
		}
	case <-time.After(20 * slowTimeout):
		t.Fatal("the answer to a client that does not read was not cut off")
	}

	// A call outlives the write timeout.
	ctx := ctxFor(t)
	ts.webhook("CAlong", nil)
	mc := ts.modelConn(ctx)
	caller, err := ts.caller("CAlong", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	time.Sleep(3 * slowTimeout)
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: bytes.Repeat([]byte{9}, 800)}}})
	if err := caller.WaitReceived(ctx, 800); err != nil {
		t.Fatal("a call was cut by the write timeout:", err)
	}
	caller.Hangup()
	if e := ts.waitEnded(ctx, "CAlong"); e.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s", e.Reason)
	}
}
