// Package server is the HTTP side of callagent, shared by serve, dev and simulate:
// the Twilio webhook that answers calls with TwiML (and dials the model while it
// answers), the Media Streams endpoint that runs each call's session, signature
// checks, limits, health and metrics, and a graceful drain.
//
// It wires the leaves together (twiliotransport for the stream, realtime through the
// Dial function, session for the call); it does not know about tunnels, phone number
// provisioning or the terminal.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/callagent/callagent/internal/publicurl"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/livebridge"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
)

// Paths served.
const (
	PathIncomingCall = "/incoming-call"
	PathMediaStream  = "/media-stream"
	PathStreamEnded  = "/stream-ended"
	PathStreamStatus = "/stream-status"
	PathHealth       = "/healthz"
	PathReady        = "/readyz"
	PathMetrics      = "/metrics"
)

// DialFunc opens a model session for a call.
type DialFunc func(ctx context.Context, callSID string) (session.ModelLeg, error)

// RealtimeDialer returns a DialFunc that connects to the OpenAI Realtime API for each
// call with opts.
func RealtimeDialer(opts realtime.DialOptions) DialFunc {
	return func(ctx context.Context, callSID string) (session.ModelLeg, error) {
		conn, err := realtime.Dial(ctx, opts)
		if err != nil {
			return nil, err // not conn: a typed nil would look like a leg
		}
		return conn, nil
	}
}

// LiveDialer returns a DialFunc that connects to OpenAI's GPT-Live for each call
// with opts: the call runs on the Live engine through a livebridge.Leg.
func LiveDialer(opts livebridge.Options) DialFunc {
	return func(ctx context.Context, callSID string) (session.ModelLeg, error) {
		leg, err := livebridge.Dial(ctx, opts)
		if err != nil {
			return nil, err // not leg: a typed nil would look like a leg
		}
		return leg, nil
	}
}

// CallInfo is what the server knows of a call when its session is set up.
type CallInfo struct {
	CallSID    string
	From, To   string
	Parameters map[string]string
}

