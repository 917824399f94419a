package server

import (
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus series. They are fed from call events (media
// from the per-second MediaStats), so the audio path does no metric work per frame.
type metrics struct {
	active       prometheus.Gauge
	calls        *prometheus.CounterVec // by end reason
	frames       *prometheus.CounterVec // by direction
	audioBytes   *prometheus.CounterVec // by direction
	rejected     *prometheus.CounterVec // by reason
	turnLatency  prometheus.Histogram
	bargeInHeard prometheus.Histogram
	modelErrors  *prometheus.CounterVec // by code
	toolCalls    *prometheus.CounterVec // by result
	modelDial    prometheus.Histogram
	predials     *prometheus.CounterVec // by outcome
	predialsOpen prometheus.Gauge
	streamErrors *prometheus.CounterVec // by Twilio error code
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "callagent_calls_active", Help: "Calls in progress."}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_calls_total",
			Help: "Calls ended, by end reason."}, []string{"reason"}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_media_frames_total",
			Help: "Audio frames relayed: in = caller to model, out = model to caller."}, []string{"direction"}),
		audioBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_media_bytes_total",
			Help: "μ-law audio bytes relayed (8000 a second of speech)."}, []string{"direction"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_rejected_requests_total",
			Help: "Requests refused, by reason (signature, busy, draining, bad_request)."}, []string{"reason"}),
		turnLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callagent_turn_latency_seconds",
			Help:    "Caller stopped speaking to first agent audio sent to Twilio.",
			Buckets: []float64{.1, .2, .3, .4, .5, .6, .8, 1, 1.25, 1.5, 2, 3, 5}}),
		bargeInHeard: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callagent_barge_in_heard_seconds",
			Help:    "How much of the agent's speech the caller heard before barging in.",
			Buckets: []float64{.25, .5, 1, 2, 3, 5, 8, 13, 20}}),
		modelErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_model_errors_total",
			Help: "Error events from the model, by code."}, []string{"code"}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_tool_calls_total",
			Help: "Tool calls, by result (ok, error)."}, []string{"result"}),
		modelDial: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callagent_model_connect_seconds",
			Help:    "Time from the stream's start until the model session was ready (0 when pre-dialed in time).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5}}),
		predials: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_predials_total",
			Help: "Model sessions dialed while answering the webhook, by outcome (claimed, expired, failed, stream_failed: Twilio reported the stream failed; over_limit: not dialed, over the pre-dial bound)."}, []string{"outcome"}),
		predialsOpen: prometheus.NewGauge(prometheus.GaugeOpts{Name: "callagent_predials_open",
			Help: "Model sessions dialed for answered webhooks whose stream has not started (bounded by --max-predials)."}),
		streamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_stream_errors_total",
			Help: "Stream errors Twilio reported to the <Stream> statusCallback, by Twilio error code."}, []string{"code"}),
	}
	reg.MustRegister(m.active, m.calls, m.frames, m.audioBytes, m.rejected, m.turnLatency, m.bargeInHeard,
		m.modelErrors, m.toolCalls, m.modelDial, m.predials, m.streamErrors)
	reg.MustRegister(m.predialsOpen)
	return m
}

// observe updates the metrics from one call event.
func (m *metrics) observe(ev callevent.Event) {
	switch e := ev.(type) {
	case callevent.MediaStats:
		m.frames.WithLabelValues("in").Add(float64(e.InFrames))
		m.frames.WithLabelValues("out").Add(float64(e.OutFrames))
		m.audioBytes.WithLabelValues("in").Add(float64(e.InBytes))
		m.audioBytes.WithLabelValues("out").Add(float64(e.OutBytes))
	case callevent.TurnLatency:
		m.turnLatency.Observe(e.Latency.Seconds())
	case callevent.Interruption:
		m.bargeInHeard.Observe(float64(e.HeardMs) / 1000)
	case callevent.ModelError:
		code := e.Code
		if code == "" {
			code = "unknown"
		}
		m.modelErrors.WithLabelValues(code).Inc()
	case callevent.ToolResult:
		result := "ok"
		if e.Err != nil {
			result = "error"
		}
		m.toolCalls.WithLabelValues(result).Inc()
	case callevent.ModelConnected:
		m.modelDial.Observe(e.DialTime.Seconds())
	case callevent.CallEnded:
		m.calls.WithLabelValues(string(e.Reason)).Inc()
	}
}
