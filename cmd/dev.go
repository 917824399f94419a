package cmd

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/telemetry"
	"github.com/callagent/callagent/pkg/tunnel"
)

type devOptions struct {
	Number                string
	PublicURL             string
	Addr                  string
	Domain                string
	RecordDir             string
	recordings            recordingOptions // --no-record, retention
	JSON                  bool
	TakeOver              bool
	RestoreURL            string
	RestoreMethod         string
	NoProvision           bool
	InsecureSkipSignature bool
	InsecureHTTPPublicURL bool
	NgrokTimeout          time.Duration
	InspectAddr           string // "auto": 127.0.0.1, the first free port from 4040; "off"; or a loopback host:port
	commonOptions
	agentOverrides
	startupChecks
	sipOptions // devsip.go

	// From the environment (or .env): secrets never come from flags.
	AuthToken       string // TWILIO_AUTH_TOKEN: checks webhook signatures
	NgrokToken      string
	NgrokConnectURL string // CALLAGENT_NGROK_CONNECT_URL: self-hosted ngrok, tests
	NgrokCAFile     string // CALLAGENT_NGROK_CA: PEM file trusted for it
}

const (
	devDrainTimeout   = 3 * time.Second // Ctrl-C: calls in progress get this long, then hear the apology
	devRestoreTimeout = 20 * time.Second
	devReloadInterval = time.Second
)