// Config configures a Server.
type Config struct {
	// PublicURL is the https URL Twilio reaches this server at (a tunnel or the load
	// balancer); TwiML stream URLs and signature checks are built from it.
	PublicURL string
	// AuthToken is the Twilio auth token that signs requests. Without one the server
	// refuses to start unless InsecureSkipSignature is set.
	AuthToken             string
	InsecureSkipSignature bool
	// InsecureHTTPPublicURL accepts an http PublicURL. Its TwiML names a ws://
	// stream URL, which Twilio refuses: for tests on loopback and local experiments
	// with a simulated caller only.
	InsecureHTTPPublicURL bool

	// Dial opens the model leg (required).
	Dial DialFunc
	// Session fills in the options of each call's session: the agent, tools, approver.
	// Caller, Dial and OnEvent are set by the server.
	Session func(call CallInfo, opts *session.Options) error

	// MaxCalls limits concurrent calls (0: no limit); over it calls are rejected as busy.
	// An answered webhook whose stream has not started yet holds a place.
	MaxCalls int
	// PredialTTL is the pre-dial window: how long an answered webhook waits for its
	// stream, with the model session dialed for it and its stream credential (a
	// stream that starts later is refused). Default 15s.
	PredialTTL time.Duration
	// MaxPredials bounds the model sessions dialed for webhooks whose stream has not
	// started (default MaxCalls, or 100 without MaxCalls). A webhook over it is still
	// answered; its stream dials the model when it starts.
	MaxPredials int
	// WarmSessions, when positive, keeps up to this many model sessions dialed
	// ahead of demand on this instance (warm.go): a media stream takes one
	// whichever instance answered its webhook, and the webhook dials nothing. Zero:
	// the webhook pre-dials for its call (MaxPredials), which only helps when the
	// stream reaches the same instance (one instance, or a tunnel).
	WarmSessions int
	// WarmMin is the fewest warm sessions kept while the instance is idle (default
	// 1, at most WarmSessions).
	WarmMin int
	// WarmMaxAge recycles a warm session no stream took (default 2m): the model's
	// session lifetime (60 minutes for Realtime) runs from the dial.
	WarmMaxAge time.Duration
	// LiveDial says Dial opens GPT-Live legs (LiveDialer's). Warm sessions do
	// not apply to them (warm.go): WarmSessions is then ignored, and each call
	// dials its own model session when its webhook is answered.
	LiveDial bool
	// ApologyMessage is said when a call ends because the model failed (default set;
	// "-" for silence).
	ApologyMessage string

	// Logger receives the server's own messages (refused requests, shutdown; each
	// request at debug) and one line per call event that matters (default: discard).
	Logger *slog.Logger
	// EventLogger, when set, receives the call event lines instead of Logger (dev
	// renders events itself and passes a discarding logger).
	EventLogger *slog.Logger
	// Redactor removes secrets from event lines (nil: the built-in patterns only).
	Redactor *calllog.Redactor
	// OmitTranscripts keeps what callers, agents and tools said out of event lines.
	OmitTranscripts bool
	// Registerer receives the server's metrics (default: a new registry).
	Registry *prometheus.Registry
	// MetricsListener, when set, is where Serve serves /metrics (and only that),
	// until it returns: a port the load balancer or tunnel does not reach.
	MetricsListener net.Listener
	// PublicMetrics serves /metrics on the public listener too, beside the
	// webhooks (serve without --metrics-addr, as before). Off by default: dev's
	// listener is the tunnel, which anyone who finds its URL reaches.
	PublicMetrics bool
	// OnEvent receives every call event after the server's own handling (the dev
	// terminal, the call log). It runs on the call's event goroutine, or for the
	// server's own events (webhooks, stream status callbacks) on the request's: it
	// is called concurrently and must be safe for that.
	OnEvent func(callevent.Event)
	// RecordPath, when set, names the WAV file each call is recorded to ("" for none):
	// stereo, caller left and agent right, as heard.
	RecordPath func(call CallInfo) string
	// Now is the clock (default time.Now).
	Now func() time.Time

	// ReadHeaderTimeout bounds reading a request's headers, the WebSocket upgrade
	// request included (default 10s).
	ReadHeaderTimeout time.Duration
	// BodyReadTimeout bounds reading the rest of a request, its body, from the end
	// of its headers (default 10s). Twilio's webhooks are a few hundred bytes; a
	// client that stalls is cut off. It ends at a WebSocket upgrade: the media
	// stream then waits at most StreamStartTimeout for its start message and is the
	// call's after.
	BodyReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no new request
	// (default 75s: longer than a load balancer's usual 60s, so the balancer, which
	// reuses the connection, is the side that closes it).
	IdleTimeout time.Duration
	// MaxWebhookBody bounds a webhook's body in bytes (default 64 KiB); a larger
	// one is refused with 413.
	MaxWebhookBody int64
	// WriteTimeout bounds writing the answer to a request that is not a WebSocket
	// upgrade, from the request's start (default 30s): a client that does not read
	// its answer (a large /metrics) is cut off. Media streams are not bounded by it.
	WriteTimeout time.Duration
	// StreamStartTimeout bounds the wait for a media stream's start message after
	// the upgrade (default 10s); a stream that sends none is closed.
	StreamStartTimeout time.Duration
	// MaxConns bounds the connections Serve serves at once, media streams
	// included (default DefaultMaxConns of the process's open-file limit; negative:
	// none). Over it new connections wait in the kernel's backlog.
	MaxConns int

	// SIP, when set, makes the server the control plane of calls OpenAI answers
	// over SIP (sip.go) instead of Twilio Media Streams: AuthToken and Dial are
	// not needed, and the Twilio routes are not served.
	SIP *SIPConfig
}

const (
	defaultPredialTTL = 15 * time.Second
	// actionGrace keeps the listener open after the last call of a drain for
	// Twilio's request about how the call goes on; shutdownTimeout bounds the
	// ordinary requests still running then.
	actionGrace              = 2 * time.Second
	shutdownTimeout          = 5 * time.Second
	defaultApology           = "Sorry, the assistant ran into a problem. Please call again in a moment. Goodbye."
	defaultMaxWebhookBody    = 64 << 10
	endedReasonsKept         = 1024
	defaultBodyReadTimeout   = 10 * time.Second
	defaultStreamStart       = 10 * time.Second
	defaultWriteTimeout      = 30 * time.Second
	defaultMaxPredials       = 100
	defaultReadHeaderTimeout = 10 * time.Second
	defaultIdleTimeout       = 75 * time.Second
	predialFailureCleanup    = time.Minute
)

// Server serves calls. Create it with New, then Serve or mount Handler.
type Server struct {
	cfg     Config
	public  *url.URL
	verify  *verifier
	log     *slog.Logger
	elog    *slog.Logger // call events
	reg     *prometheus.Registry
	metrics *metrics
	now     func() time.Time

	draining atomic.Bool
	refusals refusalLog // WARN lines of refused requests, rate-limited

	mu       sync.Mutex
	closing  bool                      // past the drain: no new calls or pre-dials
	pending  map[string]*pendingStream // answered webhooks whose stream has not started
	calls    map[string]*session.Session
	ended    map[string]callevent.EndReason // recent endings, for the Connect action
	endedLog []string

	// Under mu too: see streams.go.
	predialing int // pending calls with a pre-dial
	starting   int // streams admitted, not yet calls
	taken      int // calls registered, ever
	seen       seenCalls

	wg sync.WaitGroup // pre-dial goroutines and call handlers

	connLimit *limitListener // Serve's, with MaxConns
	warm      *warmPool      // nil unless WarmSessions > 0

	sipSeen sipSeen // under mu: SIP webhooks and calls taken (sip.go)
}

