package cmd

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/tunnel"
)

type serveOptions struct {
	Addr                  string
	MetricsAddr           string
	PublicURL             string
	MaxCalls              int
	DrainTimeout          time.Duration
	LogFormat             string
	LogLevel              string
	RecordDir             string
	InsecureSkipSignature bool
	InsecureHTTPPublicURL bool
	LogTranscripts        bool
	commonOptions
	agentOverrides
	listenLimits
	startupChecks
	warmOptions

	// From the environment (or .env), never from flags: secrets stay out of argv.
	AuthToken     string
	WebhookSecret string // OPENAI_WEBHOOK_SECRET, for transport sip
}

const defaultDrainTimeout = 30 * time.Second

// metricsOff is the --metrics-addr that serves no metrics.
const metricsOff = "off"

// newServeCmd builds the serve command; runF, when not nil, replaces serveRun (tests
// check argv → options with it).
func newServeCmd(f *Factory, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the production server: Twilio webhook and media streams to OpenAI Realtime",
		Long: `Run callagent as a server behind a public URL (a load balancer, an ingress, a tunnel).

Point your Twilio number's voice webhook at PUBLIC_URL/incoming-call (POST). Every request
is checked against X-Twilio-Signature with TWILIO_AUTH_TOKEN. Calls are independent: run as
many instances as you need behind a load balancer. On SIGTERM the server stops taking calls,
reports not ready on /readyz, lets calls in progress finish (up to --drain-timeout) and exits.

Environment: OPENAI_API_KEY (required), OPENAI_BASE_URL, TWILIO_AUTH_TOKEN, PORT, and
CALLAGENT_<FLAG> for any flag. A .env file in the working directory is read too.
Logs are JSON lines on stdout (text on a terminal); /healthz and /readyz are served, and
/metrics (Prometheus) on --addr too unless --metrics-addr moves it to a listener of its own
(then /metrics on --addr answers 404) or turns it off.`,
		Example: `  # behind https://calls.example.com, signatures checked
  export OPENAI_API_KEY=sk-... TWILIO_AUTH_TOKEN=...
  callagent serve --public-url https://calls.example.com --addr :5050 --max-calls 50

  # in a container: listens on $PORT; metrics on a port the load balancer does not route
  PORT=8080 CALLAGENT_PUBLIC_URL=https://calls.example.com callagent serve --metrics-addr :9090`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.resolve(cmd, f.Env); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), f, opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.Addr, "addr", tunnel.DefaultAddr, "address to listen on (default loopback only; $PORT listens on all interfaces)")
	fl.StringVar(&opts.MetricsAddr, "metrics-addr", "", "serve /metrics on this address only, e.g. 127.0.0.1:9090 or :9090 for a scraper on the pod network\n"+
		"(default: on --addr, beside the webhooks, as before; \"off\": not at all)")
	fl.StringVar(&opts.PublicURL, "public-url", "", "the https URL Twilio reaches this server at (required)")
	opts.commonOptions.flags(fl, commonUsage{config: "agent configuration file (callagent.yaml)",
		debug: debugFlagUsage + "; twilio and realtime also record each call's frames"})
	opts.agentOverrides.flags(fl)
	fl.IntVar(&opts.MaxCalls, "max-calls", 0, "concurrent calls accepted; more are answered busy (0: no limit)")
	fl.DurationVar(&opts.DrainTimeout, "drain-timeout", defaultDrainTimeout, "on shutdown, how long calls in progress may go on")
	opts.listenLimits.flags(fl)
	opts.warmOptions.flags(fl)
	opts.startupChecks.flags(fl)
	fl.StringVar(&opts.LogFormat, "log-format", "auto", "json or text (auto: json unless stdout is a terminal)")
	fl.StringVar(&opts.LogLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&opts.RecordDir, "record-dir", "", "record each call to DIR/<CallSid>.wav (stereo: caller left, agent right)")
	fl.BoolVar(&opts.InsecureSkipSignature, "insecure-skip-signature", false, "accept requests without a valid X-Twilio-Signature (never in production)")
	fl.BoolVar(&opts.InsecureHTTPPublicURL, insecureHTTPFlag, false, insecureHTTPUsage)
	fl.BoolVar(&opts.LogTranscripts, "log-transcripts", true, "log what callers, agents and tools say (false: only that they spoke)")
	flagEnvHelp(fl)
	return c
}

