package livetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/eventrecord"
	"github.com/callagent/callagent/internal/openaimodels"
	"github.com/callagent/callagent/internal/statewait"
	"github.com/callagent/callagent/pkg/live"
)

// ConformanceDirEnv turns on conformance recording (internal/eventrecord): each
// distinct shape of client event received and server event sent is appended to
// DIR/live-events-PID.jsonl, which scripts/conformance checks against
// openai/resources/live/live.
const ConformanceDirEnv = eventrecord.DirEnv

// Model is a fake GPT-Live server, an http.Handler for /v1/live/sessions.
//
// It refuses what the API refuses: a missing or wrong bearer key (401), query
// parameters (400), a first message other than session.start (an error event, then
// the connection closes), a session.start with an unknown member (unknown_parameter
// naming its path), a model that is not gpt-live-*, an audio format at the wrong rate,
// a voice that is neither built in nor {id}; commands before session.started; Responses
// commands without Responses delegation, and a delegation_id with it. Every server
// event it sends has an event_id, except output audio deltas (their type has none),
// and echoes the client_event_id of the command it answers. The model owns barge-in:
// Say stops when the caller speaks (an energy detector on μ-law audio).
type Model struct {
	// Script runs for each started session; the connection closes when it returns.
	// When nil, sessions are delivered on Accepted.
	Script func(ctx context.Context, c *ModelConn) error
	// APIKey, when set, is required as the bearer token.
	APIKey string
	// Unchecked marks the client events this model receives as deliberately invalid:
	// conformance recording skips them.
	Unchecked bool
	// SIP configures SIP calls (sip.go: RingSIP, the call-control routes, attach).
	SIP SIPConfig

	once     sync.Once
	accepted chan *ModelConn
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[*ModelConn]bool
	seq      atomic.Int64
	recorder *eventrecord.Recorder
	models   openaimodels.Access
	sip      sipState
}

// AllowModels limits the models GET /v1/models/{model} finds for the key to ids
// (the live model and its delegated backend's are both asked for); others answer
// 404 model_not_found, like the API for a key without access. By default every
// model is found.
func (m *Model) AllowModels(ids ...string) { m.models.Allow(ids...) }

func (m *Model) init() {
	m.once.Do(func() {
		m.accepted = make(chan *ModelConn, 64)
		m.conns = map[*ModelConn]bool{}
		m.recorder = eventrecord.FromEnv("live-events")
	})
}

// Accepted delivers each session once started, when Script is nil.
func (m *Model) Accepted() <-chan *ModelConn {
	m.init()
	return m.accepted
}

// Close drops every connection and waits for their goroutines.
func (m *Model) Close() {
	m.init()
	m.mu.Lock()
	for c := range m.conns {
		c.ws.CloseNow()
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.sip.closers.Wait()
}

func httpError(w http.ResponseWriter, status int, code, param, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": code, "param": param, "message": msg}})
	w.Write(b)
}

// ServeHTTP accepts a Live WebSocket, and answers GET /v1/models/{model}
// (package openaimodels: the key and the model's access checked like the API).
func (m *Model) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.init()
	if m.models.Serve(w, r, m.APIKey) { // GET /v1/models/{model}
		return
	}
	if m.serveSIP(w, r) { // /v1/live/sessions/{id}/{accept,reject,refer,hangup,attach} (sip.go)
		return
	}
	if m.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+m.APIKey {
		httpError(w, http.StatusUnauthorized, "invalid_api_key", "", "Incorrect API key provided.")
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/live/sessions") {
		http.Error(w, "expected /v1/live/sessions", http.StatusNotFound)
		return
	}
	if r.URL.RawQuery != "" {
		name, _, _ := strings.Cut(r.URL.RawQuery, "=")
		httpError(w, http.StatusBadRequest, "unknown_parameter", name,
			fmt.Sprintf("Unknown parameter: '%s'. Live takes no query parameters: put the model in session.start.", name))
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(live.DefaultReadLimit)
	m.wg.Add(1)
	defer m.wg.Done()
	c := newModelConn(m, ws, r, m.seq.Add(1))
	m.mu.Lock()
	m.conns[c] = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.conns, c)
		m.mu.Unlock()
	}()
	c.run()
}

