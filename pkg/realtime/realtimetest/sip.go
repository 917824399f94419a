package realtimetest

// The OpenAI side of a SIP call, on the same server as the Realtime WebSocket:
// the call-control routes POST /v1/realtime/calls/{call_id}/{accept,reject,refer,
// hangup}, the sideband socket /v1/realtime?call_id=ID of an accepted call, and
// RingSIP, which announces a call to the application with a signed
// realtime.call.incoming webhook as OpenAI does.
//
// Where each behaviour comes from:
//   - Routes, bodies, 200 with no body: the realtime-sip guide, openai-node
//     resources/realtime/calls.ts (accept/hangup/refer/reject return void; reject's
//     status_code defaults to 603), the community report of refer answering
//     "HTTP/1.1 200 OK, content-length: 0".
//   - The accept body is the session itself (CallAcceptParams: type "realtime"
//     required); an accept missing session.type failed with "Missing required
//     parameter: 'session.type'" (community thread "Realtime API SIP inbound calls
//     failing", May 2026: the real API answered 200 and failed the call later; the
//     twin refuses at once, with session.update's checks, which is stricter).
//   - An unknown or ended call: 404 call_id_not_found (the same thread: the
//     sideband of a failed call answered 404 call_id_not_found; the community
//     thread on the accept of an expired call taking ~5 s to answer 404
//     call_id_not_found).
//   - The sideband URL ?call_id= (realtime-sip guide, realtime-server-controls).
//   - Audio never crosses the sideband: the SIP leg carries it. A sideband sees
//     no response.output_audio.delta (community: "response.output_audio.delta does
//     not ever get sent via webrtc or websocket [sideband]", while
//     response.output_audio.done and the transcripts arrive). What the API does
//     with an input_audio_buffer.append on a SIP call's sideband is not
//     documented: the twin answers an invalid_request_error and drops the audio,
//     so a control plane that tries to relay audio fails its tests.
//   - Webhook headers and user-agent: the realtime-sip guide's example request;
//     the signature: Standard Webhooks (pkg/sipcall). Retries: OpenAI retries a
//     delivery not answered 2xx with exponential backoff (webhooks guide, up to 72
//     hours); a ringing call is not worth more than its ring time, so the twin
//     stops at SIPRing.Attempts or when the call stops ringing.
//   - Ring timeout: not documented. DefaultRingTimeout is SIP's INVITE transaction
//     timeout (RFC 3261 Timer B, 64×T1 = 32 s), rounded: a call not accepted by
//     then is gone (accept → 404).
//   - Accept twice, refer or hangup of a call not in progress: not documented;
//     the twin refuses them (400 invalid_request_error, code call_not_ringing /
//     call_not_active) and names that choice here.

import (
	"bytes"
	"context"
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
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/sipcall"
)

// DefaultRingTimeout is how long a SIP call rings waiting for its accept.
const DefaultRingTimeout = 30 * time.Second

// WebhookUserAgent is the user-agent of OpenAI's webhook requests.
const WebhookUserAgent = sipcall.WebhookUserAgent

// SIPConfig configures the twin's SIP calls (Model.SIP).
type SIPConfig struct {
	// RingTimeout is how long a call rings unanswered before it is gone (default
	// DefaultRingTimeout).
	RingTimeout time.Duration
}

// SIP call states.
const (
	SIPRinging  = siptwin.Ringing
	SIPAccepted = siptwin.Accepted
	SIPRejected = siptwin.Rejected
	SIPMissed   = siptwin.Missed   // rang out
	SIPReferred = siptwin.Referred // transferred away by a refer
	SIPEnded    = siptwin.Ended    // hung up (by the app or the caller)
)

type sipState struct {
	mu      sync.Mutex
	calls   map[string]*SIPCall
	seq     int
	closers sync.WaitGroup // sideband closes in flight (Model.Close waits)
}

// SIPRing is a phone call arriving at OpenAI over SIP.
type SIPRing struct {
	// WebhookURL and Secret are the project's webhook endpoint and its signing
	// secret (whsec_…).
	WebhookURL, Secret string
	// From and To become the INVITE's From and To headers (default a US number
	// each); Headers are more of them (X-… headers a trunk adds).
	From, To string
	Headers  []sipcall.Header
	// CallID is the call's id (default rtc_… generated).
	CallID string
	// BadSignature signs with another key; Unsigned sends no signature headers:
	// what a forged webhook looks like.
	BadSignature, Unsigned bool
	// Stale signs with a timestamp outside the tolerance (a replay).
	Stale bool
	// Attempts bounds the deliveries of the webhook (default 3: the first and two
	// retries); RetryDelay is the wait before the first retry, doubled after
	// (default 100 ms; OpenAI's are longer).
	Attempts   int
	RetryDelay time.Duration
	// HTTPClient delivers the webhook (default http.DefaultClient).
	HTTPClient *http.Client
}