func newDevCmd(f *Factory, runF func(context.Context, *devOptions) error) *cobra.Command {
	opts := &devOptions{}
	c := &cobra.Command{
		Use:   "dev",
		Short: "Put your agent on your Twilio number now, with the call live in the terminal",
		Long: `Run your agent on your own Twilio phone number, from this machine.

dev opens an ngrok tunnel in-process (or uses --public-url), points the number's voice
webhook at it through Twilio's REST API, and serves calls. Everything said on the call
appears here as it happens: the caller and the agent in their own colors, tool calls and
their results, interruptions with where the agent was cut off, and the latency of each turn.
Tools that need approval ask here.

The number's previous settings are saved before anything changes and put back when dev
stops: Ctrl-C, SIGTERM, SIGHUP (the terminal closed), a broken stdout pipe, or — if dev
was killed — on its next start. The voice URL dev sets is marked (?callagent_dev=ID): a
number another dev holds, on any machine, is not touched without --take-over (on a
terminal, dev asks).

With --sip (or transport: sip in callagent.yaml) the calls come over SIP: OpenAI answers
them and callagent controls them from OpenAI's signed webhook. dev creates an OpenAI webhook
endpoint for the tunnel (its signing secret kept in memory; with OPENAI_WEBHOOK_SECRET, your
own endpoint is used) and puts the number on callagent's Twilio SIP trunk to the project's SIP
endpoint (--openai-project), and puts both back on exit (docs/SIP.md).

Saving callagent.yaml reloads it: the next call gets the new agents.

The banner's Inspect URL opens the call inspector in a browser, live: calls appear in its
list as they happen (--inspect-addr chooses where it listens, on this machine only, or off).

Environment (or .env): OPENAI_API_KEY, TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or
TWILIO_API_KEY and TWILIO_API_SECRET, with TWILIO_AUTH_TOKEN for signatures), NGROK_AUTHTOKEN,
with --sip OPENAI_PROJECT_ID and (optional) OPENAI_WEBHOOK_SECRET, DEBUG (DEBUG=callagent:*
shows every debug event), and CALLAGENT_<FLAG> for any flag.`,
		Example: `  callagent dev                                   # the account's only number, through ngrok
  callagent dev --number +14155550100 --debug twilio,realtime
  callagent dev --domain agent.ngrok.app          # a domain reserved in ngrok
  callagent dev --public-url https://agent.example.com --addr 127.0.0.1:5050   # your own tunnel
  callagent dev --json | jq 'select(.type == "tool.call")'
  callagent dev --sip --openai-project proj_abc123   # over SIP: OpenAI answers, dev controls the calls`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.resolve(cmd, f.Env); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return devRun(cmd.Context(), f, opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.Number, "number", "", "the Twilio number to use, in E.164 (default: the account's only number)")
	fl.StringVar(&opts.PublicURL, "public-url", "", "use this public URL (Cloudflare Tunnel, a proxy) instead of ngrok; it must forward to --addr")
	fl.StringVar(&opts.Addr, "addr", tunnel.DefaultAddr, "with --public-url: the loopback address to listen on")
	fl.StringVar(&opts.Domain, "domain", "", "an ngrok domain reserved for your account (default: your account's ngrok domain)")
	opts.commonOptions.flags(fl, commonUsage{})
	opts.agentOverrides.flags(fl)
	fl.BoolVar(&opts.JSON, "json", false, "print call events as JSON lines on stdout instead of the transcript")
	opts.recordings.flags(fl, &opts.RecordDir)
	fl.BoolVar(&opts.TakeOver, "take-over", false, "use a number bound to a TwiML App (unbound while dev runs, bound again on exit), "+
		"or one another callagent dev holds (on exit it goes back to that dev's URL, unless --restore-url)")
	fl.StringVar(&opts.RestoreURL, "restore-url", "", "on exit, set the number's voice URL to this one (its original, when another dev holds it now)")
	fl.StringVar(&opts.RestoreMethod, "restore-method", "POST", "with --restore-url: its HTTP method, GET or POST")
	fl.BoolVar(&opts.NoProvision, "no-provision", false, "leave the number alone: print the webhook URL to set yourself")
	fl.BoolVar(&opts.InsecureSkipSignature, "insecure-skip-signature", false, "accept webhooks without a valid X-Twilio-Signature (local experiments only)")
	fl.BoolVar(&opts.InsecureHTTPPublicURL, insecureHTTPFlag, false, insecureHTTPUsage)
	fl.StringVar(&opts.InspectAddr, "inspect-addr", "auto", "where the call inspector listens: auto (127.0.0.1, the first free port from 4040), a loopback host:port, or off")
	fl.DurationVar(&opts.NgrokTimeout, "ngrok-timeout", tunnel.DefaultNgrokTimeout, "give up opening the ngrok tunnel after this long")
	opts.startupChecks.flags(fl)
	opts.sipOptions.flags(fl)
	flagEnvHelp(fl)
	return c
}

func (o *devOptions) resolve(cmd *cobra.Command, env *Env) error {
	if err := o.commonOptions.resolve(cmd, env); err != nil {
		return err
	}
	if err := o.agentOverrides.resolve(cmd); err != nil {
		return err
	}
	o.AuthToken = env.Get("TWILIO_AUTH_TOKEN")
	o.NgrokToken = env.Get("NGROK_AUTHTOKEN")
	o.NgrokConnectURL, o.NgrokCAFile = env.Get("CALLAGENT_NGROK_CONNECT_URL"), env.Get("CALLAGENT_NGROK_CA")
	if o.Number != "" {
		if err := checkE164("--number", o.Number); err != nil {
			return err
		}
	}
	if o.PublicURL != "" {
		var err error
		if o.PublicURL, err = parsePublicURL(o.PublicURL, o.InsecureHTTPPublicURL); err != nil {
			return err
		}
		if o.Domain != "" {
			return commandLineError(errors.New("--domain is an ngrok domain: drop it when you give --public-url"))
		}
	}
	if o.RestoreURL != "" {
		if u, err := url.Parse(o.RestoreURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return commandLineError(fmt.Errorf("--restore-url %q: want the number's original voice URL, http(s)://host/path", o.RestoreURL))
		}
	}
	if o.RestoreMethod = strings.ToUpper(o.RestoreMethod); o.RestoreMethod != http.MethodGet && o.RestoreMethod != http.MethodPost {
		return commandLineError(fmt.Errorf("--restore-method %q: GET or POST", o.RestoreMethod))
	}
	if o.NgrokTimeout <= 0 {
		return commandLineError(errors.New("--ngrok-timeout must be positive"))
	}
	if err := checkListenAddr("--addr", o.Addr); err != nil {
		return err
	}
	if err := o.checkInspectAddr(); err != nil {
		return err
	}
	if err := o.sipOptions.resolve(cmd, env, o.SIP, o.NoProvision); err != nil {
		return err
	}
	return o.missingSettings(env) // all at once
}

// devRun is one dev session in three phases: start (agents, numbers left behind,
// the number, the tunnel, the server, the number pointed here), serve (calls until
// a signal) and stop (the number put back, the calls drained, the tunnel closed).
// A start that fails after the server runs is stopped the same way.
func devRun(ctx context.Context, f *Factory, o *devOptions) error {
	d := newDevSession(f, o)
	defer func() { d.stopTracing() }() // set by start; after the calls' last events
	defer func() { d.calls.close() }() // opened by start
	defer d.closeInspector()           // after the calls' last events
	err := d.start(ctx)
	if d.served == nil {
		return err // nothing serves: nothing to stop
	}
	if err == nil {
		d.serve(ctx)
	}
	return d.stop(ctx, err)
}

// devSession is the state of one dev run.
type devSession struct {
	f        *Factory
	o        *devOptions
	st       Styles
	steps    *stepper
	errOut   io.Writer
	stderr   *stderrAbove // under errOut: keeps an approval question below what is written
	agents   *agentSource
	approver *terminalApprover
	calls    callRecord
	insp     *inspectorServer // nil: --inspect-addr off, or it could not listen

	prov    *provision.Provisioner
	number  provision.Number
	pointed bool // the number is, or may be, pointed here: stop restores it
	takeDev bool // the number is another dev's and the user took it over
	hook    string
	tun     tunnel.Tunnel

	srv         *server.Server
	stopServing context.CancelFunc
	served      chan error // Serve's result; nil until the server runs

	tracer      *telemetry.Tracer // nil: traces off (no OTEL_* endpoint)
	stopTracing func()            // exports the last spans, bounded

	sip     bool    // transport sip, fixed at start (devsipserve.go)
	sipProv *devSIP // dev --sip: the webhook endpoint it created (devsip.go)
}

func newDevSession(f *Factory, o *devOptions) *devSession {
	stderr := &stderrAbove{w: f.IO.ErrOut}
	errOut := &syncWriter{w: stderr}
	st := newStyles(useColor(f.IO.ErrTTY, f.Env))
	approver := &terminalApprover{in: f.IO.In, out: errOut, tty: f.IO.ErrTTY}
	return &devSession{f: f, o: o, st: st, errOut: errOut, stderr: stderr, approver: approver, stopTracing: func() {},
		steps:  &stepper{w: errOut, tty: f.IO.ErrTTY, st: st, now: f.Now},
		agents: newAgentSource(o.ConfigPath, f.Env, o.agentOverrides, approver)}
}

// start loads the agents, opens the call log, puts back numbers a killed dev left
// pointed at itself, finds the number (failing before anything is opened), opens
// the tunnel, starts the server on it and points the number at it. The server runs
// once d.served is set, even when start then fails (pointing the number did).
func (d *devSession) start(ctx context.Context) error {
	o, st := d.o, d.st
	tr, stopTracing, err := startTracing(d.f, func() string { return d.agents.current().cfg.Model },
		newNSLogger(callevent.NSHTTP, d.errOut, d.st, o.filter, slog.LevelWarn))
	if err != nil {
		return err
	}
	d.tracer, d.stopTracing, d.agents.tracer = tr, stopTracing, tr
	loaded, err := d.agents.load()
	if err != nil {
		return err
	}
	d.sip = loaded.cfg.SIP()
	if err := d.startupChecks(ctx, loaded.cfg); err != nil { // doctor_startup.go; --skip-checks
		return err
	}
	if w := toolchainWarning(); w != "" {
		d.steps.note(st.Error.Render("!"), w)
	}
	if loaded.cfg.NeedsAsk() && !d.f.IO.ErrTTY {
		d.steps.note(st.Error.Render("!"), "tools that need approval will be denied: there is no terminal to ask")
	}
	d.calls = o.openCallRecord(d.f.Env, loaded.cfg, false, func(err error) { d.steps.note(st.Error.Render("!"), err.Error()) })
	// Every call is recorded (replayable with simulate --from-call): a directory
	// that cannot be written is found now, not after a call.
	if d.sip {
		d.noteSIP(loaded.cfg) // devsipserve.go: nothing to record
	} else if o.RecordDir, err = o.recordings.open(o.RecordDir, d.f.Env, d.f.Now(), func(err error) { d.steps.note(st.Error.Render("!"), err.Error()) }); err != nil {
		return err
	}
	d.startInspector(ctx) // devinspect.go
	if !o.NoProvision {
		if err := d.findNumber(ctx); err != nil {
			return err
		}
	}
	if err := d.openTunnel(ctx); err != nil {
		return err
	}
	if err := d.startServer(ctx); err != nil {
		return err
	}
	if o.PublicURL != "" {
		d.checkReachable(ctx, d.srv.PublicURL())
	}
	if d.sip {
		return d.startSIP(ctx) // devsipserve.go: the webhook endpoint, then the number on the SIP trunk
	}
	if o.NoProvision {
		return nil
	}
	// Marked as this dev's: another callagent, on any machine, recognises it.
	d.hook = d.prov.Mark(d.webhook())
	return d.steps.run("Pointing "+d.number.PhoneNumber+" at this machine", func() (string, error) {
		if err := d.prov.PointWith(ctx, d.number, d.hook, d.pointOptions()); err != nil {
			// Twilio may apply a change it did not confirm: stop restores the number.
			d.pointed = errors.Is(err, provision.ErrMaybeChanged)
			return "", err
		}
		d.pointed = true
		return d.number.PhoneNumber + " → " + d.hook, nil
	})
}

// checkRecordDir makes sure calls can be recorded to dir (created if missing, owner
// only) before any call is taken: a failure found when the first call ends loses
// its recording. serve's check; dev's is recordingOptions.open.
func checkRecordDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := checkWritable(dir); err != nil {
		return commandLineError(fmt.Errorf("--record-dir %s: calls cannot be recorded there (%w): choose a directory you can write to", sanitize(dir), unwrapPath(err)))
	}
	return nil
}

