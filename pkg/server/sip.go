package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/livebridge"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/sipcall"
)

// PathSIPWebhook receives OpenAI's incoming-call webhooks (transport: sip): the
// URL to give the project's webhook endpoint at OpenAI.
const PathSIPWebhook = "/openai-webhook"

// SIP status codes callagent rejects a call with.
const (
	sipBusy        = 486 // Busy Here: at the call limit
	sipUnavailable = 503 // Service Unavailable: draining, or the call could not be set up
)

// CallControl is OpenAI's call-control REST API (*sipcall.Client): accept a call
// with its session, reject it with a SIP status, transfer it, hang it up.
type CallControl interface {
	Accept(ctx context.Context, e sipcall.Engine, id string, session any) error
	Reject(ctx context.Context, e sipcall.Engine, id string, sipStatus int) error
	Refer(ctx context.Context, e sipcall.Engine, id, targetURI string) error
	Hangup(ctx context.Context, e sipcall.Engine, id string) error
}

// SIPConfig makes the server the control plane of calls OpenAI answers over SIP
// (transport: sip): no Twilio webhook or media stream is served, only
// PathSIPWebhook (and health, readiness, metrics).
type SIPConfig struct {
	// Secret is the webhook endpoint's signing secret (whsec_…, OPENAI_WEBHOOK_SECRET):
	// a webhook it does not sign is refused and no call is accepted. Required.
	Secret string
	// Engine is the engine calls run on; a webhook for the other engine is
	// answered 200 and left alone (another handler may take that call). Empty:
	// each call's engine is its agent's model's (a gpt-live-* model: GPT-Live),
	// or Realtime without Live.
	Engine sipcall.Engine
	// Control accepts, rejects, transfers and hangs up calls. Required.
	Control CallControl
	// Sideband opens a Realtime call's sideband WebSocket by its call id: the
	// call's model leg. Required.
	Sideband DialFunc
	// Live runs GPT-Live calls: how to reach Live (Dial: the key, base URL) and
	// the delegation's backend model and acknowledgement delay; the model is the
	// agent's. A call is accepted with the agent's session translated for Live
	// (livebridge.AcceptSession) and run over its attach socket
	// (livebridge.Attach). nil: Live calls are left alone.
	Live *livebridge.Options
	// ControlTimeout bounds each call-control request (default 10s).
	ControlTimeout time.Duration
	// SecretLater lets Secret be empty: it is given with SetWebhookSecret once
	// known (dev creates the webhook endpoint for its tunnel after its server
	// runs). Until then every webhook is answered 503, which OpenAI retries.
	SecretLater bool
}

// ErrNoWebhookSecret is returned by New for SIP without a webhook secret.
var ErrNoWebhookSecret = errors.New("OPENAI_WEBHOOK_SECRET is not set: transport sip verifies every incoming-call webhook " +
	"with the signing secret OpenAI showed when the webhook endpoint was created (whsec_…). Export it (or put it in .env)")

const defaultControlTimeout = 10 * time.Second

// sipSeenKept bounds the webhook ids and call ids remembered against duplicate
// deliveries (OpenAI retries a webhook not answered 2xx, with the same id).
const sipSeenKept = 4096

// checkSIP completes cfg.SIP in New.
func checkSIP(cfg *Config) error {
	c := cfg.SIP
	if c.Secret == "" && !c.SecretLater {
		return ErrNoWebhookSecret
	}
	if c.Control == nil || c.Sideband == nil {
		return errors.New("server: SIPConfig.Control and SIPConfig.Sideband are required")
	}
	if c.Engine == "" && c.Live == nil {
		c.Engine = sipcall.EngineRealtime
	}
	if c.ControlTimeout <= 0 {
		c.ControlTimeout = defaultControlTimeout
	}
	if cfg.Dial == nil {
		cfg.Dial = c.Sideband
	}
	cfg.WarmSessions = 0 // a sideband is opened for its call, by its id
	return nil
}

// SetWebhookSecret sets the SIP webhook's signing secret (SIPConfig.SecretLater).
func (s *Server) SetWebhookSecret(secret string) {
	s.mu.Lock()
	s.cfg.SIP.Secret = secret
	s.mu.Unlock()
}