// Delivery is one attempt to deliver the webhook.
type Delivery = sipcall.Delivery

// deliverOptions are the ring's delivery options.
func (o SIPRing) deliverOptions() sipcall.DeliverOptions {
	return sipcall.DeliverOptions{URL: o.WebhookURL, Secret: o.Secret, BadSignature: o.BadSignature, Unsigned: o.Unsigned,
		Stale: o.Stale, Attempts: o.Attempts, RetryDelay: o.RetryDelay, HTTPClient: o.HTTPClient}
}

// SIPCall is a SIP call on the twin: its state, what the app did to it and the
// webhook's deliveries (internal/siptwin's methods, shared with livetest's).
// Its methods are safe from any goroutine.
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

// RingSIP places a call: it rings, and OpenAI's realtime.call.incoming webhook is
// posted to o.WebhookURL, signed (or not, as o asks), retried while the answer is
// not 2xx, up to o.Attempts and while the call rings. It returns the call and,
// when no delivery was answered 2xx, an error saying why. The call stays ringing
// until the app accepts or rejects it or the ring timeout passes.
func (m *Model) RingSIP(ctx context.Context, o SIPRing) (*SIPCall, error) {
	st := m.sipCalls()
	st.mu.Lock()
	st.seq++
	n := st.seq
	id := o.CallID
	if id == "" {
		id = fmt.Sprintf("rtc_twin%d_%d", m.seq.Load(), n)
	}
	if _, dup := st.calls[id]; dup {
		st.mu.Unlock()
		return nil, fmt.Errorf("realtimetest: call %s exists", id)
	}
	call := &SIPCall{Call: siptwin.New[*ModelConn, Delivery](id, fmt.Sprintf("wh_twin_%s", id), new(statewait.Changes), &st.closers), m: m}
	st.calls[id] = call
	st.mu.Unlock()
	ring := m.SIP.RingTimeout
	if ring <= 0 {
		ring = DefaultRingTimeout
	}
	call.RingFor(ring, func() { call.End(SIPRinging, SIPMissed, false, closeSideband) })

	from, to := o.From, o.To
	if from == "" {
		from = "sip:+14155550123@sip.example.com"
	}
	if to == "" {
		to = "sip:+18005550100@sip.example.com"
	}
	headers := append([]sipcall.Header{{Name: "From", Value: from}, {Name: "To", Value: to},
		{Name: "Call-ID", Value: fmt.Sprintf("%s@twin.invalid", id)}}, o.Headers...)
	body, err := json.Marshal(map[string]any{
		"object": "event", "id": fmt.Sprintf("evt_twin_%s", id), "type": sipcall.TypeRealtimeCallIncoming,
		"created_at": time.Now().Unix(),
		"data":       map[string]any{"call_id": id, "sip_headers": headers},
	})
	if err != nil {
		return call, err
	}
	m.recordSIP("webhook", body)
	return call, sipcall.Deliver(ctx, o.deliverOptions(), call.WebhookID(), body, call.Ringing, call.Delivered)
}

// CallerHangup ends the call from the phone's side: the sidebands close.
func (c *SIPCall) CallerHangup() { c.End("", SIPEnded, false, closeSideband) }

// closeSideband closes a sideband of a call that is over: the session ends and its
// socket with it.
func closeSideband(mc *ModelConn) { mc.ws.Close(websocket.StatusNormalClosure, "call ended") }