// unwrapPath is err without the path it names: the message names it already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (d *devSession) pointOptions() provision.PointOptions {
	return provision.PointOptions{TakeOver: d.o.TakeOver, TakeOverDev: d.o.TakeOver || d.takeDev,
		RestoreURL: d.o.RestoreURL, RestoreMethod: d.o.RestoreMethod}
}

// startServer serves calls on the tunnel until stop. The server's context is not
// ctx: the signal that cancels ctx must first put the number back, then drain.
func (d *devSession) startServer(ctx context.Context) error {
	o := d.o
	// Once stdout's reader is gone (dev --json | head -1), call events are dropped;
	// the number is still put back, with the steps on stderr.
	out := newEventOutput(&dropAfterError{w: d.f.IO.Out}, newStyles(useColor(d.f.IO.OutTTY, d.f.Env)), d.f.IO.OutTTY, o.JSON, o.filter, d.calls.red)
	if d.f.IO.OutTTY && d.f.IO.ErrTTY {
		// The call's lines, and dev's own on stderr, must not bury its questions.
		d.approver.board = out.onScreen(d.f.IO.ErrOut)
		d.stderr.show.Store(out)
	}
	srv, err := server.New(server.Config{
		PublicURL:             d.tun.URL(),
		AuthToken:             o.AuthToken,
		InsecureSkipSignature: o.InsecureSkipSignature,
		InsecureHTTPPublicURL: o.InsecureHTTPPublicURL,
		Dial:                  d.dial,
		Session: func(call server.CallInfo, so *session.Options) error {
			d.agents.current().rt.Setup(so)
			// Frames are recorded for the call log (callagent logs --debug twilio)
			// and shown when their namespace is enabled.
			so.Debug = d.calls.log != nil || o.frames()
			return nil
		},
		Logger:      newNSLogger(callevent.NSHTTP, d.errOut, d.st, o.filter, slog.LevelWarn),
		EventLogger: slog.New(slog.DiscardHandler), // the terminal renders events itself
		Redactor:    d.calls.red,
		OnEvent:     traced(d.tracer, d.inspected(d.calls.onEvent(out.event))),
		RecordPath:  o.recordings.recordPathPruning(o.RecordDir, d.f.Now),
		SIP:         d.sipServerConfig(), // nil unless transport sip
	})
	if err != nil {
		d.tun.Close()
		return &UsageError{Err: err}
	}
	d.srv = srv
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	d.stopServing, d.served = stopServing, make(chan error, 1)
	go func() { d.served <- srv.Serve(serveCtx, d.tun, devDrainTimeout) }()
	return nil
}