// ModelConn is one connection. Its methods are safe to call from any goroutine.
type ModelConn struct {
	m       *Model
	ws      *websocket.Conn
	Request *http.Request
	ID      int64

	wmu sync.Mutex
	wg  sync.WaitGroup

	changes    statewait.Changes
	events     atomic.Int64
	mu         sync.Mutex
	started    bool
	session    live.SessionResource
	config     live.SessionConfig
	received   []live.ClientEvent // everything but audio appends
	noID       []string           // client event types that came without an event_id
	audio      []byte             // caller audio, decoded
	vad        vad
	vadPos     int  // caller audio the detector has seen
	speaking   bool // the caller is speaking (the energy detector)
	speeches   int  // times the caller started speaking
	outMs      int64
	errorsSent []live.ErrorInfo
	calls      map[string]*Delegation // pending function calls by call_id
	counter    int
	usage      float64
	closeUsage float64 // what session.closed reports when more than usage (SetCloseUsage)
	holdClose  bool    // session.close goes unanswered (HoldClose)
	closed     bool
	closeErr   error
	done       chan struct{}
	attached   string // the SIP call an attached socket observes (sip.go), set before run
	reflected  int64  // ms of the SIP leg's caller audio reflected on an attached socket (sip.go)
}

func newModelConn(m *Model, ws *websocket.Conn, r *http.Request, id int64) *ModelConn {
	return &ModelConn{m: m, ws: ws, Request: r, ID: id, calls: map[string]*Delegation{}, vad: newVAD(), done: make(chan struct{})}
}

func (c *ModelConn) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startedCh := make(chan struct{})
	c.wg.Go(func() { c.readLoop(ctx, startedCh) })
	if !c.Started() { // an attached socket (sip.go) starts started
		select {
		case <-startedCh:
		case <-c.done:
		}
	}
	if c.Started() {
		if c.m.Script != nil {
			err := c.m.Script(ctx, c)
			if err != nil && !errors.Is(err, context.Canceled) && !c.Closed() {
				c.ws.Close(websocket.StatusInternalError, "script failed")
			} else {
				c.ws.Close(websocket.StatusNormalClosure, "")
			}
		} else {
			c.m.accepted <- c
		}
	}
	<-c.done
	cancel()
	c.ws.CloseNow()
	c.wg.Wait()
}

func (c *ModelConn) readLoop(ctx context.Context, started chan struct{}) {
	defer func() {
		c.mu.Lock()
		c.closed = true
		for _, d := range c.calls {
			d.fail(errors.New("connection closed"))
		}
		c.mu.Unlock()
		c.notify()
		close(c.done)
	}()
	var dec live.Decoder
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			c.mu.Lock()
			c.closeErr = err
			c.mu.Unlock()
			return
		}
		if c.handleFrame(data, &dec, started) {
			return
		}
	}
}