// apiError writes OpenAI's error shape.
func apiError(w http.ResponseWriter, status int, code, param, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var p any
	if param != "" {
		p = param
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": code, "param": p}})
	w.Write(b)
}

func callNotFound(w http.ResponseWriter, id string) {
	apiError(w, http.StatusNotFound, sipcall.CodeCallNotFound, "", fmt.Sprintf("Call with id '%s' not found.", id))
}

// serveCalls answers POST /v1/realtime/calls/{call_id}/{op}; false when the
// request is not for those routes.
func (m *Model) serveCalls(w http.ResponseWriter, r *http.Request) bool {
	_, rest, ok := strings.Cut(r.URL.Path, "/realtime/calls/")
	if !ok {
		return false
	}
	if m.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+m.APIKey {
		apiError(w, http.StatusUnauthorized, "invalid_api_key", "", "Incorrect API key provided.")
		return true
	}
	id, op, ok := strings.Cut(rest, "/")
	if !ok || id == "" || strings.Contains(op, "/") {
		apiError(w, http.StatusNotFound, "not_found", "", "Unknown route.")
		return true
	}
	if r.Method != http.MethodPost {
		apiError(w, http.StatusMethodNotAllowed, "method_not_allowed", "", "Only POST is allowed.")
		return true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return true
	}
	st := m.sipCalls()
	st.mu.Lock()
	call := st.calls[id]
	st.mu.Unlock()
	if call == nil {
		callNotFound(w, id)
		return true
	}
	switch op {
	case "accept":
		call.accept(w, body)
	case "reject":
		call.reject(w, body)
	case "refer":
		call.refer(w, body)
	case "hangup":
		if len(bytes.TrimSpace(body)) > 0 && string(bytes.TrimSpace(body)) != "{}" {
			apiError(w, http.StatusBadRequest, "unknown_parameter", "", "hangup takes no parameters.")
			return true
		}
		if !call.End("", SIPEnded, true, closeSideband) {
			callNotFound(w, id)
			return true
		}
	default:
		apiError(w, http.StatusNotFound, "not_found", "", fmt.Sprintf("Unknown call operation '%s'.", op))
		return true
	}
	return true
}

// gone answers for a call that is over: 404, as for an unknown id.
func (c *SIPCall) gone(w http.ResponseWriter) bool {
	if c.InProgress() {
		return false
	}
	callNotFound(w, c.ID())
	return true
}

func (c *SIPCall) accept(w http.ResponseWriter, body []byte) {
	if c.gone(w) {
		return
	}
	var sess map[string]any
	if err := json.Unmarshal(body, &sess); err != nil || sess == nil {
		apiError(w, http.StatusBadRequest, "invalid_json", "", "We could not parse the JSON body of your request.")
		return
	}
	if _, ok := sess["type"]; !ok {
		apiError(w, http.StatusBadRequest, "missing_required_parameter", "session.type", "Missing required parameter: 'session.type'.")
		return
	}
	if perr := sessionUpdate("session", sess); perr != nil {
		apiError(w, http.StatusBadRequest, perr.code, perr.param, perr.msg)
		return
	}
	model, _ := sess["model"].(string)
	if model == "" {
		model = defaultSession("")["model"].(string)
	}
	if perr := modelChecks(model, sess); perr != nil {
		apiError(w, http.StatusBadRequest, perr.code, perr.param, perr.msg)
		return
	}
	if !c.Accept(body) {
		apiError(w, http.StatusBadRequest, "call_not_ringing", "", "The call has already been accepted.")
		return
	}
	c.m.recordSIP("realtime.calls.accept", body)
	w.WriteHeader(http.StatusOK) // no body (calls.ts: APIPromise<void>)
}

func (c *SIPCall) reject(w http.ResponseWriter, body []byte) {
	if c.gone(w) {
		return
	}
	status := sipcall.DeclineStatus
	if len(bytes.TrimSpace(body)) > 0 {
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			apiError(w, http.StatusBadRequest, "invalid_json", "", "We could not parse the JSON body of your request.")
			return
		}
		for k, v := range req {
			if k != "status_code" {
				apiError(w, http.StatusBadRequest, "unknown_parameter", k, fmt.Sprintf("Unknown parameter: '%s'.", k))
				return
			}
			f, ok := v.(float64)
			if !ok || f != float64(int(f)) || f < 300 || f > 699 {
				apiError(w, http.StatusBadRequest, "invalid_value", "status_code", "Invalid 'status_code': expected a SIP status between 300 and 699.")
				return
			}
			status = int(f)
		}
	}
	if !c.Reject(status, closeSideband) {
		apiError(w, http.StatusBadRequest, "call_not_ringing", "", "Only a ringing call can be rejected; hang up an accepted call.")
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		c.m.recordSIP("realtime.calls.reject", body)
	}
	w.WriteHeader(http.StatusOK)
}

