package livetest

// The GPT-Live side of a SIP call, on the same server as /v1/live/sessions: the
// call-control routes POST /v1/live/sessions/{session_id}/{accept,reject,refer,
// hangup}, the sideband GET /v1/live/sessions/{session_id}/attach of an accepted
// call, and RingSIP, which announces a call with a signed live.transport.incoming
// webhook (or the deprecated live.call.incoming) as OpenAI does.
//
// Where each behaviour comes from:
//   - Routes and bodies: the voice-sip guide and the openai package's
//     resources/live/sessions.d.ts (accept {session: {type "live", model, audio
//     {output {voice}}, delegation, input, instructions, safety_identifier, store,
//     triggers}}: "SIP media format is negotiated; omit audio.format"; reject
//     {status_code} required, 300–699; refer {target_uri}; hangup; all void).
//   - The webhook: resources/webhooks/webhooks.d.ts (live.transport.incoming with
//     data.type "sip", data.session_id live_…, sip_headers; live.call.incoming
//     deprecated, no data.type), the voice-sip guide's example body.
//   - The attached socket: resources/live/sideband (the URL …/attach; its client
//     events exclude session.start and input audio, its server events include the
//     model's output audio): the twin answers a session.start or an audio append
//     with an error event, and sends the session's events, audio included.
//     Whether attaching sends session.started is not documented; session.started
//     is among the sideband's server events, and the twin sends it on attach.
//   - What the attach socket reflects (sideband ConnectServerEvent): the caller's
//     audio "received from the primary transport", as session.input_audio.append
//     {type, audio: mono PCM16LE at 24 kHz}, no event_id (CallerSays); the
//     model's audio as session.output_audio.delta with start_ms and end_ms,
//     "required on reflected sideband events" (Say). How the reflected caller
//     audio is chunked is not published: the twin sends 20 ms a event, a SIP
//     trunk's RTP packet time. Nothing on the socket says when the caller stopped
//     speaking (no speech_started or speech_stopped exists for Live): the
//     caller's words arrive as session.input_transcript.delta, stamped on the
//     session timeline.
//   - The error of an unknown or ended session: not documented for Live; the twin
//     answers 404 with code session_not_found (sipcall.APIError.CallGone covers
//     both engines by the status). Ring timeout, a second accept, refer of a
//     ringing call: as realtimetest's sip.go (undocumented, the twin's choices).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/eventrecord"
	"github.com/callagent/callagent/internal/siptwin"
	"github.com/callagent/callagent/internal/statewait"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/sipcall"
)

// DefaultRingTimeout is how long a SIP call rings waiting for its accept (as
// realtimetest's: SIP's INVITE timeout, rounded).
const DefaultRingTimeout = 30 * time.Second

// WebhookUserAgent is the user-agent of OpenAI's webhook requests.
const WebhookUserAgent = sipcall.WebhookUserAgent

// CodeSessionNotFound is the twin's error code for an unknown or ended session.
const CodeSessionNotFound = "session_not_found"

// SIPConfig configures the twin's SIP calls (Model.SIP).
type SIPConfig struct {
	RingTimeout time.Duration // default DefaultRingTimeout
}

// SIP call states.
const (
	SIPRinging  = siptwin.Ringing
	SIPAccepted = siptwin.Accepted
	SIPRejected = siptwin.Rejected
	SIPMissed   = siptwin.Missed
	SIPReferred = siptwin.Referred
	SIPEnded    = siptwin.Ended
)

type sipState struct {
	mu      sync.Mutex
	calls   map[string]*SIPCall
	seq     int
	closers sync.WaitGroup
}

// SIPRing is a phone call arriving at OpenAI over SIP for GPT-Live.
type SIPRing struct {
	WebhookURL, Secret string
	From, To           string
	Headers            []sipcall.Header
	SessionID          string // default live_… generated
	// Deprecated sends live.call.incoming (no data.type) instead of
	// live.transport.incoming: a subscription made before the rename.
	Deprecated                    bool
	BadSignature, Unsigned, Stale bool
	Attempts                      int           // default 3
	RetryDelay                    time.Duration // default 100 ms, doubled per retry
	HTTPClient                    *http.Client
}