// ErrNoAuthToken is returned by New without an auth token or InsecureSkipSignature.
var ErrNoAuthToken = errors.New("TWILIO_AUTH_TOKEN is not set: without it anyone who finds the URL can place calls " +
	"on your OpenAI account. Export it (or put it in .env), or pass --insecure-skip-signature for local experiments")

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	warmOnlyRealtime(&cfg)
	if cfg.SIP != nil {
		sc := *cfg.SIP
		cfg.SIP = &sc
		if err := checkSIP(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.Dial == nil {
		return nil, errors.New("server: Config.Dial is required")
	}
	pub, err := parsePublicURL(cfg.PublicURL, cfg.InsecureHTTPPublicURL)
	if err != nil {
		return nil, err
	}
	if cfg.AuthToken == "" && !cfg.InsecureSkipSignature && cfg.SIP == nil {
		return nil, ErrNoAuthToken
	}
	if cfg.PredialTTL <= 0 {
		cfg.PredialTTL = defaultPredialTTL
	}
	if cfg.ApologyMessage == "" {
		cfg.ApologyMessage = defaultApology
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = defaultReadHeaderTimeout
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = defaultBodyReadTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.MaxWebhookBody <= 0 {
		cfg.MaxWebhookBody = defaultMaxWebhookBody
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = defaultWriteTimeout
	}
	if cfg.StreamStartTimeout <= 0 {
		cfg.StreamStartTimeout = defaultStreamStart
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns(openFileLimit())
	}
	if cfg.MaxPredials <= 0 {
		cfg.MaxPredials = DefaultMaxPredials(cfg.MaxCalls)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		// Go's and the process's own (go_*, process_*): what an operator sizes an
		// instance with beside the calls (resident memory, goroutines, GC).
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	elog := cfg.EventLogger
	if elog == nil {
		elog = log
	}
	s := &Server{
		cfg: cfg, public: pub, log: log, elog: elog, reg: reg, metrics: newMetrics(reg), now: cfg.Now,
		pending: map[string]*pendingStream{}, seen: seenCalls{streamed: map[string]bool{}},
		calls: map[string]*session.Session{}, ended: map[string]callevent.EndReason{},
	}
	if cfg.AuthToken != "" {
		s.verify = newVerifier(pub, cfg.AuthToken)
	}
	if cfg.WarmSessions > 0 {
		if s.cfg.WarmMin <= 0 {
			s.cfg.WarmMin = 1
		}
		if s.cfg.WarmMaxAge <= 0 {
			s.cfg.WarmMaxAge = defaultWarmMaxAge
		}
		s.warm = newWarmPool(s, reg)
	}
	return s, nil
}

func parsePublicURL(raw string, allowHTTP bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("the public URL is not set: pass --public-url (or CALLAGENT_PUBLIC_URL) with the https URL Twilio reaches this server at")
	}
	parse := publicurl.Parse
	if allowHTTP {
		parse = publicurl.ParseInsecureHTTP
	}
	s, err := parse(raw)
	if err != nil {
		return nil, err
	}
	return url.Parse(s)
}

// PublicURL returns the public base URL.
func (s *Server) PublicURL() string { return s.public.String() }

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.cfg.SIP != nil {
		mux.HandleFunc("POST "+PathSIPWebhook, s.sipWebhook) // sip.go: no Twilio route
	} else {
		mux.HandleFunc("GET "+PathIncomingCall, s.incomingCall)
		mux.HandleFunc("POST "+PathIncomingCall, s.incomingCall)
		mux.HandleFunc("GET "+PathStreamEnded, s.streamEnded)
		mux.HandleFunc("POST "+PathStreamEnded, s.streamEnded)
		mux.HandleFunc("GET "+PathStreamStatus, s.streamStatus)
		mux.HandleFunc("POST "+PathStreamStatus, s.streamStatus)
		mux.HandleFunc("GET "+PathMediaStream, s.mediaStream)
	}
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+PathReady, func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if s.cfg.PublicMetrics && s.cfg.MetricsListener == nil {
		mux.Handle("GET "+PathMetrics, s.metricsHandler())
	}
	return s.logRequests(s.boundReads(mux))
}

// metricsHandler serves the registry in Prometheus' text format.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
}