func (s *Server) webhookSecret() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.SIP.Secret
}

// sipSeen remembers the webhook ids and call ids taken, oldest forgotten first.
type sipSeen struct {
	ids   map[string]bool
	order []string
}

func (v *sipSeen) has(ids ...string) bool {
	for _, id := range ids {
		if id != "" && v.ids[id] {
			return true
		}
	}
	return false
}

func (v *sipSeen) add(ids ...string) {
	if v.ids == nil {
		v.ids = map[string]bool{}
	}
	for _, id := range ids {
		if id == "" || v.ids[id] {
			continue
		}
		v.ids[id] = true
		v.order = append(v.order, id)
	}
	for len(v.order) > sipSeenKept {
		delete(v.ids, v.order[0])
		v.order = v.order[1:]
	}
}

func (v *sipSeen) forget(ids ...string) {
	for _, id := range ids {
		delete(v.ids, id) // its place in order goes when it comes up
	}
}

// sipWebhook answers OpenAI's incoming-call webhook: verify, parse, take the call
// once (duplicates and retries of a call taken are answered 200 and nothing
// more), reject it when the server cannot take it, else accept it with the
// agent's session and run it.
func (s *Server) sipWebhook(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	sc := s.cfg.SIP
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxWebhookBody))
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		s.reject(w, "bad_request", http.StatusRequestEntityTooLarge, "the request body is too large for an OpenAI webhook")
		return
	}
	if err != nil {
		s.reject(w, "bad_request", http.StatusBadRequest, "the request body could not be read")
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	secret := s.webhookSecret()
	if secret == "" {
		s.reject(w, "draining", http.StatusServiceUnavailable, "not ready for calls yet")
		return
	}
	if err := sipcall.Verify(secret, r.Header, body, s.now()); err != nil {
		// Neither the signature nor the secret is logged: the error names which check failed.
		s.warnRefused("request refused: OpenAI webhook signature", "path", r.URL.Path, "remote", r.RemoteAddr, "error", err,
			"hint", "check OPENAI_WEBHOOK_SECRET (the webhook endpoint's signing secret) and the server's clock")
		s.reject(w, "signature", http.StatusUnauthorized, "unauthorized")
		return
	}
	in, err := sipcall.ParseIncoming(body)
	if errors.Is(err, sipcall.ErrNotIncoming) {
		w.WriteHeader(http.StatusOK) // another event type the endpoint subscribes to
		return
	}
	if err != nil {
		s.reject(w, "bad_request", http.StatusBadRequest, "not an incoming-call event callagent can read")
		return
	}
	in.WebhookID = r.Header.Get("webhook-id")
	if sc.Engine != "" && in.Engine != sc.Engine || in.Engine == sipcall.EngineLive && sc.Live == nil {
		s.log.Info("incoming call for another engine left alone", "call_id", in.ID, "engine", string(in.Engine), "serving", string(sc.Engine))
		w.WriteHeader(http.StatusOK)
		return
	}
	switch why := s.admitSIP(in); why {
	case "":
	case "duplicate":
		w.WriteHeader(http.StatusOK) // a retry, or a second delivery: the call is taken once
		return
	default:
		s.metrics.rejected.WithLabelValues(why).Inc()
		status := sipBusy
		if why == "draining" {
			status = sipUnavailable
		}
		s.warnRefused("SIP call rejected: "+refusals[why], "call_id", in.ID, "sip_status", status)
		s.rejectSIP(r.Context(), in, status)
		s.sipRequestEvent(w, r, in, fmt.Sprintf("reject (SIP %d: %s)", status, refusals[why]), start)
		w.WriteHeader(http.StatusOK)
		return
	}
	if code, msg := s.acceptSIP(r.Context(), in, func(answer string) { s.sipRequestEvent(w, r, in, answer, start) }); code != http.StatusOK {
		http.Error(w, msg, code)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// sipRequestEvent is the call's event of its webhook, as a Twilio webhook's is:
// what callagent answered, in a few words.
func (s *Server) sipRequestEvent(w http.ResponseWriter, r *http.Request, in sipcall.Incoming, answer string, start time.Time) {
	reportedAsEvent(w)
	now := s.now()
	s.emit(callevent.HTTPRequest{Header: callevent.Header{Time: now, CallSID: in.ID}, Method: r.Method, Path: r.URL.Path,
		Status: http.StatusOK, Answer: answer, Duration: now.Sub(start), From: sipUser(in.From), To: sipUser(in.To)})
}

// sipUser is the user part of a SIP From or To header's URI, the caller's or
// called number as a Twilio webhook gives it ("+14155550123" of
// "Ada" <sip:+14155550123@pstn.twilio.com>;tag=1): the call's {{call.from}} and
// {{call.to}}, and what the terminal and logs show. A value without a URI is
// taken as it is ("anonymous"). SIP headers are the caller's to write (OpenAI:
// "untrusted caller metadata"), and these values reach the model's instructions
// and tools' requests: one that is not a plain user part (sipUserChars, at most
// 64 bytes: a number, a SIP user name) is "". SipFrom and SipTo keep the headers
// whole, for an agent that asks for them.
func sipUser(v string) string {
	u := v
	i := strings.Index(v, "sip:")
	n := 4
	if j := strings.Index(v, "sips:"); j >= 0 && (i < 0 || j < i) {
		i, n = j, 5
	}
	if j := strings.Index(v, "tel:"); i < 0 && j >= 0 {
		i, n = j, 4
	}
	if i >= 0 {
		u = v[i+n:]
		if k := strings.IndexAny(u, "@;>?"); k >= 0 {
			u = u[:k]
		}
	}
	if u == "" || len(u) > 64 || strings.Trim(u, sipUserChars) != "" {
		return ""
	}
	return u
}

// sipUserChars are the characters of a user part sipUser keeps: digits, letters
// and what numbers and SIP user names use (+ * # . _ -).
const sipUserChars = "0123456789+*#._-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// admitSIP takes a place for the call, once per webhook id and call id. It
// returns why not ("duplicate", "draining", "busy") or "".
func (s *Server) admitSIP(in sipcall.Incoming) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.sipSeen.has(in.WebhookID, in.ID) || s.calls[in.ID] != nil:
		return "duplicate"
	case s.closing || s.draining.Load():
		s.sipSeen.add(in.WebhookID, in.ID) // rejected once
		return "draining"
	case s.cfg.MaxCalls > 0 && s.placesLocked() >= s.cfg.MaxCalls:
		s.sipSeen.add(in.WebhookID, in.ID)
		return "busy"
	}
	s.sipSeen.add(in.WebhookID, in.ID)
	s.starting++
	return ""
}