func (c *SIPCall) refer(w http.ResponseWriter, body []byte) {
	if c.gone(w) {
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_json", "", "We could not parse the JSON body of your request.")
		return
	}
	for k := range req {
		if k != "target_uri" {
			apiError(w, http.StatusBadRequest, "unknown_parameter", k, fmt.Sprintf("Unknown parameter: '%s'.", k))
			return
		}
	}
	target, _ := req["target_uri"].(string)
	if target == "" {
		apiError(w, http.StatusBadRequest, "missing_required_parameter", "target_uri", "Missing required parameter: 'target_uri'.")
		return
	}
	if !sipcall.IsReferTarget(target) {
		// calls.d.ts: "Supports values like tel:+14155550123 or sip:agent@example.com".
		apiError(w, http.StatusBadRequest, "invalid_value", "target_uri", "Invalid 'target_uri': expected a tel: or sip: URI.")
		return
	}
	// The REFER takes the caller elsewhere: OpenAI leaves the call and its session
	// ends (the call "stays on the original audio path" only when the REFER fails).
	if !c.Refer(target, closeSideband) {
		apiError(w, http.StatusBadRequest, "call_not_active", "", "Only an accepted call can be referred.")
		return
	}
	c.m.recordSIP("realtime.calls.refer", body)
	w.WriteHeader(http.StatusOK)
}

// sidebandAllowed answers the handshake of a sideband for a call that is not
// accepted (404 call_id_not_found) and reports whether it may go on.
func (m *Model) sidebandAllowed(w http.ResponseWriter, id string) bool {
	st := m.sipCalls()
	st.mu.Lock()
	call := st.calls[id]
	st.mu.Unlock()
	if call == nil || call.State() != SIPAccepted {
		callNotFound(w, id)
		return false
	}
	return true
}

// sidebandSession makes a new sideband connection's session the accepted one and
// ties the connection to its call. Called by ModelConn.run before session.created.
func (m *Model) sidebandSession(c *ModelConn, id string) error {
	st := m.sipCalls()
	st.mu.Lock()
	call := st.calls[id]
	st.mu.Unlock()
	if call == nil {
		return errors.New("no such call")
	}
	return call.Attach(c, func(session json.RawMessage) error {
		var sess map[string]any
		if err := json.Unmarshal(session, &sess); err != nil {
			return err
		}
		next := clone(c.sess)
		merge(next, sess, "session")
		if next["model"] == "" || next["model"] == nil {
			next["model"] = defaultSession("")["model"]
		}
		c.sess = next
		c.sipCall = id
		return nil
	})
}

// CallerSays simulates the caller speaking on the SIP leg: speech started, ms of
// audio, speech stopped with its transcript. The audio itself never reaches the
// sideband; only the events do. ms 0 counts 60 ms per character.
func (c *ModelConn) CallerSays(text string, ms int) {
	if ms <= 0 {
		ms = 60 * max(1, len(text))
	}
	c.SpeechStarted()
	c.mu.Lock()
	c.audioBytes += ms * 8 // the SIP leg's audio, on the model's clock
	c.mu.Unlock()
	c.SpeechStopped(text)
}

// SIPCallID is the call_id of a sideband connection, "" for an ordinary one.
func (c *ModelConn) SIPCallID() string { return c.sipCall }

// recordSIP hands a body of the SIP side to the conformance recorder
// (internal/eventrecord, files sip-PID.jsonl): a webhook the twin sent, or a
// call-control request it accepted. kind names its TypeScript type for
// scripts/conformance ("webhook": by its type; "realtime.calls.accept":
// CallAcceptParams, …). A Model marked Unchecked records nothing.
func (m *Model) recordSIP(kind string, body []byte) {
	if m.Unchecked {
		return
	}
	if r := eventrecord.FromEnv(eventrecord.SIPPrefix); r != nil {
		r.Record(kind, body)
	}
}

// SIP-only server events of the sideband. Their facts are the API reference's
// (openai-openapi RealtimeServerEvent*, "WebRTC/SIP Only"):
//   - output_audio_buffer.started {event_id, response_id}: "emitted when the server
//     begins streaming audio to the client ... after an audio content part has
//     been added (response.content_part.added) to the response";
//   - output_audio_buffer.stopped {event_id, response_id}: "emitted when the output
//     audio buffer has been completely drained on the server, and no more audio is
//     forthcoming ... after the full response data has been sent (response.done)":
//     the twin plays the audio at real time (G.711: 8 bytes a millisecond, what the
//     trunk negotiates) and sends it once the last of it has played;
//   - output_audio_buffer.cleared {event_id, response_id}: "emitted when the output
//     audio buffer is cleared ... in VAD mode when the user has interrupted
//     (input_audio_buffer.speech_started)": the twin sends it after a speech_started
//     that interrupts (turn detection with interrupt_response) while audio plays;
//   - the client's output_audio_buffer.clear {event_id}: "WebRTC/SIP Only: Emit to
//     cut off the current audio response ... emit a output_audio_buffer.cleared
//     event. This event should be preceded by a response.cancel" (openai
//     OutputAudioBufferClearEvent): the twin stops the playing audio and sends
//     cleared; a response.cancel alone does not (the audio already generated plays
//     out, then stopped), and a response still generating starts playing again.
//     On a WebSocket that is not a SIP call's sideband the twin answers an
//     invalid_request_error (the API's wording is not published); with nothing
//     playing it answers nothing (undocumented: no response_id to report);
//   - input_audio_buffer.dtmf_event_received {event, received_at}: "SIP Only:
//     returned when a DTMF event is received ... event is the keypad that the user
//     pressed (0–9, *, #, A–D), received_at the UTC Unix timestamp" (PressDTMF).
const (
	typeOutputStarted = "output_audio_buffer.started"
	typeOutputStopped = "output_audio_buffer.stopped"
	typeOutputCleared = "output_audio_buffer.cleared"
	typeDTMF          = "input_audio_buffer.dtmf_event_received"
)

