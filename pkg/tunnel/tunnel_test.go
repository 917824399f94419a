package tunnel_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/ngroktest"
	"github.com/callagent/callagent/pkg/tunnel"
)

const token = "2abcdefghijklmnopqrstuvwxyz_0123456789ABCDEFGHIJ"

func startEdge(t *testing.T) *ngroktest.Edge {
	t.Helper()
	edge, err := ngroktest.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(edge.Close)
	return edge
}

func edgeOptions(edge *ngroktest.Edge) tunnel.NgrokOptions {
	return tunnel.NgrokOptions{Authtoken: token, ConnectURL: edge.Addr, ConnectCAs: edge.CAs,
		ClientVersion: "1.2.3", Timeout: time.Minute}
}

// The real ngrok client authenticates at the edge, binds an endpoint, and serves
// HTTP that arrives through it.
func TestNgrokServesThroughTheEdge(t *testing.T) {
	leakcheck.Check(t)
	edge := startEdge(t)
	tun, err := tunnel.Ngrok(context.Background(), edgeOptions(edge))
	if err != nil {
		t.Fatal(err)
	}
	if tun.URL() != "https://fake-1.ngrok.test" {
		t.Errorf("URL %q", tun.URL())
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from "+r.URL.Path)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tun) }()

	resp, err := edge.HTTPClient().Get(ngroktest.PlainURL(tun.URL()) + "/incoming-call")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from /incoming-call" {
		t.Errorf("body %q", body)
	}

	auths := edge.Auths()
	if len(auths) != 1 || auths[0].Authtoken != token || !strings.Contains(auths[0].UserAgent, "callagent/1.2.3") {
		t.Errorf("the edge saw %d auths (the token and the user agent are checked, not shown)", len(auths))
	}
	if binds := edge.Binds(); len(binds) != 1 || binds[0].Proto != "https" || binds[0].URL != "" {
		t.Errorf("binds %+v", binds)
	}

	srv.Close()
	tun.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		t.Errorf("serve: %v", err)
	}
	waitFor(t, func() bool { return edge.Sessions() == 0 }, "the session to end after Close")
}

func TestNgrokReservedDomain(t *testing.T) {
	leakcheck.Check(t)
	edge := startEdge(t)
	for _, domain := range []string{"agent.ngrok.app", "https://agent.ngrok.app/"} {
		o := edgeOptions(edge)
		o.Domain = domain
		tun, err := tunnel.Ngrok(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if tun.URL() != "https://agent.ngrok.app" {
			t.Errorf("%s: URL %q", domain, tun.URL())
		}
		tun.Close()
	}
	for _, b := range edge.Binds() {
		if b.URL != "https://agent.ngrok.app" {
			t.Errorf("bind asked for %q", b.URL)
		}
	}
	o := edgeOptions(edge)
	o.Domain = "https://agent.ngrok.app/path"
	if _, err := tunnel.Ngrok(context.Background(), o); err == nil || !strings.Contains(err.Error(), "--domain") {
		t.Errorf("domain with a path: %v", err)
	}
}

func TestNgrokDomainRefused(t *testing.T) {
	leakcheck.Check(t)
	edge := startEdge(t)
	edge.RefuseBinds("The domain 'mine.ngrok.app' is not reserved for your account.\n\nERR_NGROK_320")
	o := edgeOptions(edge)
	o.Domain = "mine.ngrok.app"
	_, err := tunnel.Ngrok(context.Background(), o)
	var ne *tunnel.NgrokError
	if !errors.As(err, &ne) || ne.Code != "ERR_NGROK_320" || !strings.Contains(err.Error(), "mine.ngrok.app is reserved") {
		t.Fatalf("refused domain: %v", err)
	}
	waitFor(t, func() bool { return edge.Sessions() == 0 }, "the session to end after the failure")
}

// A wrong token is refused at once with the fix, not retried until the deadline,
// and the token ngrok echoes back never reaches the error.
func TestNgrokBadToken(t *testing.T) {
	leakcheck.Check(t)
	edge := startEdge(t)
	o := edgeOptions(edge)
	o.Authtoken = "not-a-real-token-0123456789"
	_, err := tunnel.Ngrok(context.Background(), o) // Timeout is a minute: a retry loop would fail below
	var ne *tunnel.NgrokError
	if !errors.As(err, &ne) || ne.Code != "ERR_NGROK_105" {
		t.Fatalf("bad token: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"authtoken was rejected", "does not look like a proper ngrok authtoken",
		"dashboard.ngrok.com/get-started/your-authtoken", "NGROK_AUTHTOKEN", "--public-url"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, o.Authtoken) {
		t.Errorf("error shows the token: %s", msg)
	}
}

func TestNgrokMissingToken(t *testing.T) {
	if _, err := tunnel.Ngrok(context.Background(), tunnel.NgrokOptions{Authtoken: "  "}); !errors.Is(err, tunnel.ErrNoAuthtoken) {
		t.Fatalf("no token: %v", err)
	}
	if !strings.Contains(tunnel.ErrNoAuthtoken.Error(), "--public-url") {
		t.Error("the missing-token error does not offer --public-url")
	}
}

// Without network the agent retries forever; Ngrok gives up at its deadline and
// says what it last saw.
func TestNgrokNoNetworkDeadline(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	dials := 0
	o := tunnel.NgrokOptions{Authtoken: token, Timeout: 700 * time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dials++
			mu.Unlock()
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("network is unreachable")}
		}}
	_, err := tunnel.Ngrok(context.Background(), o)
	if err == nil {
		t.Fatal("connected without a network")
	}
	for _, want := range []string{"could not reach the ngrok service within 700ms", "network is unreachable", "--public-url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if dials == 0 {
		t.Error("the dialer was never used")
	}
}

