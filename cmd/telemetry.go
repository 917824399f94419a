package cmd

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/telemetry"
	"github.com/callagent/callagent/pkg/twiliorest"
)

// tracingShutdown bounds the export of the last spans when serve or dev stops.
const tracingShutdown = 5 * time.Second

// startTracing sets up OpenTelemetry traces from the OTEL_* environment (.env
// included): nil, and a stop that does nothing, when they are not configured.
// stop exports what is left, bounded by tracingShutdown.
func startTracing(f *Factory, model func() string, log *slog.Logger) (*telemetry.Tracer, func(), error) {
	tr, err := telemetry.Setup(telemetry.Options{
		Getenv:         f.Env.Get,
		ServiceVersion: f.Build.Version,
		CallModel: func() (string, string) {
			m := model()
			if agent.LiveModel(m) {
				return "live", m
			}
			return "realtime", m
		},
		Logger: log,
	})
	if err != nil {
		return nil, func() {}, &UsageError{Err: err}
	}
	if tr == nil {
		return nil, func() {}, nil
	}
	log.Info("exporting traces over OTLP/HTTP")
	return tr, func() {
		ctx, cancel := context.WithTimeout(context.Background(), tracingShutdown)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			log.Warn("traces not all exported", "error", err)
		}
	}, nil
}

// traced sends each call event to the tracer, then to next.
func traced(tr *telemetry.Tracer, next func(callevent.Event)) func(callevent.Event) {
	if tr == nil {
		return next
	}
	return func(ev callevent.Event) {
		tr.Observe(ev)
		if next != nil {
			next(ev)
		}
	}
}

// tracedTwilioClient is the Twilio REST client's HTTP client with a span per
// request (twiliorest's defaults otherwise); nil, for the defaults, without tracing.
func tracedTwilioClient(tr *telemetry.Tracer) *http.Client {
	if tr == nil {
		return nil
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr.Transport(nil)}
}

// newTracedTwilioREST is newTwilioREST with tracedTwilioClient.
func newTracedTwilioREST(env *Env, tr *telemetry.Tracer) (*twiliorest.Client, error) {
	return twiliorest.New(twiliorest.Options{Credentials: twilioCredentials(env), BaseURL: env.Get("CALLAGENT_TWILIO_API_URL"),
		HTTPClient: tracedTwilioClient(tr)})
}