// handleFrame handles one client frame; it returns true when the connection is
// to end (a first message that is not session.start).
func (c *ModelConn) handleFrame(data []byte, dec *live.Decoder, started chan struct{}) (end bool) {
	ev, err := dec.DecodeClient(data)
	if err != nil {
		// A value the typed event cannot hold: the schema names the param when it can.
		perr := &paramError{"invalid_json", "", "We could not parse the JSON body of your event: " + err.Error()}
		var obj map[string]any
		if json.Unmarshal(data, &obj) == nil {
			typ, _ := obj["type"].(string)
			if schema, ok := clientSchemas[typ]; ok {
				if e := schema("", obj); e != nil {
					perr = e
				}
			}
		}
		id, _ := obj["event_id"].(string)
		c.sendError(*perr, id)
		return !c.Started()
	}
	if a, ok := ev.(*live.InputAudioAppend); ok && c.attached != "" {
		// sip.go: the SIP leg carries the caller's audio, not the sideband.
		c.sendError(paramError{"invalid_request", "type", "Send input audio over the primary connection: this socket is attached to a SIP call."}, a.EventID)
		return false
	} else if ok && c.Started() {
		c.hear(a.Audio)
		c.record(data)
		return false
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		c.sendError(paramError{"invalid_json", "", err.Error()}, "")
		return !c.Started()
	}
	id, _ := obj["event_id"].(string)
	if _, ok := obj["event_id"]; !ok {
		c.mu.Lock()
		if !slices.Contains(c.noID, ev.EventType()) {
			c.noID = append(c.noID, ev.EventType())
		}
		c.mu.Unlock()
	}
	typ := ev.EventType()
	if !c.Started() {
		if typ != live.TypeSessionStart {
			c.sendError(paramError{"session_not_started", "type",
				fmt.Sprintf("The first message must be session.start, got '%s'.", typ)}, id)
			c.ws.Close(websocket.StatusPolicyViolation, "session.start must be the first message")
			return true
		}
	} else if typ == live.TypeSessionStart {
		c.sendError(paramError{"session_already_started", "type", "The session has already started."}, id)
		return false
	}
	schema, ok := clientSchemas[typ]
	if !ok {
		msg := fmt.Sprintf("Invalid value: '%s'. Unknown client event type.", typ)
		if slices.Contains(notModelled, typ) {
			msg = fmt.Sprintf("livetest: %s is not modelled by the twin.", typ)
		}
		c.sendError(paramError{"invalid_value", "type", msg}, id)
		return !c.Started()
	}
	if perr := schema("", obj); perr != nil {
		c.sendError(*perr, id)
		return false
	}
	c.record(data)
	if typ == live.TypeSessionStart {
		c.start(ev.(*live.SessionStart), id)
		close(started)
		return false
	}
	c.handle(ev, id)
	return false
}

// start resolves the session like the API: the voice defaults to marin, the
// format to 24 kHz PCM, the delegation to the application.
func (c *ModelConn) start(e *live.SessionStart, id string) {
	cfg := e.Session
	res := live.SessionResource{ID: fmt.Sprintf("sess_live_%d", c.ID), ExpiresAt: time.Now().Add(time.Hour).Unix(),
		Model: cfg.Model, Status: "active", Delegation: cfg.Delegation, Store: new(bool)}
	if c.attached != "" { // sip.go: the session of a SIP call has its session_id
		res.ID = c.attached
	}
	if cfg.Store != nil {
		res.Store = cfg.Store
	}
	if cfg.Instructions != "" {
		res.Instructions = &cfg.Instructions
	}
	if cfg.SafetyIdentifier != "" {
		res.SafetyIdentifier = &cfg.SafetyIdentifier
	}
	res.Audio = &live.AudioConfig{Format: &live.AudioFormat{Type: live.FormatPCM, Rate: 24000},
		Output: &live.AudioOutput{Voice: &live.Voice{Name: "marin"}}}
	if a := cfg.Audio; a != nil {
		if a.Format != nil {
			res.Audio.Format = a.Format
		}
		if a.Output != nil && a.Output.Voice != nil {
			res.Audio.Output.Voice = a.Output.Voice
		}
	}
	c.mu.Lock()
	c.started, c.config, c.session = true, cfg, res
	c.received = append(c.received, e)
	c.mu.Unlock()
	c.Send(&live.SessionStarted{ClientEventID: id, Session: res})
	c.notify()
}

func (c *ModelConn) responsesDelegation() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session.Delegation != nil && c.session.Delegation.Type == live.DelegateResponses
}