// sipPlayback is what a sideband's call is playing to the caller. Guarded by
// ModelConn.mu.
type sipPlayback struct {
	resp  string    // the response whose audio plays, "" when none
	until time.Time // when what was sent so far ends playing
}

// sipAudio notes a chunk of n bytes of respID's audio sent to the caller over
// SIP, and reports output_audio_buffer.started at the response's first.
func (c *ModelConn) sipAudio(respID string, n int) {
	now := time.Now()
	c.mu.Lock()
	started := c.play.resp != respID
	if started || c.play.until.Before(now) {
		c.play.until = now
	}
	c.play.resp = respID
	c.play.until = c.play.until.Add(time.Duration(n) * time.Millisecond / 8)
	c.mu.Unlock()
	if started {
		c.sendOutputBuffer(typeOutputStarted, respID)
	}
}

// sipResponseDone sends output_audio_buffer.stopped once respID's audio has played
// (after its response.done), unless it was cleared or followed meanwhile.
func (c *ModelConn) sipResponseDone(respID string) {
	c.mu.Lock()
	playing, wait := c.play.resp == respID, time.Until(c.play.until)
	c.mu.Unlock()
	if !playing {
		return
	}
	c.wg.Go(func() {
		t := time.NewTimer(max(wait, 0))
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.done:
			return
		}
		c.mu.Lock()
		still := c.play.resp == respID && !time.Now().Before(c.play.until)
		if still {
			c.play.resp = ""
		}
		c.mu.Unlock()
		if still {
			c.sendOutputBuffer(typeOutputStopped, respID)
		}
	})
}

// sipInterrupted clears the audio playing when the caller interrupts.
func (c *ModelConn) sipInterrupted() {
	c.mu.Lock()
	resp := c.play.resp
	c.play.resp = ""
	c.mu.Unlock()
	if resp != "" {
		c.sendOutputBuffer(typeOutputCleared, resp)
	}
}

// clearOutput answers output_audio_buffer.clear: the audio playing to the
// caller stops (output_audio_buffer.cleared). Refused off a SIP call.
func (c *ModelConn) clearOutput(e *realtime.OutputAudioBufferClear) {
	if c.sipCall == "" {
		c.sendError(paramError{"invalid_request", "type", "output_audio_buffer.clear is only supported for WebRTC and SIP sessions."}, e.EventID)
		return
	}
	c.sipInterrupted()
}

func (c *ModelConn) sendOutputBuffer(typ, respID string) {
	b, _ := json.Marshal(map[string]string{"type": typ, "event_id": c.nextID("event"), "response_id": respID})
	_ = c.write(b) // recorded for the conformance check, like every event the API sends
}

// PlayingAudio reports whether the caller is hearing a response's audio over SIP
// (between output_audio_buffer.started and stopped or cleared).
func (c *ModelConn) PlayingAudio() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.play.resp != ""
}

// PressDTMF simulates the caller pressing a key on the SIP leg: the sideband gets
// input_audio_buffer.dtmf_event_received. Only a SIP call's sideband has key
// presses; digit is one of 0–9, *, #, A–D.
func (c *ModelConn) PressDTMF(digit string) error {
	if c.sipCall == "" {
		return errors.New("realtimetest: DTMF events are sent on the sideband of a SIP call only")
	}
	if len(digit) != 1 || !strings.Contains("0123456789*#ABCD", digit) {
		return fmt.Errorf("realtimetest: %q is not a DTMF key", digit)
	}
	// No event_id: the API reference's event has none (InputAudioBufferDtmfEventReceivedEvent).
	b, _ := json.Marshal(map[string]any{"type": typeDTMF, "event": digit, "received_at": time.Now().Unix()})
	return c.write(b)
}
