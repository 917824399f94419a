package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Options configure Setup.
type Options struct {
	// Getenv reads the environment (the process's plus .env, as cmd sees it); nil
	// reads nothing, so tracing stays off.
	Getenv func(string) string
	// ServiceVersion is the service.version resource attribute.
	ServiceVersion string
	// CallModel tells the engine ("realtime", "live") and model a call starting now
	// uses; nil: unknown until the call reports its usage.
	CallModel func() (engine, model string)
	// Logger hears of export failures (default: discard).
	Logger *slog.Logger
}

// Tracer turns call events into spans and exports them. A nil *Tracer is tracing
// switched off: every method does nothing.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	root     sdktrace.Sampler // the sampler's decision for a trace without parent
	opts     Options

	mu       sync.Mutex
	calls    map[string]*callState
	webhooks map[string]time.Time // when this instance answered a call's webhook
}

// Default values of the standard variables.
const (
	defaultService   = "callagent"
	defaultEndpoint  = "http://localhost:4318"
	tracesPath       = "/v1/traces"
	protocolHTTP     = "http/protobuf"
	defaultExportCap = 10 * time.Second
)

// Setup reads the standard OTEL_* variables and returns a Tracer exporting over
// OTLP/HTTP, or nil when tracing is not configured (no OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER=otlp) or switched off
// (OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none). Settings callagent cannot
// honour (the grpc protocol, another exporter) are an error that says what to set.
func Setup(opts Options) (*Tracer, error) {
	get := opts.Getenv
	if get == nil {
		get = func(string) string { return "" }
	}
	env := func(name string) string { return strings.TrimSpace(get(name)) }
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	exporter := strings.ToLower(env("OTEL_TRACES_EXPORTER"))
	endpoint, tracesEndpoint := env("OTEL_EXPORTER_OTLP_ENDPOINT"), env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	switch exporter {
	case "none":
		return nil, nil
	case "", "otlp":
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%s is not supported: callagent exports traces over OTLP only (set otlp, or none to switch traces off)", exporter)
	}
	if exporter == "" && endpoint == "" && tracesEndpoint == "" {
		return nil, nil // not configured: off
	}
	proto := strings.ToLower(env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	protoVar := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	if proto == "" {
		proto, protoVar = strings.ToLower(env("OTEL_EXPORTER_OTLP_PROTOCOL")), "OTEL_EXPORTER_OTLP_PROTOCOL"
	}
	if proto != "" && proto != protocolHTTP {
		return nil, fmt.Errorf("%s=%s is not supported: callagent exports traces over OTLP/HTTP only (http/protobuf): "+
			"unset it or set http/protobuf, and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port (usually 4318)", protoVar, proto)
	}
	target := tracesEndpoint // used as is, as the specification says
	if target == "" {
		base := endpoint
		if base == "" {
			base = defaultEndpoint
		}
		target = strings.TrimSuffix(base, "/") + tracesPath
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the OTLP traces endpoint %q is not an http(s) URL: set OTEL_EXPORTER_OTLP_ENDPOINT to the collector's base URL, e.g. http://localhost:4318", redactURL(target))
	}
	headers, err := parseHeaders(env("OTEL_EXPORTER_OTLP_HEADERS"), env("OTEL_EXPORTER_OTLP_TRACES_HEADERS"))
	if err != nil {
		return nil, err
	}
	root, parentBased, err := parseSampler(env("OTEL_TRACES_SAMPLER"), env("OTEL_TRACES_SAMPLER_ARG"))
	if err != nil {
		return nil, err
	}
	timeout := defaultExportCap
	if v := firstNonEmpty(env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"), env("OTEL_EXPORTER_OTLP_TIMEOUT")); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT=%q is not a positive number of milliseconds", v)
		}
		timeout = time.Duration(ms) * time.Millisecond
	}
	// Every setting is given explicitly: the exporter would otherwise read the
	// process's environment only, not .env.
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(target),
		otlptracehttp.WithHeaders(headers), otlptracehttp.WithTimeout(timeout))
	if err != nil {
		return nil, fmt.Errorf("OTLP traces exporter: %w", err)
	}
	service := env("OTEL_SERVICE_NAME")
	if service == "" {
		service = defaultService
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", service)}
	if opts.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", opts.ServiceVersion))
	}
	sampler := root
	if parentBased {
		sampler = sdktrace.ParentBased(root)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sampler),
		sdktrace.WithIDGenerator(idGenerator{}),
	)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Tracer{provider: tp, tracer: tp.Tracer("github.com/callagent/callagent"), root: root, opts: opts,
		calls: map[string]*callState{}, webhooks: map[string]time.Time{}}, nil
}

// Shutdown ends the spans of calls still running (ending them here, marked
// unfinished), exports what is queued and stops the exporter, bounded by ctx.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	for sid, st := range t.calls {
		st.span.SetAttributes(attribute.Bool("callagent.unfinished", true))
		st.endChildren(time.Now())
		st.span.End()
		delete(t.calls, sid)
	}
	t.mu.Unlock()
	err := t.provider.Shutdown(ctx)
	if err != nil {
		return fmt.Errorf("exporting the last traces: %w", err)
	}
	return nil
}

// parseHeaders reads OTEL_EXPORTER_OTLP_HEADERS (then the traces-only one, which
// wins): key=value pairs separated by commas, values percent-encoded. Errors never
// quote a value: headers hold credentials.
func parseHeaders(lists ...string) (map[string]string, error) {
	h := map[string]string{}
	for _, list := range lists {
		for pair := range strings.SplitSeq(list, ",") {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, errors.New("OTEL_EXPORTER_OTLP_HEADERS is not a list of key=value pairs separated by commas")
			}
			dv, err := url.PathUnescape(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: the value of %s is not percent-encoded correctly", k)
			}
			h[k] = dv
		}
	}
	return h, nil
}

// parseSampler reads OTEL_TRACES_SAMPLER and its argument: the sampler of a trace
// without parent, and whether spans follow their parent's decision.
func parseSampler(name, arg string) (root sdktrace.Sampler, parentBased bool, err error) {
	ratio := func() (sdktrace.Sampler, error) {
		if arg == "" {
			return sdktrace.AlwaysSample(), nil // the specification's default ratio, 1.0
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q is not a ratio between 0 and 1", arg)
		}
		return sdktrace.TraceIDRatioBased(r), nil
	}
	switch strings.ToLower(name) {
	case "", "parentbased_always_on":
		return sdktrace.AlwaysSample(), true, nil
	case "always_on":
		return sdktrace.AlwaysSample(), false, nil
	case "always_off":
		return sdktrace.NeverSample(), false, nil
	case "parentbased_always_off":
		return sdktrace.NeverSample(), true, nil
	case "traceidratio":
		s, err := ratio()
		return s, false, err
	case "parentbased_traceidratio":
		s, err := ratio()
		return s, true, err
	}
	return nil, false, fmt.Errorf("OTEL_TRACES_SAMPLER=%s is not supported: use always_on, always_off, traceidratio or their parentbased_ forms", name)
}

// redactURL drops a URL's user information and query (credentials) for an error.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