// resolve completes the options from the environment: CALLAGENT_* for unset flags,
// PORT for the address, and the secrets.
func (o *serveOptions) resolve(cmd *cobra.Command, env *Env) error {
	if err := o.commonOptions.resolve(cmd, env); err != nil {
		return err
	}
	if err := o.agentOverrides.resolve(cmd); err != nil {
		return err
	}
	addrFrom := "--addr"
	if !cmd.Flags().Changed("addr") && env.Get(envName("addr")) == "" {
		if port := env.Get("PORT"); port != "" {
			o.Addr, addrFrom = ":"+port, "PORT" // a platform that sets PORT routes to it from outside
		}
	}
	if err := checkListenAddr(addrFrom, o.Addr); err != nil {
		return err
	}
	o.AuthToken = env.Get("TWILIO_AUTH_TOKEN")
	o.WebhookSecret = env.Get(envWebhookSecret)
	if o.SIP && o.RecordDir != "" {
		return sipRecordError()
	}
	var err error
	if o.PublicURL != "" {
		if o.PublicURL, err = parsePublicURL(o.PublicURL, o.InsecureHTTPPublicURL); err != nil {
			return err
		}
	}
	if o.DrainTimeout <= 0 {
		return usageErrorf("--drain-timeout must be positive")
	}
	if o.MaxCalls < 0 {
		return usageErrorf("--max-calls cannot be negative")
	}
	if o.MetricsAddr != "" && o.MetricsAddr != metricsOff {
		if _, _, err := net.SplitHostPort(o.MetricsAddr); err != nil {
			return usageErrorf("--metrics-addr %q is not host:port (say 127.0.0.1:9090 or :9090), or \"off\"", o.MetricsAddr)
		}
		if o.MetricsAddr == o.Addr {
			return usageErrorf("--metrics-addr is --addr: leave it unset to serve /metrics beside the webhooks, or give another port")
		}
	}
	if err := o.listenLimits.check(); err != nil {
		return err
	}
	if err := o.warmOptions.check(); err != nil {
		return err
	}
	// Checked here as well as by newLogger, so that a mistake is found with the
	// other flags' and before anything is loaded.
	if _, err := parseLogLevel(o.LogLevel); err != nil {
		return err
	}
	if _, err = parseLogFormat(o.LogFormat); err != nil {
		return err
	}
	return o.missingSettings() // all at once: doctor_startup.go
}

