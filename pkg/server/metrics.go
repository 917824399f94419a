package server

import (
	"slices"
	"sync"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus series. They are fed from call events (media
// from the per-second MediaStats), so the audio path does no metric work per frame.
//
// Every label value is from a fixed set: the ones that come from a peer (the
// model's error codes, Twilio's stream error codes) are mapped onto known values
// and "other", so nobody on the network can make a series per request.
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
	warnings     *prometheus.CounterVec // by callevent warning code
	cost         *prometheus.CounterVec // by model
	tokens       *prometheus.CounterVec // by model and kind

	// The last call.usage of each call in progress: the events carry running
	// totals, the counters take what was added since.
	usageMu   sync.Mutex
	lastUsage map[string]callevent.CallUsage
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
		warnings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_call_warnings_total",
			Help: "Problems calls survived, by kind (malformed_twilio_frame, malformed_model_event, bad_agent_audio, " +
				"dtmf_dropped, stream_error, no_media_stream, other): every occurrence, also those whose warning was summarised."}, []string{"code"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_cost_usd_total",
			Help: "What calls cost in US dollars, by voice model (its transcription included), at callagent's price table " +
				"(prices as of " + pricing.AsOf + ", or the configuration's); calls whose model has no price are not counted."}, []string{"model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callagent_tokens_total",
			Help: "Tokens the models reported, by model (a known one, or other) and kind (text_in, cached_text_in, audio_in, " +
				"cached_audio_in, image_in, cached_image_in, text_out, audio_out; cached counts are part of the input counts)."}, []string{"model", "kind"}),
		lastUsage: map[string]callevent.CallUsage{},
	}
	reg.MustRegister(m.cost, m.tokens)
	reg.MustRegister(m.active, m.calls, m.frames, m.audioBytes, m.rejected, m.turnLatency, m.bargeInHeard,
		m.modelErrors, m.toolCalls, m.modelDial, m.predials, m.streamErrors, m.warnings)
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
	case callevent.Warning:
		code := "other"
		if slices.Contains(callevent.WarningCodes, e.Code) {
			code = e.Code
		}
		m.warnings.WithLabelValues(code).Add(float64(e.Occurrences()))
	case callevent.ModelError:
		m.modelErrors.WithLabelValues(modelErrorLabel(e.Code)).Inc()
	case callevent.ToolResult:
		result := "ok"
		if e.Err != nil {
			result = "error"
		}
		m.toolCalls.WithLabelValues(result).Inc()
	case callevent.ModelConnected:
		m.modelDial.Observe(e.DialTime.Seconds())
	case callevent.CallUsage:
		m.usage(e)
	case callevent.CallEnded:
		m.calls.WithLabelValues(string(e.Reason)).Inc()
		m.usageMu.Lock()
		delete(m.lastUsage, e.CallSID)
		m.usageMu.Unlock()
	}
}

// usage adds what a call consumed since its previous call.usage.
func (m *metrics) usage(e callevent.CallUsage) {
	m.usageMu.Lock()
	prev := m.lastUsage[e.CallSID]
	m.lastUsage[e.CallSID] = e
	m.usageMu.Unlock()
	if e.CostUSD != nil {
		was := 0.0
		if prev.CostUSD != nil {
			was = *prev.CostUSD
		}
		if d := *e.CostUSD - was; d > 0 {
			m.cost.WithLabelValues(modelLabel(e.Model)).Add(d)
		}
	}
	m.addTokens(modelLabel(e.Model), e.Tokens, prev.Tokens)
	m.addTokens(modelLabel(e.TranscriptionModel), e.TranscriptionTokens, prev.TranscriptionTokens)
	m.addTokens(modelLabel(e.BackendModel), e.BackendTokens, prev.BackendTokens)
}

func (m *metrics) addTokens(model string, now, was callevent.TokenCounts) {
	for _, k := range []struct {
		kind     string
		now, was int64
	}{
		{"text_in", now.TextIn, was.TextIn}, {"cached_text_in", now.CachedTextIn, was.CachedTextIn},
		{"audio_in", now.AudioIn, was.AudioIn}, {"cached_audio_in", now.CachedAudioIn, was.CachedAudioIn},
		{"image_in", now.ImageIn, was.ImageIn}, {"cached_image_in", now.CachedImageIn, was.CachedImageIn},
		{"text_out", now.TextOut, was.TextOut}, {"audio_out", now.AudioOut, was.AudioOut},
	} {
		if d := k.now - k.was; d > 0 {
			m.tokens.WithLabelValues(model, k.kind).Add(float64(d))
		}
	}
}

// knownModels are the models of callagent's price table: the model label's values,
// with "other" for the rest (a configured model name is the operator's, but a
// label per name is not bounded).
var knownModels = pricing.Defaults()

// modelLabel is the model label of a model name.
func modelLabel(model string) string {
	if _, ok := knownModels[model]; ok {
		return model
	}
	return "other"
}

// modelErrorCodes are the error codes the Realtime API is known to send in its
// error events (error.code; error.type is invalid_request_error or server_error):
// its schema's example (invalid_event), the parameter checks of a session.update
// and other client events (PROTOCOL.md and the twin), the conflicts a bridge runs
// into, and the account's limits. Any other code is counted as "other".
var modelErrorCodes = map[string]bool{
	"invalid_event": true, "invalid_json": true, "unknown_parameter": true, "invalid_value": true,
	"invalid_type": true, "missing_required_parameter": true, "decimal_below_min_value": true,
	"decimal_above_max_value": true, "integer_below_min_value": true, "integer_above_max_value": true,
	"string_above_max_length": true, "conversation_already_has_active_response": true,
	"response_cancel_not_active": true, "item_not_found": true,
	"input_audio_buffer_commit_empty": true, "cannot_update_voice": true, "session_expired": true,
	"rate_limit_exceeded": true, "insufficient_quota": true, "invalid_api_key": true, "server_error": true,
}

// modelErrorLabel is the model_errors_total label of an error code: the code when
// it is a known one, "unknown" when there is none, "other" otherwise.
func modelErrorLabel(code string) string {
	switch {
	case code == "":
		return "unknown"
	case modelErrorCodes[code]:
		return code
	}
	return "other"
}

// streamErrorLabel is the stream_errors_total label of a Twilio error code: the
// code when it is a Media Streams one (319xx: 31901 connection timeout, 31920
// handshake, 31924 protocol error…), "unknown" when the StreamError named none,
// "other" otherwise. At most 102 values, whatever Twilio (or a holder of the auth
// token) posts.
func streamErrorLabel(code string) string {
	switch {
	case code == "unknown":
		return code
	case len(code) == 5 && code[:3] == "319":
		return code
	}
	return "other"
}
