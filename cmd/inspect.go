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

	"github.com/spf13/cobra"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/inspector"
)

// inspectOptions are the flags of inspect.
type inspectOptions struct {
	Addr      string // "": the first free port of 127.0.0.1 from 4040
	Remote    bool   // --insecure-remote: an --addr beyond loopback is allowed
	LogDir    string // --call-log-dir, as for logs
	RecordDir string // --record-dir, as for dev
}

// inspectPorts are the ports inspect tries, from the first, when --addr is not given.
const (
	inspectFirstPort = 4040
	inspectPorts     = 50
)

// newInspectCmd builds the inspect command; runF, when not nil, replaces
// inspectRun (tests check argv → options with it).
func newInspectCmd(f *Factory, runF func(context.Context, *inspectOptions) error) *cobra.Command {
	opts := &inspectOptions{}
	c := &cobra.Command{
		Use:   "inspect",
		Short: "Look at past calls in the browser: a local inspector over the call logs and recordings",
		Long: `Serve the call inspector on this machine (127.0.0.1, the first free port from 4040) over
the call logs and the recordings dev made, and print its address with its token: open it
in a browser. The page lists the calls, updating as dev or serve log new ones; its API
(/api/calls, /api/calls/CALLSID with the call's timeline, /frames, /audio, /api/events)
answers only with the token and only to a Host of localhost or the loopback address.

This is the inspector's first part: the list page and the API. The timeline page comes next.`,
		Example: `  callagent inspect
  callagent inspect --addr 127.0.0.1:5050 --call-log-dir ./calls`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, f.Env); err != nil {
				return err
			}
			var err error
			if opts.LogDir, err = callLogDir(opts.LogDir, f.Env); err != nil {
				return err
			}
			if opts.RecordDir, err = recordingsDir(opts.RecordDir, f.Env); err != nil {
				return err
			}
			if err := opts.checkAddr(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return inspectRun(cmd.Context(), f, opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.Addr, "addr", "", "address to listen on (default 127.0.0.1, the first free port from 4040)")
	fl.BoolVar(&opts.Remote, "insecure-remote", false, "allow an --addr that is not loopback: anyone who can reach it and has the token sees your calls")
	fl.StringVar(&opts.LogDir, "call-log-dir", "", "where the call logs are (default: the state directory's calls/)")
	fl.StringVar(&opts.RecordDir, "record-dir", "", "where dev recorded the calls (default: the state directory's recordings/)")
	return c
}

// checkAddr refuses an --addr beyond loopback without --insecure-remote, and
// one that names no host (all interfaces): the Host check needs the name.
func (o *inspectOptions) checkAddr() error {
	if o.Addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return commandLineError(fmt.Errorf("--addr %s: %w (like 127.0.0.1:4040)", sanitize(o.Addr), err))
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return commandLineError(fmt.Errorf("--addr %s: the port must be a number from 0 (any free one) to 65535", sanitize(o.Addr)))
	}
	if isLoopbackHost(host) {
		return nil
	}
	if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		return commandLineError(fmt.Errorf("--addr %s listens on every interface: name one address (127.0.0.1:%s)", sanitize(o.Addr), port))
	}
	if !o.Remote {
		return commandLineError(fmt.Errorf("--addr %s is not a loopback address: the inspector shows your calls; pass --insecure-remote to serve it there anyway", sanitize(o.Addr)))
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// listenInspector listens on --addr, or on the first free port of 127.0.0.1
// from 4040.
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
	return nil, fmt.Errorf("no free port from %d to %d (%w): choose one with --addr", inspectFirstPort, inspectFirstPort+inspectPorts-1, first)
}

func inspectRun(ctx context.Context, f *Factory, o *inspectOptions) error {
	ln, err := listenInspector(ctx, o.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	tcp := ln.Addr().(*net.TCPAddr)
	token, err := inspector.NewToken()
	if err != nil {
		return fmt.Errorf("inspector token: %w", err)
	}
	opts := inspector.Options{LogDir: o.LogDir, RecordDir: o.RecordDir, Token: token, Port: tcp.Port,
		Redactor: newRedactor(f.Env, nil), Now: f.Now}
	host := "127.0.0.1"
	if o.Addr != "" {
		host, _, _ = net.SplitHostPort(o.Addr)
		if !isLoopbackHost(host) {
			opts.Hosts = []string{host}
		}
	}
	h, err := inspector.New(opts)
	if err != nil {
		return err
	}

	// Request contexts end with serveCtx, so the events streams end at Ctrl-C
	// and Shutdown does not wait for them.
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 75 * time.Second,
		BaseContext: func(net.Listener) context.Context { return serveCtx }}
	var wg sync.WaitGroup
	served := make(chan error, 1)
	wg.Go(func() { served <- srv.Serve(ln) })
	wg.Go(func() {
		// New lines in the call logs become the list's live updates.
		fl := &calllog.Follower{Dir: o.LogDir}
		fl.Run(serveCtx, func(_ calllog.Line, ev callevent.Event) { h.PublishEvent(ev) }, nil)
	})

	url := "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)) + "/?token=" + token
	fmt.Fprintln(f.IO.ErrOut, "Inspector for the calls in "+sanitize(o.LogDir)+" (recordings: "+sanitize(o.RecordDir)+"); Ctrl-C stops. Open:")
	fmt.Fprintln(f.IO.Out, url)

	select {
	case <-ctx.Done():
		err = nil
	case err = <-served:
	}
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("inspector shutdown: %w", serr)
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
