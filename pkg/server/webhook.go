package server

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/twilio/twilio-go/twiml"
)

// incomingCall answers Twilio's voice webhook: TwiML that connects the call to the
// media stream, and a model session dialed right away so it is ready when the stream
// starts (seconds off the first turn).
func (s *Server) incomingCall(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	params, ok := s.webhookParams(w, r)
	if !ok {
		return
	}
	callSID := params.Get("CallSid")
	if callSID == "" {
		s.reject(w, "bad_request", http.StatusBadRequest, "CallSid is missing: this endpoint is Twilio's voice webhook")
		return
	}
	adm := s.admitWebhook(callSID)
	switch why := adm.why; why {
	case "":
	case "draining":
		s.metrics.rejected.WithLabelValues(why).Inc()
		s.log.Info("call refused: shutting down", "call_sid", callSID)
	case "busy":
		s.metrics.rejected.WithLabelValues(why).Inc()
		s.warnRefused("call refused: at the call limit", "call_sid", callSID, "max_calls", s.cfg.MaxCalls)
	default:
		s.metrics.rejected.WithLabelValues(why).Inc()
		s.warnRefused("webhook refused: "+refusals[why], "call_sid", callSID, "remote", r.RemoteAddr)
	}
	if adm.why != "" {
		s.writeTwiML(w, twiml.VoiceReject{Reason: "busy"})
		return
	}
	stream := twiml.VoiceStream{Url: s.url(true, PathMediaStream),
		StatusCallback: s.url(false, PathStreamStatus), StatusCallbackMethod: http.MethodPost, InnerElements: []twiml.Element{
			twiml.VoiceParameter{Name: "CallSid", Value: callSID},
			twiml.VoiceParameter{Name: "From", Value: params.Get("From")},
			twiml.VoiceParameter{Name: "To", Value: params.Get("To")},
		}}
	if adm.token != "" {
		stream.InnerElements = append(stream.InnerElements, twiml.VoiceParameter{Name: StreamTokenParameter, Value: adm.token})
	}
	if s.writeTwiML(w, twiml.VoiceConnect{Action: s.url(false, PathStreamEnded), InnerElements: []twiml.Element{stream}}) {
		answer := "connect to the media stream; dialing the model"
		switch {
		case adm.retry:
			answer = "connect to the media stream (a retry: answered as before)"
		case s.warm != nil:
			answer = "connect to the media stream; it takes a warm model session when it starts"
		case !adm.predialed:
			answer = "connect to the media stream; the model is dialed when it starts (over the pre-dial bound)"
		}
		s.requestEvent(w, r, callSID, params, answer, start)
	}
}

// requestEvent reports a verified webhook request of a call as a debug event of
// the call (namespace callagent:http), in its call log.
func (s *Server) requestEvent(w http.ResponseWriter, r *http.Request, callSID string, params url.Values, answer string, start time.Time) {
	reportedAsEvent(w)
	now := s.now()
	s.emit(callevent.HTTPRequest{Header: callevent.Header{Time: now, CallSID: callSID}, Method: r.Method, Path: r.URL.Path,
		Status: http.StatusOK, Answer: answer, Duration: now.Sub(start), From: params.Get("From"), To: params.Get("To")})
}

// streamEnded is <Connect>'s action: Twilio asks what to do once the stream is over.
// After a model failure the caller hears an apology instead of dead air; otherwise
// the call hangs up.
func (s *Server) streamEnded(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	params, ok := s.webhookParams(w, r)
	if !ok {
		return
	}
	callSID := params.Get("CallSid")
	s.mu.Lock()
	reason := s.ended[callSID]
	s.mu.Unlock()
	verbs, answer := []twiml.Element{twiml.VoiceHangup{}}, "hang up"
	switch reason {
	case callevent.EndModelDisconnected, callevent.EndModelDialFailed, callevent.EndModelRejected, callevent.EndServerShutdown:
		if s.cfg.ApologyMessage != "-" {
			verbs, answer = []twiml.Element{twiml.VoiceSay{Message: s.cfg.ApologyMessage}, twiml.VoiceHangup{}}, "apologize, then hang up"
		}
	}
	if s.writeTwiML(w, verbs...) && callSID != "" {
		s.requestEvent(w, r, callSID, params, answer, start)
	}
}

