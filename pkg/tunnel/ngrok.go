package tunnel

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.ngrok.com/ngrok/v2"
)

// NgrokOptions configure an ngrok endpoint.
type NgrokOptions struct {
	// Authtoken is NGROK_AUTHTOKEN (required).
	Authtoken string
	// Domain is a domain reserved in the ngrok dashboard (agent.ngrok.app, with or
	// without https://). Empty: the account's default domain.
	Domain string
	// Timeout bounds connecting and binding (default 20s). The ngrok agent retries
	// forever without network; callagent gives up and says why.
	Timeout time.Duration
	// Logger receives the ngrok library's own logs (default: discarded).
	Logger *slog.Logger
	// OnStatus is told when the session drops and comes back after it was up.
	OnStatus func(Status)
	// ClientVersion is reported to ngrok as callagent's version.
	ClientVersion string

	// ConnectURL and ConnectCAs replace ngrok's service address and its CA
	// (self-hosted ngrok, and tests). Dial replaces the network dialer.
	ConnectURL string
	ConnectCAs *x509.CertPool
	Dial       func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Status is a change of the ngrok session's state after it first connected.
type Status struct {
	Connected bool
	Err       error // why it dropped, when !Connected
}

// DefaultNgrokTimeout bounds connecting to ngrok and binding the endpoint.
const DefaultNgrokTimeout = 20 * time.Second

// ErrNoAuthtoken is returned by Ngrok without a token.
var ErrNoAuthtoken = errors.New("NGROK_AUTHTOKEN is not set: copy your authtoken from " +
	"https://dashboard.ngrok.com/get-started/your-authtoken into .env (NGROK_AUTHTOKEN=...) or the environment, " +
	"or skip ngrok with --public-url https://your.host (Cloudflare Tunnel or any proxy forwarding to --addr)")

// NgrokError is a refusal from the ngrok service, with its code (ERR_NGROK_105)
// and what to do about it.
type NgrokError struct {
	Code    string
	Message string // ngrok's message, first line, authtoken removed
	Fix     string
}

func (e *NgrokError) Error() string {
	s := "ngrok: " + e.Message
	if e.Code != "" {
		s += " (" + e.Code + ", https://ngrok.com/docs/errors/" + strings.ToLower(e.Code) + ")"
	}
	if e.Fix != "" {
		s += ": " + e.Fix
	}
	return s
}

var ngrokCode = regexp.MustCompile(`ERR_NGROK_\d+`)

// Ngrok connects to the ngrok service and opens an HTTPS endpoint whose
// connections Accept returns. Close ends the endpoint and the session.
func Ngrok(ctx context.Context, o NgrokOptions) (Tunnel, error) {
	token := strings.TrimSpace(o.Authtoken)
	if token == "" {
		return nil, ErrNoAuthtoken
	}
	endpointURL, err := domainURL(o.Domain)
	if err != nil {
		return nil, err
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultNgrokTimeout
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}

	t := &ngrokTunnel{token: token, onStatus: o.OnStatus, refused: make(chan error, 1)}
	opts := []ngrok.AgentOption{
		ngrok.WithAuthtoken(token),
		ngrok.WithLogger(logger),
		ngrok.WithEventHandler(t.event),
		ngrok.WithClientInfo("callagent", orDefault(o.ClientVersion, "dev")),
		ngrok.WithAgentDescription("callagent dev"),
	}
	if o.ConnectURL != "" {
		if err := checkConnectURL(o.ConnectURL); err != nil {
			return nil, err
		}
		opts = append(opts, ngrok.WithAgentConnectURL(o.ConnectURL))
	}
	if o.ConnectCAs != nil {
		opts = append(opts, ngrok.WithAgentConnectCAs(o.ConnectCAs))
	}
	if o.Dial != nil {
		opts = append(opts, ngrok.WithDialer(dialFunc(o.Dial)))
	}
	agent, err := ngrok.NewAgent(opts...)
	if err != nil {
		return nil, fmt.Errorf("ngrok: %w", err)
	}
	t.agent = agent

	// The context given to Connect lives as long as the session: the library closes
	// the session when it ends. So the deadline is kept here, not in that context.
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t.cancel = cancel
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()

	connected := make(chan error, 1)
	go func() { connected <- agent.Connect(life) }()
	select {
	case err = <-connected:
	case err = <-t.refused:
	case <-deadline.C:
		err = t.unreachable(timeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		<-connected // Connect returns once its context is cancelled
		return nil, t.explain(err, "")
	}
	t.mu.Lock()
	t.up = true
	t.mu.Unlock()

	type bound struct {
		ln  ngrok.EndpointListener
		err error
	}
	listened := make(chan bound, 1)
	go func() {
		var eo []ngrok.EndpointOption
		if endpointURL != "" {
			eo = append(eo, ngrok.WithURL(endpointURL))
		}
		eo = append(eo, ngrok.WithDescription("callagent dev"))
		ln, err := agent.Listen(life, eo...)
		listened <- bound{ln, err}
	}()
	var b bound
	select {
	case b = <-listened:
	case <-deadline.C:
		b.err = fmt.Errorf("ngrok did not open the endpoint within %s: try again, or use --public-url", timeout)
	case <-ctx.Done():
		b.err = ctx.Err()
	}
	if b.err != nil {
		t.shutdown()
		return nil, t.explain(b.err, o.Domain)
	}
	t.ln = b.ln
	return t, nil
}

type ngrokTunnel struct {
	agent    ngrok.Agent
	ln       ngrok.EndpointListener
	token    string
	cancel   context.CancelFunc
	onStatus func(Status)
	refused  chan error // a refusal seen while connecting: no use retrying

	mu      sync.Mutex
	up      bool // connected once: later drops are reported, not fatal
	down    bool
	closing bool // Close was called: the session's end is ours, not a lost connection
	lastErr error
	once    sync.Once
}

func (t *ngrokTunnel) Accept() (net.Conn, error) { return t.ln.Accept() }
func (t *ngrokTunnel) Addr() net.Addr            { return t.ln.Addr() }
func (t *ngrokTunnel) URL() string               { return strings.TrimSuffix(t.ln.URL().String(), "/") }

func (t *ngrokTunnel) Close() error {
	var err error
	t.once.Do(func() {
		t.mu.Lock()
		t.closing = true
		t.mu.Unlock()
		err = t.ln.Close()
		t.shutdown()
	})
	return err
}

func (t *ngrokTunnel) shutdown() {
	t.agent.Disconnect()
	t.cancel()
}

// event follows the session. Handlers must not block.
func (t *ngrokTunnel) event(ev ngrok.Event) {
	switch e := ev.(type) {
	case *ngrok.EventAgentDisconnected:
		if e.Error == nil {
			return
		}
		t.mu.Lock()
		if t.closing {
			t.mu.Unlock()
			return
		}
		t.lastErr = e.Error
		up, wasDown := t.up, t.down
		t.down = true
		t.mu.Unlock()
		if !up {
			if ngrokCode.MatchString(e.Error.Error()) {
				// The service answered and said no (bad token, account limit): the
				// agent would retry the same request forever.
				select {
				case t.refused <- e.Error:
				default:
				}
			}
			return
		}
		if !wasDown && t.onStatus != nil {
			t.onStatus(Status{Err: t.explain(e.Error, "")})
		}
	case *ngrok.EventAgentConnectSucceeded:
		t.mu.Lock()
		up, wasDown := t.up, t.down
		t.down = false
		t.mu.Unlock()
		if up && wasDown && t.onStatus != nil {
			t.onStatus(Status{Connected: true})
		}
	}
}

func (t *ngrokTunnel) unreachable(timeout time.Duration) error {
	t.mu.Lock()
	last := t.lastErr
	t.mu.Unlock()
	msg := fmt.Sprintf("could not reach the ngrok service within %s", timeout)
	if last != nil {
		msg += " (last error: " + t.redact(firstLine(last.Error())) + ")"
	}
	return errors.New(msg + ": check the network connection (and HTTPS_PROXY if you need a proxy), " +
		"or use --public-url with a tunnel you run yourself")
}

// explain turns an ngrok library error into one that says what to do. The
// authtoken never appears in it (ngrok echoes it in some messages).
func (t *ngrokTunnel) explain(err error, domain string) error {
	if err == nil {
		return nil
	}
	var ne *NgrokError
	if errors.As(err, &ne) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	text := err.Error()
	code := ngrokCode.FindString(text)
	if code == "" {
		return errors.New("ngrok: " + t.redact(firstLine(text)))
	}
	e := &NgrokError{Code: code, Message: t.redact(ngrokMessage(text))}
	switch code {
	case "ERR_NGROK_105", "ERR_NGROK_106", "ERR_NGROK_107", "ERR_NGROK_4018":
		e.Message = "the authtoken was rejected: " + e.Message
		e.Fix = "copy your authtoken from https://dashboard.ngrok.com/get-started/your-authtoken into NGROK_AUTHTOKEN " +
			"(.env or the environment), or use --public-url"
	case "ERR_NGROK_108":
		e.Fix = "stop the other ngrok agent (an ngrok CLI or another callagent dev), or use --public-url"
	default:
		if domain != "" {
			e.Fix = fmt.Sprintf("check that %s is reserved for this account in the ngrok dashboard (Universal Gateway › Domains), "+
				"or run without --domain", domain)
		}
	}
	return e
}

// ngrokMessage is ngrok's message without our wrappers, the code line, or the
// line that repeats the authtoken.
func ngrokMessage(text string) string {
	for _, p := range []string{"failed to connect: ", "authentication failed: "} {
		if i := strings.LastIndex(text, p); i >= 0 {
			text = text[i+len(p):]
		}
	}
	var keep []string
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || ngrokCode.MatchString(line) && len(line) < 20 || strings.HasPrefix(line, "Your authtoken:") {
			continue
		}
		if i := strings.Index(line, " Your authtoken:"); i >= 0 {
			line = line[:i]
		}
		keep = append(keep, line)
		if len(keep) == 1 {
			break
		}
	}
	return strings.Join(keep, " ")
}

func (t *ngrokTunnel) redact(s string) string {
	if t.token != "" {
		s = strings.ReplaceAll(s, t.token, "[authtoken]")
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// domainURL turns --domain into the endpoint URL ngrok expects.
func domainURL(domain string) (string, error) {
	d := strings.TrimSpace(domain)
	if d == "" {
		return "", nil
	}
	d = strings.TrimSuffix(strings.TrimPrefix(d, "https://"), "/")
	if strings.ContainsAny(d, "/:?# ") || !strings.Contains(d, ".") {
		return "", fmt.Errorf("--domain %q: want a domain reserved in ngrok, like agent.ngrok.app", domain)
	}
	return "https://" + d, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dialFunc adapts a function to ngrok's Dialer.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialFunc) Dial(network, addr string) (net.Conn, error) {
	return f(context.Background(), network, addr)
}

func (f dialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// checkConnectURL refuses a service address the ngrok agent could never dial, which
// it would otherwise retry until the timeout: host:port, the port a number.
func checkConnectURL(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && host == "" {
		err = errors.New("no host")
	}
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
			err = fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
	}
	if err != nil {
		return fmt.Errorf("ngrok service address %q (CALLAGENT_NGROK_CONNECT_URL) is not host:port (%v); for example connect.example.com:443 or [::1]:4443", addr, err)
	}
	return nil
}