func (c *ModelConn) handle(ev live.ClientEvent, id string) {
	c.mu.Lock()
	c.received = append(c.received, ev)
	c.mu.Unlock()
	defer c.notify()
	switch e := ev.(type) {
	case *live.SessionUpdate:
		c.mu.Lock()
		cur := c.session.Delegation
		d := e.Session.Delegation
		curType := live.DelegateClient
		if cur != nil {
			curType = cur.Type
		}
		if d != nil && d.Type != curType {
			c.mu.Unlock()
			c.sendError(*invalid("session.delegation.type", fmt.Sprintf("the delegation type cannot change (the session's is '%s').", curType)), id)
			return
		}
		if d != nil && cur != nil {
			upd := *cur
			if d.AcknowledgementDelayMs != nil {
				upd.AcknowledgementDelayMs = d.AcknowledgementDelayMs
			}
			if d.Responses != nil && upd.Responses != nil {
				r := *upd.Responses
				mergeResponses(&r, d.Responses)
				upd.Responses = &r
			}
			c.session.Delegation = &upd
		} else if d != nil {
			c.session.Delegation = d
		}
		res := c.session
		c.mu.Unlock()
		c.Send(&live.SessionUpdated{ClientEventID: id, Session: res})
	case *live.CommentaryAppend:
		if c.appendCheck(e.DelegationID, id) {
			c.Send(&live.CommentaryAppended{ClientEventID: id, StartMs: c.timeline(), EndMs: c.timeline()})
		}
	case *live.ThinkingAppend:
		if c.appendCheck(e.DelegationID, id) {
			c.Send(&live.ThinkingAppended{ClientEventID: id, StartMs: c.timeline(), EndMs: c.timeline()})
		}
	case *live.InstructionsAppend:
		if c.appendCheck(e.DelegationID, id) {
			c.Send(&live.InstructionsAppended{ClientEventID: id, StartMs: c.timeline(), EndMs: c.timeline()})
		}
	case *live.ResponseItemCreate:
		if !c.responsesDelegation() {
			c.sendError(paramError{"invalid_request", "type", "response.item.create requires Responses delegation."}, id)
			return
		}
		if e.Item.Type == live.ItemFunctionCallOutput {
			c.mu.Lock()
			d, ok := c.calls[e.Item.CallID]
			c.mu.Unlock()
			if !ok {
				c.sendError(*invalid("item.call_id", fmt.Sprintf("no function call with call_id '%s' is waiting for output.", e.Item.CallID)), id)
				return
			}
			d.output(*e.Item.Output)
		}
	case *live.ResponseCreate:
		if !c.responsesDelegation() {
			c.sendError(paramError{"invalid_request", "type", "response.create requires Responses delegation."}, id)
			return
		}
		c.mu.Lock()
		var ready []*Delegation
		for callID, d := range c.calls {
			if d.hasOutput() {
				ready = append(ready, d)
				delete(c.calls, callID)
			}
		}
		c.mu.Unlock()
		for _, d := range ready {
			d.continued(c)
		}
	case *live.SessionClose:
		c.mu.Lock()
		res, usage, hold := c.session, max(c.usage, c.closeUsage), c.holdClose
		c.mu.Unlock()
		if hold {
			return
		}
		if usage == 0 {
			usage = c.sessionSeconds()
		}
		c.Send(&live.SessionClosed{ClientEventID: id, Reason: live.ClosedRequested, Session: res, Usage: live.Usage{Seconds: usage}})
		c.ws.Close(websocket.StatusNormalClosure, "")
	}
}

func mergeResponses(r, d *live.ResponsesDelegation) {
	if d.Model != "" {
		r.Model = d.Model
	}
	if d.Instructions != "" {
		r.Instructions = d.Instructions
	}
	if d.Tools != nil {
		r.Tools = d.Tools
	}
	if d.ToolChoice != "" {
		r.ToolChoice = d.ToolChoice
	}
	if d.Reasoning != nil {
		r.Reasoning = d.Reasoning
	}
	if d.ParallelToolCalls != nil {
		r.ParallelToolCalls = d.ParallelToolCalls
	}
	if d.MaxOutputTokens != nil {
		r.MaxOutputTokens = d.MaxOutputTokens
	}
}

// appendCheck refuses a non-null delegation_id with Responses delegation.
func (c *ModelConn) appendCheck(delegationID *string, id string) bool {
	if delegationID != nil && c.responsesDelegation() {
		c.sendError(*invalid("delegation_id", "delegation IDs are not accepted with Responses delegation."), id)
		return false
	}
	return true
}

// Send writes a server event with an event_id (output audio deltas have none).
func (c *ModelConn) Send(ev live.ServerEvent) error {
	data, err := live.Marshal(ev)
	if err != nil {
		return err
	}
	if ev.EventType() != live.TypeOutputAudioDelta {
		data = c.withEventID(data)
	}
	return c.write(data)
}

// withEventID sets the event_id member (added after "type", or filled when empty).
func (c *ModelConn) withEventID(data []byte) []byte {
	id := fmt.Sprintf("event_live_%d_%d", c.ID, c.events.Add(1))
	if i := strings.Index(string(data), `"event_id":""`); i >= 0 {
		return slices.Insert(data, i+len(`"event_id":"`), []byte(id)...)
	}
	if strings.Contains(string(data), `"event_id":`) {
		return data
	}
	return slices.Insert(data, 1, []byte(`"event_id":"`+id+`",`)...)
}