func TestNgrokContextCancelled(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithCancel(context.Background())
	o := tunnel.NgrokOptions{Authtoken: token, Timeout: time.Minute,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			cancel()
			return nil, errors.New("no route")
		}}
	if _, err := tunnel.Ngrok(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// A dropped session is reported, and so is its return; the endpoint keeps serving.
func TestNgrokReconnectReported(t *testing.T) {
	leakcheck.Check(t)
	edge := startEdge(t)
	statuses := make(chan tunnel.Status, 10)
	o := edgeOptions(edge)
	o.OnStatus = func(s tunnel.Status) { statuses <- s }
	tun, err := tunnel.Ngrok(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(tun)
	defer srv.Close()

	edge.DropSessions()
	if s := <-statuses; s.Connected || s.Err == nil {
		t.Fatalf("first status %+v, want a drop with its reason", s)
	}
	if s := <-statuses; !s.Connected {
		t.Fatalf("second status %+v, want connected again", s)
	}
	waitFor(t, func() bool {
		resp, err := edge.HTTPClient().Get(ngroktest.PlainURL(tun.URL()) + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "the endpoint to serve again")
}

func TestLocal(t *testing.T) {
	leakcheck.Check(t)
	tun, err := tunnel.Local(context.Background(), "127.0.0.1:0", "https://agent.example.com/", false)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	if tun.URL() != "https://agent.example.com" {
		t.Errorf("URL %q", tun.URL())
	}
	if host, _, _ := net.SplitHostPort(tun.Addr().String()); host != "127.0.0.1" {
		t.Errorf("listening on %s", tun.Addr())
	}
	// The address in use: the error names the flag to change it.
	if _, err := tunnel.Local(context.Background(), tun.Addr().String(), "https://x.example", false); err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("address in use: %v", err)
	}
	// http only with the opt-in: Twilio cannot stream to ws://.
	if _, err := tunnel.Local(context.Background(), "127.0.0.1:0", "http://127.0.0.1:5050", false); err == nil || !strings.Contains(err.Error(), "wss://") {
		t.Errorf("http public URL: %v", err)
	}
	insecure, err := tunnel.Local(context.Background(), "127.0.0.1:0", "http://127.0.0.1:5050", true)
	if err != nil {
		t.Fatal(err)
	}
	insecure.Close()
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A service address the agent could never dial is refused at once, naming the
// variable, instead of being retried until the timeout.
func TestFaultNgrokBadConnectURLRefusedAtOnce(t *testing.T) {
	leakcheck.Check(t)
	for _, addr := range []string{"::x", "example.com", ":443", "example.com:http", "example.com:0"} {
		start := time.Now()
		_, err := tunnel.Ngrok(context.Background(), tunnel.NgrokOptions{Authtoken: token, ConnectURL: addr, Timeout: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "CALLAGENT_NGROK_CONNECT_URL") || !strings.Contains(err.Error(), "host:port") {
			t.Errorf("%q: %v; want an error naming CALLAGENT_NGROK_CONNECT_URL and host:port", addr, err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%q: refused after %v, the timeout", addr, d)
		}
	}
}

// TestFaultCloseIsNotALostConnection: closing the tunnel ends its session, and
// that is no lost connection to report (dev printed "ngrok connection lost
// (context canceled): reconnecting" on every exit). leakcheck waits for the
// agent's goroutines, so an event the close caused has been handled by then.
func TestFaultCloseIsNotALostConnection(t *testing.T) {
	statuses := make(chan tunnel.Status, 10)
	t.Cleanup(func() {
		select {
		case s := <-statuses:
			t.Errorf("closing the tunnel reported %+v", s)
		default:
		}
	})
	leakcheck.Check(t)
	edge := startEdge(t)
	o := edgeOptions(edge)
	o.OnStatus = func(s tunnel.Status) { statuses <- s }
	tun, err := tunnel.Ngrok(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := tun.Close(); err != nil {
		t.Fatal(err)
	}
}
