package cmd

import (
	"context"
	"fmt"
	"net"

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
	Config    string // --config: the configuration the replay action runs against
	Stdin     bool   // "-": the calls of a server's JSON log lines read from stdin
}

// newInspectCmd builds the inspect command; runF, when not nil, replaces
// inspectRun (tests check argv → options with it).
func newInspectCmd(f *Factory, runF func(context.Context, *inspectOptions) error) *cobra.Command {
	opts := &inspectOptions{}
	c := &cobra.Command{
		Use:   "inspect [-]",
		Short: "Look at past calls in the browser: a local inspector over the call logs and recordings",
		Long: `Serve the call inspector on this machine (127.0.0.1, the first free port from 4040) over
the call logs and the recordings dev made, and print its address with its token: open it
in a browser. The page lists the calls, updating as dev or serve log new ones; its API
(/api/calls, /api/calls/CALLSID with the call's timeline, /frames, /audio, /api/events)
answers only with the token and only to a Host of localhost or the loopback address.
A call's page can replay it (POST /api/calls/CALLSID/replay, the token in a header): its
caller's turns against --config, offline, as simulate --from-call does, showing what changed.

"-" reads a server's JSON log lines from stdin instead (what serve prints on stdout, as
logs - reads them): the list shows their calls and updates as lines arrive; a call's page
shows its timeline (without audio: serve records none).`,
		Example: `  callagent inspect
  callagent inspect --addr 127.0.0.1:5050 --call-log-dir ./calls
  kubectl logs -f deploy/callagent | callagent inspect -`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if args[0] != "-" {
					return usageErrorf("inspect takes no argument but - (a server's JSON log lines on stdin), not %q", sanitize(args[0]))
				}
				opts.Stdin = true
			}
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
	fl.StringVar(&opts.Config, "config", "", "the agent configuration a call's Replay runs against, read again at each replay (default: callagent.yaml)")
	fl.StringVar(&opts.RecordDir, "record-dir", "", "where dev recorded the calls (default: the state directory's recordings/)")
	return c
}

// checkAddr refuses an --addr beyond loopback without --insecure-remote, and
// one that names no host (all interfaces): the Host check needs the name.
func (o *inspectOptions) checkAddr() error {
	if o.Addr == "" {
		return nil
	}
	loopback, err := parseInspectAddr("--addr", o.Addr)
	if err != nil || loopback || o.Remote {
		return err
	}
	return commandLineError(fmt.Errorf("--addr %s is not a loopback address: the inspector shows your calls; pass --insecure-remote to serve it there anyway", sanitize(o.Addr)))
}

func inspectRun(ctx context.Context, f *Factory, o *inspectOptions) error {
	ln, err := listenInspector(ctx, o.Addr)
	if err != nil {
		if o.Addr == "" {
			err = fmt.Errorf("%w: choose one with --addr", err)
		}
		return err
	}
	host := "127.0.0.1"
	if o.Addr != "" {
		host, _, _ = net.SplitHostPort(o.Addr)
	}
	if o.Stdin {
		return inspectStdin(ctx, f, o, ln, host)
	}
	s, err := serveInspector(ctx, ln, host, inspector.Options{LogDir: o.LogDir, RecordDir: o.RecordDir,
		Redactor: newRedactor(f.Env, nil), Now: f.Now, Replay: inspectReplay(f.Env, o.Config, o.LogDir, o.RecordDir, nil)})
	if err != nil {
		return err
	}
	s.run(func(ctx context.Context) {
		// New lines in the call logs become the list's live updates.
		fl := &calllog.Follower{Dir: o.LogDir}
		fl.Run(ctx, func(_ calllog.Line, ev callevent.Event) { s.h.PublishEvent(ev) }, nil)
	})
	fmt.Fprintln(f.IO.ErrOut, "Inspector for the calls in "+sanitize(o.LogDir)+" (recordings: "+sanitize(o.RecordDir)+"); Ctrl-C stops. Open:")
	fmt.Fprintln(f.IO.Out, s.url)

	select {
	case <-ctx.Done():
	case <-s.ended:
	}
	return s.close()
}