// webhook is the server's webhook URL; the number's voice URL is it marked (d.hook).
func (d *devSession) webhook() string {
	if d.sip {
		return d.srv.PublicURL() + server.PathSIPWebhook
	}
	return d.srv.PublicURL() + server.PathIncomingCall
}

// serve prints the banner and reloads the configuration when it changes, until
// ctx ends (the signal) or the server stops on its own.
func (d *devSession) serve(ctx context.Context) {
	hook := d.hook
	if hook == "" {
		hook = d.webhook()
	}
	d.banner(hook)
	watchCtx, stopWatching := context.WithCancel(context.WithoutCancel(ctx))
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		d.agents.watch(watchCtx, devReloadInterval, d.reloaded, d.reloadFailed)
	}()
	select {
	case <-ctx.Done():
	case err := <-d.served:
		d.served <- err // stop reads it again
	}
	stopWatching()
	<-watched // a reload in progress is not announced after the stop
}

// stop puts the number back first, so new calls go where they went before, then
// lets the calls in progress finish (devDrainTimeout) and closes the tunnel: Serve
// returns when both are done. startErr, if any, is reported with what stop finds.
func (d *devSession) stop(ctx context.Context, startErr error) error {
	var errs []error
	if startErr != nil {
		errs = append(errs, startErr)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(d.errOut, d.st.Dim.Render("Stopping… (Ctrl-C again quits at once; the number would then be restored on the next start)"))
	}
	if d.pointed {
		if err := d.restore(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := d.stopSIP(ctx); err != nil { // devsipserve.go: after the number is back
		errs = append(errs, err)
	}
	d.stopServing()
	if err := <-d.served; err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// findNumber restores numbers a killed dev left behind, then finds the number to
// use and checks that a voice URL would reach it.
func (d *devSession) findNumber(ctx context.Context) error {
	var err error
	if d.prov, err = newProvisioner(d.f.Env); err != nil {
		return err
	}
	restored, err := d.prov.RecoverCrashed(ctx)
	for _, r := range restored {
		if r.Skipped != "" {
			d.steps.note(d.st.Dim.Render("·"), fmt.Sprintf("%s was left pointed at callagent by a dev that did not stop cleanly; %s", sanitize(r.Number.PhoneNumber), sanitize(r.Skipped)))
			continue
		}
		d.steps.note(d.st.OK.Render("✓"), fmt.Sprintf("Put %s back (%s): a previous dev did not stop cleanly", sanitize(r.Number.PhoneNumber), sanitize(r.Number.Destination())))
	}
	if err != nil {
		d.steps.note(d.st.Error.Render("!"), err.Error())
	}
	err = d.steps.run("Finding your Twilio number", func() (string, error) {
		n, err := d.prov.Find(ctx, d.o.Number)
		if err != nil {
			return "", chooseNumber(err, "--number")
		}
		if err := d.pointable(ctx, n); err != nil {
			return "", err
		}
		d.number = n
		return fmt.Sprintf("Using %s (it now goes to %s)", sanitize(n.PhoneNumber), sanitize(n.Destination())), nil
	})
	if err != nil {
		return err
	}
	return d.checkOtherDev(ctx)
}

// checkOtherDev asks, before the number is touched, whether to take it from
// another callagent dev (another machine or state directory) that holds it. With
// no terminal to ask, the answer is --take-over.
func (d *devSession) checkOtherDev(ctx context.Context) error {
	err := d.prov.OtherDev(d.number, d.pointOptions())
	if err == nil || !d.f.IO.ErrTTY {
		return err
	}
	n := d.number
	restore := "that URL: the other dev, once stopped, or its next start on its machine, puts the original back"
	if d.o.RestoreURL != "" {
		restore = d.o.RestoreMethod + " " + d.o.RestoreURL + " (--restore-url)"
	}
	fmt.Fprintf(d.errOut, "%s %s is pointed at another callagent dev: %s\n"+
		"  It was set from another machine or state directory; what that dev saved of the number's settings is there, not here.\n"+
		"  Take it over? Calls then come here, and on exit the number goes back to %s.\n"+
		"  (--restore-url URL sets the original voice URL yourself.) [y/N] ",
		d.st.Error.Render("?"), sanitize(n.PhoneNumber), sanitize(n.Destination()), sanitize(restore))
	answer, rerr := readLine(ctx, d.f.IO.In)
	if rerr != nil {
		fmt.Fprintln(d.errOut)
		return err
	}
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return err
	}
	d.takeDev = true
	return nil
}

// readLine reads one line of in, or returns when ctx ends (the read then goes on
// until the line comes, for the life of the process).
func readLine(ctx context.Context, in io.Reader) (string, error) {
	if in == nil {
		return "", io.EOF
	}
	got := make(chan string, 1)
	failed := make(chan error, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 1)
		for {
			k, err := in.Read(buf)
			if k == 1 && buf[0] == '\n' {
				got <- b.String()
				return
			}
			b.Write(buf[:k])
			if err != nil {
				failed <- err
				return
			}
		}
	}()
	select {
	case line := <-got:
		return line, nil
	case err := <-failed:
		return "", err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (d *devSession) openTunnel(ctx context.Context) error {
	o := d.o
	if o.PublicURL != "" {
		return d.steps.run("Listening on "+o.Addr, func() (string, error) {
			var err error
			d.tun, err = tunnel.Local(ctx, o.Addr, o.PublicURL, o.InsecureHTTPPublicURL)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Listening on %s for %s", d.tun.Addr(), d.tun.URL()), nil
		})
	}
	opts := tunnel.NgrokOptions{
		Authtoken: o.NgrokToken, Domain: o.Domain, Timeout: o.NgrokTimeout, ClientVersion: d.f.Build.Version,
		Logger:     newNSLogger(callevent.NSTunnel, d.errOut, d.st, o.filter, slog.LevelError+100),
		ConnectURL: o.NgrokConnectURL,
		OnStatus: func(s tunnel.Status) {
			if s.Connected {
				d.steps.note(d.st.OK.Render("✓"), "ngrok connection is back")
				return
			}
			d.steps.note(d.st.Error.Render("!"), fmt.Sprintf("ngrok connection lost (%v): reconnecting; calls cannot reach you meanwhile", s.Err))
		},
	}
	if o.NgrokCAFile != "" {
		pem, err := os.ReadFile(o.NgrokCAFile)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("CALLAGENT_NGROK_CA: %w", err)}
		}
		opts.ConnectCAs = x509.NewCertPool()
		if !opts.ConnectCAs.AppendCertsFromPEM(pem) {
			return &UsageError{Err: fmt.Errorf("CALLAGENT_NGROK_CA: %s has no PEM certificate", o.NgrokCAFile)}
		}
	}
	return d.steps.run("Opening an ngrok tunnel", func() (string, error) {
		var err error
		d.tun, err = tunnel.Ngrok(ctx, opts)
		if err != nil {
			return "", err
		}
		return "Tunnel open: " + d.tun.URL(), nil
	})
}

// dial opens the model session of a call with the model of the current agents (a
// reload may change it).
func (d *devSession) dial(ctx context.Context, callSID string) (session.ModelLeg, error) {
	return d.o.dialer(d.agents.current().cfg, d.f.Build.Version)(ctx, callSID)
}

// checkReachable asks the public URL for /healthz: with --public-url, the proxy in
// front is the user's, and a wrong forward is easier to fix now than during a call.
func (d *devSession) checkReachable(ctx context.Context, public string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, public+server.PathHealth, nil)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	d.steps.note(d.st.Error.Render("!"), fmt.Sprintf("%s%s did not answer (%v): check that it forwards to %s",
		public, server.PathHealth, err, d.tun.Addr()))
}