// Delivery is one attempt to deliver the webhook.
type Delivery = sipcall.Delivery

// deliverOptions are the ring's delivery options.
func (o SIPRing) deliverOptions() sipcall.DeliverOptions {
	return sipcall.DeliverOptions{URL: o.WebhookURL, Secret: o.Secret, BadSignature: o.BadSignature, Unsigned: o.Unsigned,
		Stale: o.Stale, Attempts: o.Attempts, RetryDelay: o.RetryDelay, HTTPClient: o.HTTPClient}
}

// SIPCall is a SIP call on the twin: its state, what the app did to it and the
// webhook's deliveries (internal/siptwin's methods, shared with realtimetest's).
type SIPCall struct {
	*siptwin.Call[*ModelConn, Delivery]
	m *Model
}

func (m *Model) sipCalls() *sipState {
	m.init()
	m.sip.mu.Lock()
	if m.sip.calls == nil {
		m.sip.calls = map[string]*SIPCall{}
	}
	m.sip.mu.Unlock()
	return &m.sip
}

// RingSIP places a call and posts its webhook, signed as o asks, retried while
// not answered 2xx (o.Attempts, while the call rings). It returns the call and,
// when no delivery was answered 2xx, why.
func (m *Model) RingSIP(ctx context.Context, o SIPRing) (*SIPCall, error) {
	st := m.sipCalls()
	st.mu.Lock()
	st.seq++
	id := o.SessionID
	if id == "" {
		id = fmt.Sprintf("live_twin%d", st.seq)
	}
	if _, dup := st.calls[id]; dup {
		st.mu.Unlock()
		return nil, fmt.Errorf("livetest: session %s exists", id)
	}
	call := &SIPCall{Call: siptwin.New[*ModelConn, Delivery](id, "wh_twin_"+id, new(statewait.Changes), &st.closers), m: m}
	st.calls[id] = call
	st.mu.Unlock()
	ring := m.SIP.RingTimeout
	if ring <= 0 {
		ring = DefaultRingTimeout
	}
	call.RingFor(ring, func() { call.End(SIPRinging, SIPMissed, false, endSession("")) })
	from, to := o.From, o.To
	if from == "" {
		from = "sip:+14155550123@sip.example.com"
	}
	if to == "" {
		to = "sip:+18005550100@sip.example.com"
	}
	headers := append([]sipcall.Header{{Name: "From", Value: from}, {Name: "To", Value: to},
		{Name: "Call-ID", Value: id + "@twin.invalid"}}, o.Headers...)
	data := map[string]any{"type": "sip", "session_id": id, "sip_headers": headers, "sip_media_security": "srtp"}
	typ := sipcall.TypeLiveTransportIncoming
	if o.Deprecated {
		typ = sipcall.TypeLiveCallIncoming
		delete(data, "type")
	}
	body, err := json.Marshal(map[string]any{"object": "event", "id": "evt_twin_" + id, "type": typ,
		"created_at": time.Now().Unix(), "data": data})
	if err != nil {
		return call, err
	}
	m.recordSIP("webhook", body)
	return call, sipcall.Deliver(ctx, o.deliverOptions(), call.WebhookID(), body, call.Ringing, call.Delivered)
}

// CallerHangup ends the call from the phone: the sidebands get session.closed
// (remote_hangup) and close.
func (c *SIPCall) CallerHangup() { c.End("", SIPEnded, false, endSession(live.ClosedRemoteHangup)) }

// endSession closes an attached socket of a call that is over: with
// session.closed and reason, or (reason "") just the socket.
func endSession(reason string) func(*ModelConn) {
	return func(mc *ModelConn) {
		if reason != "" {
			mc.EndSession(reason)
		} else {
			mc.ws.Close(websocket.StatusNormalClosure, "call ended")
		}
	}
}