// unadmitSIP gives back the place of a call that was not accepted and forgets
// it, so that OpenAI's retry of the webhook may try again.
func (s *Server) unadmitSIP(in sipcall.Incoming) {
	s.mu.Lock()
	s.starting--
	s.sipSeen.forget(in.WebhookID, in.ID)
	s.mu.Unlock()
}

func (s *Server) rejectSIP(ctx context.Context, in sipcall.Incoming, status int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SIP.ControlTimeout)
	defer cancel()
	if err := s.cfg.SIP.Control.Reject(ctx, in.Engine, in.ID, status); err != nil {
		s.log.Warn("rejecting the SIP call failed", "call_id", in.ID, "error", err)
	}
}

// acceptSIP sets up the call's session, accepts the call with it and runs it. It
// returns the webhook's answer: 200, or an error status that makes OpenAI retry.
func (s *Server) acceptSIP(ctx context.Context, in sipcall.Incoming, answered func(string)) (int, string) {
	sc := s.cfg.SIP
	from, to := sipUser(in.From), sipUser(in.To)
	params := map[string]string{"From": from, "To": to, "SipFrom": in.From, "SipTo": in.To}
	info := CallInfo{CallSID: in.ID, From: from, To: to, Parameters: params}
	leg := session.NewSIPCall(in.ID, from, to, params)
	opts := session.Options{}
	if s.cfg.Session != nil {
		if err := s.cfg.Session(info, &opts); err != nil {
			s.log.Error("setting up the call", "call_id", in.ID, "error", err)
			s.unadmitSIP(in)
			s.rejectSIP(ctx, in, sipUnavailable)
			return http.StatusOK, ""
		}
	}
	if engine := engineOf(opts.Model); engine != in.Engine {
		// The agent's model runs on the other engine: the call cannot be its.
		s.log.Info("incoming call for another engine left alone", "call_id", in.ID, "engine", string(in.Engine),
			"model", opts.Model, "serving", string(engine))
		s.unadmitSIP(in)
		return http.StatusOK, ""
	}
	var accepted realtime.SessionConfig // the agent's session, set before the session runs
	sideband := func(ctx context.Context) (session.ModelLeg, error) {
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		if in.Engine == sipcall.EngineLive {
			leg, err := livebridge.Attach(dctx, *sc.Live, in.ID, accepted)
			if err != nil {
				return nil, err // not leg: a typed nil would look like a leg
			}
			return leg, nil
		}
		return sc.Sideband(dctx, in.ID)
	}
	opts.Caller, opts.Dial, opts.OnEvent, opts.SIP = leg, leg.Dial(sideband), s.emit, true
	opts.Recorder = nil // the audio never reaches callagent
	opts.OnEnd = func(reason callevent.EndReason) { s.recordEnding(in.ID, reason) }
	sess, err := session.New(opts)
	if err != nil {
		s.log.Error("setting up the call", "call_id", in.ID, "error", err)
		s.unadmitSIP(in)
		s.rejectSIP(ctx, in, sipUnavailable)
		return http.StatusOK, ""
	}
	accepted = sess.SIPSession()
	var body any = accepted
	if in.Engine == sipcall.EngineLive {
		if body, err = livebridge.AcceptSession(accepted, *sc.Live); err != nil {
			s.log.Error("setting up the call", "call_id", in.ID, "error", err)
			s.unadmitSIP(in)
			s.rejectSIP(ctx, in, sipUnavailable)
			return http.StatusOK, ""
		}
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sc.ControlTimeout)
	err = sc.Control.Accept(actx, in.Engine, in.ID, body)
	cancel()
	if err != nil {
		s.unadmitSIP(in)
		var apiErr *sipcall.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.CallGone():
			// Rang out, hung up, or accepted by another instance whose answer
			// OpenAI did not get: nothing for a retry to do.
			s.log.Warn("the SIP call is gone: not accepted", "call_id", in.ID, "error", err)
			return http.StatusOK, ""
		case errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests:
			// Refused for good (the session, or a call no longer ringing): a retry
			// would be refused the same way. The caller is not left ringing.
			s.log.Error("OpenAI refused to accept the SIP call", "call_id", in.ID, "error", err)
			s.rejectSIP(ctx, in, sipUnavailable)
			return http.StatusOK, ""
		}
		s.log.Warn("accepting the SIP call failed; OpenAI retries the webhook", "call_id", in.ID, "error", err)
		return http.StatusBadGateway, "the call could not be accepted"
	}
	if why := s.register(in.ID, sess); why != "" {
		s.metrics.rejected.WithLabelValues(why).Inc()
		s.hangupSIP(in)
		return http.StatusOK, ""
	}
	answered("accept")
	s.wg.Go(func() {
		ended := sess.Run(context.Background())
		switch ended.Reason {
		case callevent.EndCallerHangup, callevent.EndTransferred, callevent.EndAgentHangup:
			// over already, or hung up by the tool
		default:
			s.hangupSIP(in) // the session ended it: the phone line must end too
		}
		s.unregister(in.ID, ended.Reason)
	})
	return http.StatusOK, ""
}

// engineOf is the engine of the agent's model.
func engineOf(model string) sipcall.Engine {
	if livebridge.IsModel(model) {
		return sipcall.EngineLive
	}
	return sipcall.EngineRealtime
}

func (s *Server) hangupSIP(in sipcall.Incoming) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.SIP.ControlTimeout)
	defer cancel()
	if err := s.cfg.SIP.Control.Hangup(ctx, in.Engine, in.ID); err != nil {
		s.log.Warn("hanging up the SIP call failed", "call_id", in.ID, "error", fmt.Sprint(err))
	}
}