// streamStatus is the <Stream>'s statusCallback: Twilio posts stream-started,
// stream-stopped and stream-error (with StreamError) there. A stream that fails on
// Twilio's side (a URL Twilio refuses, a handshake our server did not answer) is
// known only from this, so a stream-error becomes a warning of the call.
func (s *Server) streamStatus(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	params, ok := s.webhookParams(w, r)
	if !ok {
		return
	}
	callSID, event := params.Get("CallSid"), params.Get("StreamEvent")
	if callSID == "" || event == "" {
		s.reject(w, "bad_request", http.StatusBadRequest, "CallSid or StreamEvent is missing: this endpoint is a <Stream> statusCallback")
		return
	}
	answer := event
	if event == "stream-error" {
		text := sanitizeStreamError(params.Get("StreamError"))
		code := streamErrorCode(text)
		s.metrics.streamErrors.WithLabelValues(streamErrorLabel(code)).Inc()
		answer = "stream-error " + code
		s.emit(callevent.Warning{Header: callevent.Header{Time: s.now(), CallSID: callSID}, Code: callevent.WarnStreamError,
			Message: "Twilio reports a stream error: " + text + " (see https://www.twilio.com/docs/api/errors/" + code + ")"})
		// The stream will not come: the call's place, pre-dial and credential go
		// now, not at the end of the window (a drain need not wait for it).
		s.abandonPending(callSID)
	}
	s.requestEvent(w, r, callSID, params, answer, start)
}

// sanitizeStreamError bounds Twilio's StreamError text and drops control characters:
// it goes into logs.
func sanitizeStreamError(text string) string {
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, text)
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	if text == "" {
		return "(no StreamError given)"
	}
	return text
}

// streamErrorCode is the Twilio error code StreamError starts with (31920, 31923…),
// or "unknown".
func streamErrorCode(text string) string {
	i := 0
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	if i != 5 {
		return "unknown"
	}
	return text[:i]
}

// webhookParams reads and verifies a webhook request and returns its parameters
// (the form body of a POST, the query of a GET). It answers the request itself when
// it reports false.
func (s *Server) webhookParams(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxWebhookBody))
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			s.reject(w, "bad_request", http.StatusRequestEntityTooLarge, "the request body is too large for a Twilio webhook")
			return nil, false
		}
		if err != nil {
			s.reject(w, "bad_request", http.StatusBadRequest, "the request body could not be read")
			return nil, false
		}
	}
	// The request is in (within BodyReadTimeout, see boundReads): the answer may
	// take its time without the connection's read deadline cutting it.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	if s.verify != nil && !s.verify.webhook(r, body) {
		s.rejectSignature(w, r)
		return nil, false
	}
	if r.Method != http.MethodPost {
		return r.URL.Query(), true
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		s.reject(w, "bad_request", http.StatusBadRequest, "the form body is malformed")
		return nil, false
	}
	return params, true
}

func (s *Server) rejectSignature(w http.ResponseWriter, r *http.Request) {
	reason := "invalid"
	if r.Header.Get(SignatureHeader) == "" {
		reason = "missing"
	}
	// The signature itself is never logged: it is a credential for this one request.
	s.warnRefused("request refused: Twilio signature "+reason, "path", r.URL.Path, "remote", r.RemoteAddr,
		"hint", "check TWILIO_AUTH_TOKEN and that --public-url is the URL Twilio calls")
	s.reject(w, "signature", http.StatusForbidden, "forbidden")
}

func (s *Server) reject(w http.ResponseWriter, reason string, code int, msg string) {
	s.metrics.rejected.WithLabelValues(reason).Inc()
	http.Error(w, msg, code)
}

// url returns the public URL of path; websocket gives its WebSocket spelling (wss for
// an https public URL, ws for the http one of a local simulation).
func (s *Server) url(websocket bool, path string) string {
	u := *s.public
	if websocket {
		u.Scheme = wsScheme(u.Scheme)
	}
	u.Path += path
	return u.String()
}

func wsScheme(httpScheme string) string {
	if httpScheme == "http" {
		return "ws"
	}
	return "wss"
}

// writeTwiML answers with a TwiML document of verbs. The XML is built by twilio-go,
// which escapes every attribute and text.
func (s *Server) writeTwiML(w http.ResponseWriter, verbs ...twiml.Element) bool {
	doc, err := twiml.Voice(verbs)
	if err != nil {
		s.log.Error("building TwiML", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return false
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, doc)
	return true
}