func sessionNotFound(w http.ResponseWriter, id string) {
	httpError(w, http.StatusNotFound, CodeSessionNotFound, "", fmt.Sprintf("Session with id '%s' not found.", id))
}

// acceptSession is SessionAcceptParams.Session (openai resources/live/sessions.d.ts).
var acceptSession = object(fields{of: map[string]check{
	"type":         str("live"),
	"model":        liveModel,
	"instructions": nullable(str()),
	// No format: SIP negotiates the media format ("omit audio.format").
	"audio":             object(fields{of: map[string]check{"output": object(fields{of: map[string]check{"voice": voice}})}}),
	"delegation":        nullable(delegation(true)),
	"input":             array(128, byType(map[string]*fields{"message": nil})),
	"safety_identifier": nullable(str()),
	"store":             boolean,
	"triggers":          array(16, freeObject),
}, required: []string{"type", "model"}})

// serveSIP answers the SIP routes under /live/sessions/{id}/; false for others.
func (m *Model) serveSIP(w http.ResponseWriter, r *http.Request) bool {
	_, rest, ok := strings.Cut(r.URL.Path, "/live/sessions/")
	if !ok {
		return false
	}
	if m.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+m.APIKey {
		httpError(w, http.StatusUnauthorized, "invalid_api_key", "", "Incorrect API key provided.")
		return true
	}
	id, op, ok := strings.Cut(rest, "/")
	if !ok || id == "" || strings.Contains(op, "/") {
		httpError(w, http.StatusNotFound, "not_found", "", "Unknown route.")
		return true
	}
	st := m.sipCalls()
	st.mu.Lock()
	call := st.calls[id]
	st.mu.Unlock()
	if op == "attach" {
		if call == nil || call.State() != SIPAccepted {
			sessionNotFound(w, id)
			return true
		}
		m.attach(w, r, call)
		return true
	}
	if r.Method != http.MethodPost {
		httpError(w, http.StatusMethodNotAllowed, "method_not_allowed", "", "Only POST is allowed.")
		return true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return true
	}
	if call == nil || !call.InProgress() {
		sessionNotFound(w, id)
		return true
	}
	var req map[string]any
	if op != "hangup" || len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil || req == nil {
			httpError(w, http.StatusBadRequest, "invalid_json", "", "We could not parse the JSON body of your request.")
			return true
		}
	}
	switch op {
	case "accept":
		call.accept(w, req)
	case "reject":
		call.reject(w, req)
	case "refer":
		call.refer(w, req)
	case "hangup":
		if len(req) > 0 {
			httpError(w, http.StatusBadRequest, "unknown_parameter", "", "hangup takes no parameters.")
			return true
		}
		if !call.End("", SIPEnded, true, endSession(live.ClosedRequested)) {
			sessionNotFound(w, id)
		}
	default:
		httpError(w, http.StatusNotFound, "not_found", "", fmt.Sprintf("Unknown session operation '%s'.", op))
	}
	return true
}

func onlyMembers(w http.ResponseWriter, req map[string]any, names ...string) bool {
	for k := range req {
		found := false
		for _, n := range names {
			found = found || k == n
		}
		if !found {
			httpError(w, http.StatusBadRequest, "unknown_parameter", k, fmt.Sprintf("Unknown parameter: '%s'.", k))
			return false
		}
	}
	return true
}

func (c *SIPCall) accept(w http.ResponseWriter, req map[string]any) {
	if !onlyMembers(w, req, "session") {
		return
	}
	sess, ok := req["session"]
	if !ok {
		httpError(w, http.StatusBadRequest, "missing_required_parameter", "session", "Missing required parameter: 'session'.")
		return
	}
	if perr := acceptSession("session", sess); perr != nil {
		httpError(w, http.StatusBadRequest, perr.code, perr.param, perr.msg)
		return
	}
	raw, _ := json.Marshal(sess)
	if !c.Accept(raw) {
		httpError(w, http.StatusBadRequest, "call_not_ringing", "", "The call has already been accepted.")
		return
	}
	c.m.recordSIPRequest("live.sessions.accept", req)
	w.WriteHeader(http.StatusOK)
}