// engineLine names the engine a call runs on, its model and what the model costs,
// with where the prices come from: callagent's table (dated) or callagent.yaml.
func engineLine(cfg *agent.Config) string {
	engine, extra := "Realtime API", ""
	if agent.LiveModel(cfg.Model) {
		engine, extra = "GPT-Live", " + the delegated backend's tokens"
	}
	basis, ok := cfg.Prices().Basis(cfg.Model)
	switch _, own := pricing.Table(cfg.Pricing).Lookup(cfg.Model); {
	case !ok:
		basis = "cost unknown: no price for this model (state one under pricing: in callagent.yaml)"
	case own:
		basis += extra + " (your prices, from callagent.yaml)"
	default:
		basis += extra + " (callagent's prices as of " + pricing.AsOf + ")"
	}
	return engine + " · " + cfg.Model + " · " + basis
}

// banner says the session is ready and how to use it.
func (d *devSession) banner(webhook string) {
	cfg := d.agents.current().cfg
	start := cfg.StartAgent()
	agentLine := sanitize(cfg.Summary())
	if start != nil {
		agentLine = fmt.Sprintf("%s · %s · voice %s", sanitize(start.Name), sanitize(cfg.Model), sanitize(string(start.Voice)))
		if n := len(cfg.Agents) - 1; n > 0 {
			agentLine += fmt.Sprintf(" · %s to hand off to", plural(n, "other agent"))
		}
	}
	row := func(k, v string) string { return "  " + d.st.Dim.Render(fmt.Sprintf("%-9s", k)) + " " + v + "\n" }
	var b strings.Builder
	b.WriteString("\n")
	switch {
	case d.sip:
		b.WriteString(d.st.OK.Render("Ready.") + " " + d.sipReadyLine() + "\n") // devsipserve.go
	case d.o.NoProvision:
		b.WriteString(d.st.OK.Render("Ready.") + " Set your number's voice webhook to the URL below (POST).\n")
	default:
		b.WriteString(d.st.OK.Render("Ready.") + " Call " + d.st.Caller.Render(sanitize(d.number.PhoneNumber)) + "\n")
	}
	b.WriteString(row("Agent", agentLine))
	b.WriteString(row("Engine", sanitize(engineLine(cfg))))
	b.WriteString(row("Webhook", sanitize(webhook)))
	if la := d.agents.current(); la.cfg.Path == "" {
		b.WriteString(row("Config", "the built-in agent"+d.st.Dim.Render(" (callagent init writes "+d.agents.path+"; saved, it is loaded for the next call)")))
	} else {
		b.WriteString(row("Config", sanitize(la.from)+d.st.Dim.Render(" (saving it reloads it for the next call)")))
	}
	if d.o.RecordDir != "" {
		b.WriteString(row("Records", sanitize(d.o.RecordDir)+d.st.Dim.Render(" (every call; replay one: callagent simulate --from-call CA…)")))
	}
	if d.insp != nil {
		b.WriteString(row("Inspect", sanitize(d.insp.url)))
	}
	if d.calls.log != nil {
		b.WriteString(row("Logs", "callagent logs -f"+d.st.Dim.Render(" in another terminal; callagent logs lists past calls")))
	}
	if d.o.NoProvision || d.sip && !d.sipProvisioning() {
		b.WriteString("  " + d.st.Dim.Render("Ctrl-C stops.") + "\n\n")
	} else {
		b.WriteString("  " + d.st.Dim.Render("Ctrl-C stops and puts the number back.") + "\n\n")
	}
	io.WriteString(d.errOut, b.String())
}