// SendRaw writes a frame as is (not recorded: it may be deliberately wrong).
func (c *ModelConn) SendRaw(data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(context.Background(), websocket.MessageText, data)
}

func (c *ModelConn) record(data []byte) {
	if c.m.recorder != nil && !c.m.Unchecked {
		c.m.recorder.Record("client", data)
	}
}

func (c *ModelConn) write(data []byte) error {
	if c.m.recorder != nil {
		c.m.recorder.Record("server", data)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(context.Background(), websocket.MessageText, data)
}

func (c *ModelConn) sendError(e paramError, clientEventID string) {
	info := live.ErrorInfo{Type: "invalid_request_error", Code: e.code, Message: e.msg, Param: e.param, ClientEventID: clientEventID}
	c.mu.Lock()
	c.errorsSent = append(c.errorsSent, info)
	c.mu.Unlock()
	c.Send(&live.ErrorEvent{ClientEventID: clientEventID, Error: info})
	c.notify()
}

// SendError sends an error event the client did not cause.
func (c *ModelConn) SendError(code, msg string) {
	c.sendError(paramError{code: code, msg: msg}, "")
}

// SendUsage sends session.usage.updated with the cumulative seconds (also what
// session.closed reports).
func (c *ModelConn) SendUsage(seconds float64) error {
	c.mu.Lock()
	c.usage = seconds
	c.mu.Unlock()
	return c.Send(&live.SessionUsageUpdated{Usage: live.Usage{Seconds: seconds}})
}

// SetCloseUsage sets the cumulative seconds session.closed reports after
// session.close: the final usage, which counts what the last
// session.usage.updated had not yet (finalization bills up to the close).
func (c *ModelConn) SetCloseUsage(seconds float64) {
	c.mu.Lock()
	c.closeUsage = seconds
	c.mu.Unlock()
}

// HoldClose makes the model leave session.close unanswered (a peer that never
// finalizes): no session.closed, the socket stays open until the client closes it.
func (c *ModelConn) HoldClose() {
	c.mu.Lock()
	c.holdClose = true
	c.mu.Unlock()
}

// EndSession sends session.closed with reason (remote_hangup, expired, ...) and closes.
func (c *ModelConn) EndSession(reason string) {
	c.mu.Lock()
	res, usage := c.session, c.usage
	c.mu.Unlock()
	c.Send(&live.SessionClosed{Reason: reason, Session: res, Usage: live.Usage{Seconds: usage}})
	c.ws.Close(websocket.StatusNormalClosure, "")
}

// Drop ends the connection without a close frame or session.closed.
func (c *ModelConn) Drop() { c.ws.CloseNow() }

// bytesPerMs of the session's audio format.
func (c *ModelConn) bytesPerMs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.session.Audio; f != nil && f.Format != nil && f.Format.Type == live.FormatPCM {
		return f.Format.Rate * 2 / 1000
	}
	return 8
}

// timeline is the session timeline in ms: the caller audio heard so far (from
// the app, or over SIP).
func (c *ModelConn) timeline() int64 {
	n := c.bytesPerMs()
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.audio)/n) + c.reflected
}

func (c *ModelConn) sessionSeconds() float64 {
	return float64(c.timeline()) / 1000
}

// hear takes caller audio (base64 text) and runs the speech detector on μ-law.
func (c *ModelConn) hear(b64 []byte) {
	b := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
	n, err := base64.StdEncoding.Decode(b, b64)
	if err != nil {
		c.sendError(*invalid("audio", "expected base64-encoded audio."), "")
		return
	}
	c.mu.Lock()
	c.audio = append(c.audio, b[:n]...)
	if c.session.Audio.Format.Type == live.FormatPCMU {
		for ; c.vadPos+vadFrame <= len(c.audio); c.vadPos += vadFrame {
			started, stopped := c.vad.feed(c.audio[c.vadPos : c.vadPos+vadFrame])
			if started {
				c.speaking = true
				c.speeches++
			}
			if stopped {
				c.speaking = false
			}
		}
	}
	c.mu.Unlock()
	c.notify()
}
