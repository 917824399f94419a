// Package tunnel gives callagent a public URL: a net.Listener whose connections
// arrive at that URL. Two kinds: an ngrok endpoint opened in-process
// (golang.ngrok.com/ngrok/v2), and "a URL you already have" — Cloudflare Tunnel,
// a reverse proxy, a cloud load balancer — with a loopback listener behind it.
package tunnel

import (
	"context"
	"fmt"
	"net"

	"github.com/callagent/callagent/internal/publicurl"
)

// Tunnel is a listener whose connections come from a public URL.
type Tunnel interface {
	net.Listener
	// URL is the public base URL, without a trailing slash (https://x.ngrok.app).
	URL() string
}

// DefaultAddr is where Local listens when no address is given.
const DefaultAddr = "127.0.0.1:5050"

// Local listens on addr (DefaultAddr when empty) for a proxy the user runs, which
// forwards publicURL to it. publicURL must be https (Twilio streams only to wss://)
// unless insecureHTTP is set, for local experiments with a simulated caller.
func Local(ctx context.Context, addr, publicURL string, insecureHTTP bool) (Tunnel, error) {
	parse := publicurl.Parse
	if insecureHTTP {
		parse = publicurl.ParseInsecureHTTP
	}
	u, err := parse(publicURL)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		addr = DefaultAddr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (pick another with --addr)", addr, err)
	}
	return &local{Listener: ln, url: u}, nil
}

type local struct {
	net.Listener
	url string
}

func (l *local) URL() string { return l.url }