func (c *SIPCall) reject(w http.ResponseWriter, req map[string]any) {
	if !onlyMembers(w, req, "status_code") {
		return
	}
	v, ok := req["status_code"]
	if !ok {
		// Required for Live (sessions.d.ts), unlike Realtime's default 603.
		httpError(w, http.StatusBadRequest, "missing_required_parameter", "status_code", "Missing required parameter: 'status_code'.")
		return
	}
	f, ok := v.(float64)
	if !ok || f != float64(int(f)) || f < 300 || f > 699 {
		httpError(w, http.StatusBadRequest, "invalid_value", "status_code", "Invalid 'status_code': expected a SIP status between 300 and 699.")
		return
	}
	if !c.Reject(int(f), endSession("")) {
		httpError(w, http.StatusBadRequest, "call_not_ringing", "", "Only a ringing call can be rejected; hang up an accepted call.")
		return
	}
	c.m.recordSIPRequest("live.sessions.reject", req)
	w.WriteHeader(http.StatusOK)
}

func (c *SIPCall) refer(w http.ResponseWriter, req map[string]any) {
	if !onlyMembers(w, req, "target_uri") {
		return
	}
	target, _ := req["target_uri"].(string)
	if target == "" {
		httpError(w, http.StatusBadRequest, "missing_required_parameter", "target_uri", "Missing required parameter: 'target_uri'.")
		return
	}
	if !sipcall.IsReferTarget(target) {
		httpError(w, http.StatusBadRequest, "invalid_value", "target_uri", "Invalid 'target_uri': expected a tel: or sip: URI.")
		return
	}
	if !c.Refer(target, endSession(live.ClosedRemoteHangup)) {
		httpError(w, http.StatusBadRequest, "call_not_active", "", "Only an accepted call can be referred.")
		return
	}
	c.m.recordSIPRequest("live.sessions.refer", req)
	w.WriteHeader(http.StatusOK)
}

// attach serves the sideband of an accepted call: a ModelConn already started
// with the accepted session, which sends session.started and then runs like any.
func (m *Model) attach(w http.ResponseWriter, r *http.Request, call *SIPCall) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(live.DefaultReadLimit)
	m.wg.Add(1)
	defer m.wg.Done()
	c := newModelConn(m, ws, r, m.seq.Add(1))
	c.attached = call.ID()
	var start live.SessionStart
	_ = json.Unmarshal(call.Session(), &start.Session)
	ended := call.Attach(c, nil) != nil // hung up meanwhile: the socket closes once started
	m.mu.Lock()
	m.conns[c] = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.conns, c)
		m.mu.Unlock()
	}()
	c.start(&start, "")
	c.mu.Lock()
	c.received = nil // the app sent no session.start
	c.mu.Unlock()
	if ended {
		c.ws.Close(websocket.StatusNormalClosure, "call ended")
	}
	c.run()
}

// AttachedTo is the session_id of the SIP call an attached socket observes, ""
// for an ordinary connection.
func (c *ModelConn) AttachedTo() string { return c.attached }

// recordSIP hands a body of the SIP side to the conformance recorder
// (internal/eventrecord, files sip-PID.jsonl): a webhook the twin sent, or a
// call-control request it accepted. kind names its TypeScript type for
// scripts/conformance ("webhook": by its type; "live.sessions.accept":
// SessionAcceptParams, …). A Model marked Unchecked records nothing.
func (m *Model) recordSIP(kind string, body []byte) {
	if m.Unchecked {
		return
	}
	if r := eventrecord.FromEnv(eventrecord.SIPPrefix); r != nil {
		r.Record(kind, body)
	}
}

