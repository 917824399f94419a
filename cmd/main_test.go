package cmd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
)

// TestMain gives the tests a home of their own: a command that falls back to
// ~/.local/state or ~/.cache writes there, never into the user's. And no test may
// reach past loopback: a command that would ask the real OpenAI or Twilio (a
// check at start, a client without its base URL overridden) is refused, and the
// run fails naming where it went.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "callagent-cmd-test-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range []string{"XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "CALLAGENT_STATE_DIR"} {
		os.Unsetenv(k)
	}
	os.Setenv("HOME", home)
	// The inspector's ports, off 4040–4089 (a dev running here) and apart for each
	// test process: 20000 + a block of 50 chosen by the process ID.
	inspectFirstPort = 20000 + os.Getpid()%400*inspectPorts
	guard := loopbackOnly(http.DefaultTransport.(*http.Transport))
	code := m.Run()
	os.RemoveAll(home)
	if away := guard.reached(); len(away) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: tests reached past loopback (no test may need the network): %v\n", away)
		code = 1
	}
	os.Exit(code)
}

// offLoopback records the addresses a test tried to reach that are not loopback.
type offLoopback struct {
	mu   sync.Mutex
	away []string
}

// loopbackOnly makes t refuse connections to anything but loopback.
func loopbackOnly(t *http.Transport) *offLoopback {
	g := &offLoopback{}
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	t.Proxy = nil // a proxy from the environment is not loopback either
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return dial(ctx, network, addr)
		}
		g.mu.Lock()
		if !slices.Contains(g.away, addr) {
			g.away = append(g.away, addr)
		}
		g.mu.Unlock()
		return nil, fmt.Errorf("test dialed %s: tests stay on loopback", addr)
	}
	return g
}

func (g *offLoopback) reached() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.away
}