// serveMetrics serves /metrics on Config.MetricsListener until the returned stop
// is called, which closes the listener and waits for its goroutine. Scrapes are
// GETs without a body: headers and the whole request are bounded like the public
// listener's.
func (s *Server) serveMetrics() (stop func()) {
	ln := s.cfg.MetricsListener
	if ln == nil {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+PathMetrics, s.metricsHandler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, ReadTimeout: s.cfg.BodyReadTimeout,
		IdleTimeout: s.cfg.IdleTimeout, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("metrics listener stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
	return func() {
		_ = hs.Close() // a scrape in flight is cut: the process is leaving
		<-done
	}
}

// isUpgrade tells a WebSocket upgrade request (a media stream).
func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// boundReads gives every request BodyReadTimeout to send the rest of itself after
// its headers: a body that stalls (slowloris) gets its connection closed, on every
// route, including bodies no handler reads (net/http discards them after the
// handler). The media stream's upgrade hijacks the connection, which clears the
// deadline: a call is never cut by it. Webhooks clear it once their body is read.
// Every request but an upgrade also gets WriteTimeout to take its answer
// (http.Server.WriteTimeout would cut the streams).
func (s *Server) boundReads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An error means a ResponseWriter without deadlines (a test recorder, an
		// HTTP/2 stream mounted elsewhere): nothing to bound there.
		rc := http.NewResponseController(w)
		now := time.Now() // the wall clock: Config.Now may be a test's
		_ = rc.SetReadDeadline(now.Add(s.cfg.BodyReadTimeout))
		if !isUpgrade(r) {
			// Set for every request: net/http would keep one request's deadline
			// on the connection for the next.
			_ = rc.SetWriteDeadline(now.Add(s.cfg.WriteTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// ActiveCalls returns the number of calls in progress (streams running).
func (s *Server) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Serve serves on ln until ctx is cancelled, then drains: it stops accepting calls,
// reports not ready, lets calls in progress (and calls answered whose stream has not
// started yet) finish for up to drainTimeout, ends the rest cleanly, and returns once every call and goroutine is done. The listener
// stays open until then: /readyz answers 503 to the load balancer, a new call is
// answered busy, and Twilio's request after each stream still arrives (the apology
// after a shutdown). Closing it first would also close an ngrok tunnel, and every
// call on it.
func (s *Server) Serve(ctx context.Context, ln net.Listener, drainTimeout time.Duration) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	stopMetrics := s.serveMetrics() // through the drain: the drain shows in the metrics
	defer stopMetrics()
	if s.cfg.MaxConns > 0 {
		s.connLimit = newLimitListener(ln, s.cfg.MaxConns)
		ln = s.connLimit
	}
	if s.warm != nil {
		s.warm.start() // stopped by Drain
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.draining.Store(true)
	active, inFlight := s.ActiveCalls(), s.inFlight()
	s.log.Info("shutting down: draining calls", "active_calls", active, "pending_streams", inFlight-active, "drain_timeout", drainTimeout)
	calls := s.callsTaken()
	drainCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	s.Drain(drainCtx)
	if (active > 0 || s.callsTaken() > calls) && serveErr == nil {
		// Twilio asks what to do right after each stream ends.
		select {
		case <-time.After(actionGrace):
		case serveErr = <-errc:
		}
	}
	// Shutdown closes the listener and waits for ordinary requests; hijacked
	// WebSockets are the calls, which Drain has ended.
	shutCtx, cancelShut := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancelShut()
	if err := hs.Shutdown(shutCtx); err != nil {
		s.log.Warn("http shutdown", "error", err)
	}
	if serveErr == nil {
		serveErr = <-errc
	}
	s.flushRefusals()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// Drain marks the server not ready, waits until ctx ends for calls to finish, then
// ends the remaining calls (reason server_shutdown) and waits for everything. The
// calls it waits for include answered webhooks whose stream has not started: their
// stream is still taken, for up to the pre-dial window, and the call runs.
func (s *Server) Drain(ctx context.Context) {
	s.draining.Store(true)
	if s.warm != nil {
		s.warm.stop() // streams still to come dial their own
	}
wait:
	for s.inFlight() > 0 {
		select {
		case <-ctx.Done():
			break wait
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.mu.Lock()
	s.closing = true
	for _, sess := range s.calls {
		sess.End(callevent.EndServerShutdown, nil)
	}
	for _, p := range s.pending {
		s.dropPendingLocked(p)
		p.stopTimer(s)
		if p.pre != nil {
			p.pre.release()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}