// recordSIPRequest is recordSIP of a request body already decoded.
func (m *Model) recordSIPRequest(kind string, req map[string]any) {
	if body, err := json.Marshal(req); err == nil {
		m.recordSIP(kind, body)
	}
}

// TypeDTMFReceived is the attach socket's key press event: "A SIP DTMF keypress
// received from the caller. Delivered only to sideband observers." {type
// "transport.dtmf.received", event_id, event: the digit or signal} (the Live API
// reference's LiveServerEventLiveTransportDtmfReceived, as Azure's ai-projects
// types publish it).
const TypeDTMFReceived = "transport.dtmf.received"

// PressDTMF simulates the caller pressing a key on the SIP leg: the attach socket
// gets transport.dtmf.received. Only an attached socket observes key presses;
// digit is one of 0–9, *, #, A–D.
func (c *ModelConn) PressDTMF(digit string) error {
	if c.attached == "" {
		return errors.New("livetest: DTMF events are delivered to the attach socket of a SIP call only")
	}
	if len(digit) != 1 || !strings.Contains("0123456789*#ABCD", digit) {
		return fmt.Errorf("livetest: %q is not a DTMF key", digit)
	}
	b, _ := json.Marshal(map[string]string{"type": TypeDTMFReceived, "event_id": "", "event": digit})
	return c.write(c.withEventID(b))
}

// reflectChunk is the caller audio of one reflected session.input_audio.append:
// 20 ms of 24 kHz PCM16 (the API's chunking is not published; 20 ms is a SIP
// trunk's RTP packet time).
const reflectChunk = 20 * 48

// CallerSays simulates the caller speaking on the SIP leg, as an attached socket
// sees it: ms of the caller's audio reflected (session.input_audio.append, 24 kHz
// PCM16, a quiet tone), then its transcript (session.input_transcript.delta
// spanning that audio on the session timeline). The model stops speaking (Say: it
// owns barge-in). ms 0 counts 60 ms per character.
func (c *ModelConn) CallerSays(text string, ms int) error {
	if c.attached == "" {
		return errors.New("livetest: CallerSays speaks on a SIP call: use an attached socket (on a primary one, send the audio)")
	}
	if ms <= 0 {
		ms = 60 * max(1, len(text))
	}
	start := c.timeline()
	c.mu.Lock()
	c.speaking = true
	c.speeches++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.speaking = false
		c.mu.Unlock()
		c.notify()
	}()
	pcm := make([]byte, reflectChunk)
	for i := 0; i+1 < len(pcm); i += 2 {
		v := int16(800) // a square wave at 1.2 kHz: speech-loud, not silence
		if (i/2)/10%2 == 1 {
			v = -v
		}
		pcm[i], pcm[i+1] = byte(v), byte(uint16(v)>>8)
	}
	frame, _ := json.Marshal(map[string]string{"type": live.TypeInputAudioAppend, "audio": base64.StdEncoding.EncodeToString(pcm)})
	for sent := 0; sent < ms; sent += reflectChunk / 48 {
		if err := c.write(frame); err != nil {
			return err
		}
		c.mu.Lock()
		c.reflected += reflectChunk / 48
		c.mu.Unlock()
	}
	return c.Send(&live.InputTranscriptDelta{Delta: text, StartMs: start, EndMs: c.timeline()})
}

// sendOutputAudio sends a chunk of the model's speech spanning start to end on
// the session timeline: stamped on an attached socket, as the sideband reflects
// it; plain on the primary one.
func (c *ModelConn) sendOutputAudio(part []byte, start, end int64) error {
	delta := base64.StdEncoding.AppendEncode(nil, part)
	if c.attached == "" {
		return c.Send(&live.OutputAudioDelta{Delta: live.Audio(delta)})
	}
	b, err := json.Marshal(map[string]any{"type": live.TypeOutputAudioDelta, "delta": string(delta), "start_ms": start, "end_ms": end})
	if err != nil {
		return err
	}
	return c.write(b)
}
