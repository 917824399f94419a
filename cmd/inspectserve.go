package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/callagent/callagent/pkg/inspector"
)

// What inspect and dev share of serving the inspector: the port choice, the
// address check, and the server with its token and bounded shutdown.

// inspectPorts are the ports the inspector tries, from the first, when no
// address is given. (A variable for the tests, which move it off 4040: a dev
// running on the machine, or another test process, must not change a result.)
var inspectFirstPort = 4040

const inspectPorts = 50

// inspectShutdown bounds the inspector's shutdown: its events streams end with
// its context, so only a request in flight can take this long.
const inspectShutdown = 3 * time.Second

// parseInspectAddr checks an inspector address (flag names it in errors): a
// host and a numeric port, never every interface (the Host check needs the
// name). loopback reports whether it stays on this machine.
func parseInspectAddr(flag, addr string) (loopback bool, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, commandLineError(fmt.Errorf("%s %s: %w (like 127.0.0.1:4040)", flag, sanitize(addr), err))
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return false, commandLineError(fmt.Errorf("%s %s: the port must be a number from 0 (any free one) to 65535", flag, sanitize(addr)))
	}
	if isLoopbackHost(host) {
		return true, nil
	}
	if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		return false, commandLineError(fmt.Errorf("%s %s listens on every interface: name one address (127.0.0.1:%s)", flag, sanitize(addr), port))
	}
	return false, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// listenInspector listens on addr, or on the first free port of 127.0.0.1
// from 4040 when addr is "".
func listenInspector(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	if addr != "" {
		return lc.Listen(ctx, "tcp", addr)
	}
	var first error
	for p := inspectFirstPort; p < inspectFirstPort+inspectPorts; p++ {
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			return ln, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, fmt.Errorf("no free port from %d to %d (%w)", inspectFirstPort, inspectFirstPort+inspectPorts-1, first)
}

// inspectorServer is the inspector served on a listener, with a fresh token.
type inspectorServer struct {
	h   *inspector.Handler
	url string // http://HOST:PORT/?token=…: a secret of this machine, for the terminal only

	srv   *http.Server
	ctx   context.Context // the requests' context: cancelled first by close
	stop  context.CancelFunc
	wg    sync.WaitGroup
	ended chan struct{} // closed when Serve returns
	err   error         // Serve's result, once ended
}

// serveInspector serves the inspector on ln (which it then owns) until close;
// host is the name in its URL (a name beyond loopback is also allowed in the
// Host header). opts' Token, Port and Hosts are set here. The requests'
// context is ctx's: the events streams end when it ends.
func serveInspector(ctx context.Context, ln net.Listener, host string, opts inspector.Options) (*inspectorServer, error) {
	port := ln.Addr().(*net.TCPAddr).Port
	token, err := inspector.NewToken()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("inspector token: %w", err)
	}
	opts.Token, opts.Port = token, port
	if !isLoopbackHost(host) {
		opts.Hosts = []string{host}
	}
	h, err := inspector.New(opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &inspectorServer{h: h, ended: make(chan struct{}),
		url: "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/?token=" + token}
	s.ctx, s.stop = context.WithCancel(ctx)
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 75 * time.Second,
		BaseContext: func(net.Listener) context.Context { return s.ctx }}
	s.wg.Go(func() {
		s.err = s.srv.Serve(ln)
		close(s.ended)
	})
	return s, nil
}

// run runs f in a goroutine of the inspector's, with its requests' context; close
// waits for it.
func (s *inspectorServer) run(f func(ctx context.Context)) {
	s.wg.Go(func() { f(s.ctx) })
}

// close ends the events streams, shuts the server down (bounded) and waits for
// its goroutines. It returns Serve's error, if it failed before.
func (s *inspectorServer) close() error {
	s.stop()
	sctx, cancel := context.WithTimeout(context.Background(), inspectShutdown)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if err != nil {
		s.srv.Close() // what is left after the bound
		err = fmt.Errorf("inspector shutdown: %w", err)
	}
	s.wg.Wait()
	s.h.Wait()
	if !errors.Is(s.err, http.ErrServerClosed) {
		err = fmt.Errorf("inspector: %w", s.err)
	}
	return err
}