func serveRun(ctx context.Context, f *Factory, opts *serveOptions) error {
	log, err := newLogger(f.IO.Out, opts.LogFormat, opts.LogLevel, f.IO.OutTTY, opts.filter)
	if err != nil {
		return err
	}
	var model string // the configuration's, once loaded: the call span's
	tracer, stopTracing, err := startTracing(f, func() string { return model }, log)
	if err != nil {
		return err
	}
	defer stopTracing() // after the calls: Serve returns when they are over
	src := newAgentSource(opts.ConfigPath, f.Env, opts.agentOverrides, nil)
	src.tracer = tracer
	loaded, err := src.load()
	if err != nil {
		return err
	}
	cfg := loaded.cfg
	model = cfg.Model
	if err := checkRecordDir(opts.RecordDir); err != nil {
		return err
	}
	if err := opts.startupChecks.serve(ctx, f, &opts.commonOptions, cfg, log); err != nil { // doctor_startup.go; --skip-checks
		return err
	}
	if w := toolchainWarning(); w != "" {
		log.Warn(w)
	}
	tuneServeGC(f.Env) // servegc.go
	if cfg.NeedsAsk() && cfg.Approval.Webhook == "" {
		log.Warn("tools that need approval will be denied: set approval.webhook in the configuration (or approval.policy)")
	}
	calls := opts.openCallRecord(f.Env, cfg, !opts.LogTranscripts, func(err error) { log.Warn(err.Error()) })
	defer calls.close()
	frames := opts.frames()
	var mln net.Listener // --metrics-addr: /metrics there, not on --addr
	if opts.MetricsAddr != "" && opts.MetricsAddr != metricsOff {
		if mln, err = net.Listen("tcp", opts.MetricsAddr); err != nil {
			return fmt.Errorf("listen on %s (--metrics-addr): %w", opts.MetricsAddr, err)
		}
	}
	scfg := server.Config{
		PublicURL:             opts.PublicURL,
		AuthToken:             opts.AuthToken,
		InsecureSkipSignature: opts.InsecureSkipSignature,
		InsecureHTTPPublicURL: opts.InsecureHTTPPublicURL,
		Dial:                  opts.dialer(cfg, f.Build.Version),
		LiveDial:              agent.LiveModel(cfg.Model), // the dialer's engine: no warm sessions for GPT-Live
		Session: func(call server.CallInfo, so *session.Options) error {
			loaded.rt.Setup(so)
			so.Debug = frames
			return nil
		},
		MaxCalls:        opts.MaxCalls,
		PublicMetrics:   opts.MetricsAddr == "",
		MetricsListener: mln,
		Logger:          log,
		Redactor:        calls.red,
		OmitTranscripts: !opts.LogTranscripts,
		OnEvent:         traced(tracer, calls.onEvent(nil)),
		RecordPath:      recordPath(opts.RecordDir),
	}
	opts.listenLimits.apply(&scfg)
	opts.warmOptions.apply(&scfg)
	if cfg.SIP() {
		scfg.SIP = opts.sipServerConfigFor(cfg, f.Build.Version, opts.WebhookSecret)
		for _, n := range cfg.SIPNotes() {
			log.Info(n)
		}
	}
	srv, err := server.New(scfg)
	if err != nil {
		if mln != nil {
			mln.Close()
		}
		return &UsageError{Err: err}
	}
	if opts.InsecureSkipSignature && !cfg.SIP() {
		fmt.Fprintln(f.IO.ErrOut, "WARNING: --insecure-skip-signature: requests are NOT checked against X-Twilio-Signature.\n"+
			"Anyone who finds this URL can place calls that spend your OpenAI credits. Never use this in production.")
		log.Warn("signature checks are disabled (--insecure-skip-signature)")
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		if mln != nil {
			mln.Close()
		}
		return fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	metrics := "http://" + ln.Addr().String() + server.PathMetrics
	switch {
	case mln != nil:
		metrics = "http://" + mln.Addr().String() + server.PathMetrics
	case opts.MetricsAddr == metricsOff:
		metrics = "off"
	}
	hook := []any{"voice_webhook", srv.PublicURL() + server.PathIncomingCall}
	if cfg.SIP() {
		hook = []any{"transport", agent.TransportSIP, "openai_webhook", srv.PublicURL() + server.PathSIPWebhook}
	}
	log.Info("callagent serving", append(append([]any{"version", f.Build.Version, "listen", ln.Addr().String(), "metrics", metrics},
		hook...), "model", cfg.Model, "agents", cfg.Summary(),
		"max_calls", opts.MaxCalls, "signatures", !opts.InsecureSkipSignature || cfg.SIP())...)
	return srv.Serve(ctx, ln, opts.DrainTimeout)
}

// recordPath records each call to dir/<CallSid>.wav; nil when dir is empty.
func recordPath(dir string) func(server.CallInfo) string {
	if dir == "" {
		return nil
	}
	return func(call server.CallInfo) string {
		return filepath.Join(dir, filepath.Base(call.CallSID)+".wav")
	}
}