func (d *devSession) reloaded(la *loadedAgents) {
	updateRedactor(d.calls.red, d.f.Env, la.cfg, d.heldSecrets()...)
	d.steps.note(d.st.OK.Render("↻"), fmt.Sprintf("%s reloaded: %s; the next call gets it", la.from, la.cfg.Contents()))
}

func (d *devSession) reloadFailed(err error) {
	d.steps.note(d.st.Error.Render("✗"), fmt.Sprintf("%s has problems; calls keep the previous agents until it is fixed:\n%v",
		d.agents.path, err))
}

// restore puts the number back, with its own deadline: the signal that stops dev
// has cancelled ctx. When it fails, it says why and how to put the number back.
func (d *devSession) restore(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), devRestoreTimeout)
	defer cancel()
	n := d.number
	orig, serr := d.prov.Saved(n.SID) // the settings it goes back to
	if serr != nil {
		orig = n
	}
	err := d.steps.run("Putting "+n.PhoneNumber+" back", func() (string, error) {
		r, err := d.prov.Restore(rctx, n.SID)
		if err != nil {
			return "", err
		}
		if r.Skipped != "" {
			return fmt.Sprintf("Left %s as it is: %s", sanitize(n.PhoneNumber), sanitize(r.Skipped)), nil
		}
		msg := fmt.Sprintf("%s goes to %s again", sanitize(n.PhoneNumber), sanitize(r.Number.Destination()))
		if _, ok := provision.DevOf(r.Number.VoiceURL); ok {
			msg += " (the callagent dev it was taken from; that dev, or its next start, puts the original back)"
		}
		return msg, nil
	})
	if err != nil {
		fmt.Fprintf(d.errOut, "  %s\n  %s\n    callagent numbers --restore\n  %s\n    %s\n",
			sanitize(err.Error()),
			"It may still go to this dev's URL, which stops answering now. Put it back, once Twilio answers again, with:",
			"or with Twilio's API (its settings from before dev):",
			sanitize(restoreCommand(d.f.Env.Get("CALLAGENT_TWILIO_API_URL"), orig)))
	}
	return err
}

// restoreCommand is the curl command that sets n's saved voice settings through
// Twilio's REST API. Credentials are left to the shell's variables: the command
// holds no secret.
func restoreCommand(apiBase string, n provision.Number) string {
	if apiBase == "" {
		apiBase = "https://api.twilio.com"
	}
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	var b strings.Builder
	fmt.Fprintf(&b, `curl -sS -X POST "%s/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/IncomingPhoneNumbers/%s.json" -u "$TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN"`,
		strings.TrimSuffix(apiBase, "/"), n.SID)
	for _, kv := range [][2]string{{"VoiceUrl", n.VoiceURL}, {"VoiceMethod", orPOST(n.VoiceMethod)},
		{"VoiceFallbackUrl", n.VoiceFallbackURL}, {"VoiceApplicationSid", n.VoiceApplicationSID}} {
		fmt.Fprintf(&b, " --data-urlencode %s", q(kv[0]+"="+kv[1]))
	}
	return b.String()
}

func orPOST(method string) string {
	if method == "" {
		return http.MethodPost
	}
	return method
}
