package realtimetest

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
	"github.com/callagent/callagent/internal/jsonscan"
	"github.com/callagent/callagent/internal/openaimodels"
	"github.com/callagent/callagent/internal/statewait"
	"github.com/callagent/callagent/pkg/realtime"
)

// Model is a fake OpenAI Realtime server, an http.Handler for the Realtime WebSocket.
//
// It behaves like the real API where a bridge can get it wrong: it keeps the
// conversation's assistant items and rejects a truncate past an item's audio, rejects
// response.create while a response is active, cancels the active response when
// speech starts (unless interrupt_response is false), and answers session.update,
// conversation.item.create and response.cancel. What it says is scripted: by Script,
// run for each connection, or by a test that takes connections from Accepted.
type Model struct {
	// Script runs for each connection; the connection closes when it returns. When nil,
	// connections are delivered on Accepted and live until a side closes them.
	Script func(ctx context.Context, c *ModelConn) error
	// APIKey, when set, is required as the bearer token.
	APIKey string
	// AutoRespond, when set, answers each client response.create with its result.
	AutoRespond func(c *ModelConn, req *realtime.ResponseCreate) ResponseSpec
	// AcceptDelay delays the WebSocket handshake: a model that is slow to connect.
	AcceptDelay time.Duration
	// MaxSessionDuration is the session's lifetime from the connection, idle or not
	// (default DefaultMaxSessionDuration, the API's 60 minutes): session.created
	// gives it as expires_at, and at its end the socket closes with 1001 (going
	// away) and the API's reason.
	MaxSessionDuration time.Duration
	// Unchecked marks the client events this model receives as deliberately invalid
	// (a test of rejection): conformance recording (ConformanceDirEnv) skips them.
	Unchecked bool
	// OnAudio, when set, is told of the caller audio of each input_audio_buffer.append
	// as it arrives (μ-law), and OnDelta of each audio delta just before it is sent:
	// for a load generator that times the relay. They run on the connection's
	// goroutines, must not block and must not keep the slices they are given.
	OnAudio func(c *ModelConn, audio []byte)
	OnDelta func(c *ModelConn, itemID string, audio []byte)
	// DiscardAudio keeps no copy of the caller audio received (AudioIn is then
	// empty; the counts, speech offsets and usage are unchanged): for a load
	// generator whose calls would otherwise hold every byte of every call.
	DiscardAudio bool
	// SIP configures SIP calls (sip.go: RingSIP, the call-control routes, the
	// sideband).
	SIP SIPConfig

	once     sync.Once
	accepted chan *ModelConn
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[*ModelConn]bool
	seq      atomic.Int64
	recorder *eventrecord.Recorder // nil unless CALLAGENT_CONFORMANCE_DIR is set
	models   openaimodels.Access
	sip      sipState
}

// DefaultMaxSessionDuration is the Realtime API's session lifetime.
const DefaultMaxSessionDuration = 60 * time.Minute

// AllowModels limits the models GET /v1/models/{model} finds for the key to ids;
// others answer 404 model_not_found, like the API for a key without access. By
// default every model is found.
func (m *Model) AllowModels(ids ...string) { m.models.Allow(ids...) }

func (m *Model) init() {
	m.once.Do(func() {
		m.accepted = make(chan *ModelConn, 64)
		m.conns = map[*ModelConn]bool{}
		m.recorder = eventrecord.FromEnv(recordPrefix)
	})
}

// Accepted delivers each connection when Script is nil.
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

// ServeHTTP accepts a Realtime WebSocket, and answers GET /v1/models/{model}
// (package openaimodels: the key and the model's access checked like the API).
func (m *Model) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.init()
	if m.models.Serve(w, r, m.APIKey) { // GET /v1/models/{model}
		return
	}
	if m.serveCalls(w, r) { // POST /v1/realtime/calls/{call_id}/{op} (sip.go)
		return
	}
	if m.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+m.APIKey {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"invalid_api_key","message":"Incorrect API key provided."}}`)
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/realtime") {
		http.Error(w, "expected /realtime?model=", http.StatusNotFound)
		return
	}
	if id := r.URL.Query().Get("call_id"); id != "" {
		if !m.sidebandAllowed(w, id) { // the sideband of a SIP call (sip.go)
			return
		}
	} else if r.URL.Query().Get("model") == "" {
		http.Error(w, "expected /realtime?model=", http.StatusNotFound)
		return
	}
	if model := r.URL.Query().Get("model"); strings.HasPrefix(model, "gpt-live-") {
		// GPT-Live models are served by their own endpoint, /v1/live/sessions.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "model_not_found", "param": "model",
			"message": fmt.Sprintf("The model '%s' does not exist or is not a Realtime model.", model)}})
		w.Write(b)
		return
	}
	if m.AcceptDelay > 0 {
		select {
		case <-time.After(m.AcceptDelay):
		case <-r.Context().Done():
			return
		}
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(realtime.DefaultReadLimit)
	m.wg.Add(1)
	defer m.wg.Done()
	n := m.seq.Add(1)
	c := newModelConn(m, ws, r, n)
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

// ModelConn is one connection to the fake model. Its methods are safe to call from
// any goroutine.
type ModelConn struct {
	m       *Model
	ws      *websocket.Conn
	Request *http.Request
	ID      int64

	wmu sync.Mutex
	wg  sync.WaitGroup // reader and responders

	changes    statewait.Changes
	mu         sync.Mutex
	session    realtime.SessionConfig // sess, typed
	sess       map[string]any         // the session as the server keeps it
	spoke      bool                   // assistant audio was produced: the voice is fixed
	updates    []realtime.SessionConfig
	events     atomic.Int64           // server event ids
	noID       []string               // types of client events that came without an event_id
	hold       chan struct{}          // while set, session.update waits: HoldUpdates
	held       int                    // session.updates waiting on hold
	received   []realtime.ClientEvent // everything but audio appends
	audioBytes int                    // caller audio received, kept in audio or not (DiscardAudio)
	audio      []byte                 // caller audio, decoded
	items      map[string]*itemAudio  // assistant items with audio
	truncates  []realtime.ConversationItemTruncate
	outputs    []realtime.Item // function call outputs and other items created by the client
	errorsSent []realtime.ErrorInfo
	active     *response
	speechItem string
	speechAt   int // ms of caller audio when the speech started
	bill       billing
	closed     bool
	closeErr   error
	counter    int
	done       chan struct{}
	sipCall    string // the SIP call of a sideband (sip.go), set before the reader starts
	play       sipPlayback
}

type itemAudio struct {
	bytes int
}

type response struct {
	id     string
	cancel chan string // reason
	done   chan struct{}
}

func newModelConn(m *Model, ws *websocket.Conn, r *http.Request, id int64) *ModelConn {
	return &ModelConn{m: m, ws: ws, Request: r, ID: id, items: map[string]*itemAudio{}, done: make(chan struct{})}
}

func (c *ModelConn) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.mu.Lock()
	c.sess = defaultSession(fmt.Sprintf("sess_%d", c.ID))
	c.sess["model"] = c.Request.URL.Query().Get("model")
	life := c.m.MaxSessionDuration
	if life <= 0 {
		life = DefaultMaxSessionDuration
	}
	c.sess["expires_at"] = float64(time.Now().Add(life).Unix())
	sipErr := error(nil)
	if id := c.Request.URL.Query().Get("call_id"); id != "" {
		sipErr = c.m.sidebandSession(c, id) // the session is the accepted one
	}
	c.session = typed(c.sess)
	created := clone(c.sess)
	c.mu.Unlock()
	if sipErr != nil { // the call ended between the handshake and now
		c.ws.Close(websocket.StatusNormalClosure, "call ended")
	}
	c.sendObject(map[string]any{"type": realtime.TypeSessionCreated, "session": published(created)})
	c.wg.Go(func() { c.readLoop(ctx) })
	c.wg.Go(func() {
		// The lifetime runs from the connection, whether the session was used or not.
		t := time.NewTimer(life)
		defer t.Stop()
		select {
		case <-t.C:
			c.ws.Close(websocket.StatusGoingAway, fmt.Sprintf("Your session hit the maximum duration of %v minutes.", life.Minutes()))
		case <-c.done:
		}
	})
	c.wg.Go(func() {
		// A script waiting for the client must not outlive the connection.
		<-c.done
		cancel()
	})
	if c.m.Script != nil {
		err := c.m.Script(ctx, c)
		if err != nil && !errors.Is(err, context.Canceled) && !c.isClosed() {
			c.ws.Close(websocket.StatusInternalError, "script failed")
		} else {
			c.ws.Close(websocket.StatusNormalClosure, "")
		}
	} else {
		c.m.accepted <- c
	}
	<-c.done
	cancel()
	c.ws.CloseNow()
	c.wg.Wait()
}

func (c *ModelConn) readLoop(ctx context.Context) {
	defer func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.notify()
		close(c.done)
	}()
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			c.mu.Lock()
			c.closeErr = err
			c.mu.Unlock()
			c.cancelActive(clientGone)
			return
		}
		ev, err := realtime.DecodeClientEvent(data)
		if err != nil {
			c.sendError(paramError{"invalid_json", "", err.Error()}, "")
			continue
		}
		if v, err := jsonscan.Lookup(data, "event_id"); err != nil || v == nil {
			c.mu.Lock()
			if !slices.Contains(c.noID, ev.EventType()) {
				c.noID = append(c.noID, ev.EventType())
			}
			c.mu.Unlock()
		}
		if _, audio := ev.(*realtime.InputAudioBufferAppend); !audio {
			if perr := strictFields(data, ev); perr != nil {
				c.sendError(*perr, clientEventID(data))
				continue
			}
		}
		if u, ok := ev.(*realtime.SessionUpdate); ok {
			c.waitHold(ctx)
			c.sessionUpdate(u, data) // recorded there once accepted
			continue
		}
		// Recorded once it passed the strict check: a refused event is a test's
		// deliberate mistake, or a failing test.
		c.record(data)
		c.handle(ctx, ev)
	}
}

func (c *ModelConn) handle(ctx context.Context, ev realtime.ClientEvent) {
	switch e := ev.(type) {
	case *realtime.InputAudioBufferAppend:
		if c.sipCall != "" { // sip.go: the SIP leg carries the audio
			c.sendError(paramError{"invalid_request", "type", "Audio cannot be appended on the sideband of a SIP call: its audio travels over SIP."}, e.EventID)
			return
		}
		b, err := base64.StdEncoding.DecodeString(string(e.Audio))
		if err != nil {
			c.sendError(paramError{"invalid_value", "audio", "Invalid 'audio'. Expected base64-encoded audio."}, e.EventID)
			return
		}
		if c.m.OnAudio != nil {
			c.m.OnAudio(c, b)
		}
		c.mu.Lock()
		c.audioBytes += len(b)
		if !c.m.DiscardAudio {
			c.audio = append(c.audio, b...)
		}
		c.mu.Unlock()
		c.notify()
		return
	}
	c.mu.Lock()
	c.received = append(c.received, ev)
	c.mu.Unlock()
	switch e := ev.(type) {
	case *realtime.ConversationItemCreate:
		item := e.Item
		c.mu.Lock()
		c.counter++
		item.ID = fmt.Sprintf("item_c%d_%d", c.ID, c.counter)
		if item.Type == realtime.ItemMessage || item.Type == realtime.ItemFunctionCall || item.Type == realtime.ItemFunctionCallOutput {
			item.Object = "realtime.item" // the MCP item types have no object member
		}
		c.outputs = append(c.outputs, item)
		for _, p := range item.Content {
			c.bill.textItems += len(p.Text)
		}
		c.bill.textItems += len(item.Output)
		c.mu.Unlock()
		c.Send(&realtime.ConversationItemAdded{PreviousItemID: e.PreviousItemID, Item: item})
		c.Send(&realtime.ConversationItemDone{PreviousItemID: e.PreviousItemID, Item: item})
	case *realtime.ConversationItemTruncate:
		c.truncate(e)
	case *realtime.ResponseCreate:
		c.responseCreate(ctx, e)
	case *realtime.ResponseCancel:
		if !c.cancelActive("client_cancelled") {
			c.sendError(paramError{"response_cancel_not_active", "", "Cancellation failed: no active response found."}, e.EventID)
		}
	case *realtime.OutputAudioBufferClear:
		c.clearOutput(e) // sip.go
	}
	c.notify()
}

func (c *ModelConn) truncate(e *realtime.ConversationItemTruncate) {
	c.mu.Lock()
	it, ok := c.items[e.ItemID]
	c.truncates = append(c.truncates, *e)
	c.mu.Unlock()
	switch {
	case !ok:
		c.sendError(paramError{"item_not_found", "item_id", fmt.Sprintf("Item with item_id not found: %s", e.ItemID)}, e.EventID)
	case e.AudioEndMs*8 > it.bytes:
		c.sendError(paramError{"invalid_value", "audio_end_ms",
			fmt.Sprintf("Audio content of %dms is already shorter than %dms", it.bytes/8, e.AudioEndMs)}, e.EventID)
	default:
		c.mu.Lock()
		it.bytes = e.AudioEndMs * 8
		c.mu.Unlock()
		c.Send(&realtime.ConversationItemTruncated{ItemID: e.ItemID, AudioEndMs: e.AudioEndMs})
	}
}

func (c *ModelConn) responseCreate(ctx context.Context, e *realtime.ResponseCreate) {
	c.mu.Lock()
	busy := c.active != nil
	c.mu.Unlock()
	if busy {
		c.sendError(paramError{realtime.CodeActiveResponse, "",
			"Conversation already has an active response in progress. Wait until the response is finished before creating a new one."}, e.EventID)
		return
	}
	spec := ResponseSpec{}
	if c.m.AutoRespond != nil {
		spec = c.m.AutoRespond(c, e)
	}
	c.Respond(ctx, spec)
}

// Send writes a server event. Like every event of the API's it carries a unique
// event_id (one is given when the event has none).
func (c *ModelConn) Send(ev realtime.ServerEvent) error {
	data, err := realtime.Marshal(ev)
	if err != nil {
		return err
	}
	return c.write(c.withEventID(data))
}

// withEventID adds "event_id" after the leading "type" member when data has none.
func (c *ModelConn) withEventID(data []byte) []byte {
	if v, err := jsonscan.Lookup(data, "event_id"); err == nil && v != nil {
		return data
	}
	id := fmt.Sprintf(`"event_id":"event_%d_%d",`, c.ID, c.events.Add(1))
	return slices.Insert(data, 1, []byte(id)...)
}

// sendObject sends an event built as a JSON object (session events, whose explicit
// nulls the typed structs cannot say).
func (c *ModelConn) sendObject(ev map[string]any) error {
	ev["event_id"] = fmt.Sprintf("event_%d_%d", c.ID, c.events.Add(1))
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return c.write(data)
}

// record hands a client event the twin accepted to the conformance recorder.
func (c *ModelConn) record(data []byte) {
	if c.m.recorder != nil && !c.m.Unchecked {
		c.m.recorder.Record("client", data)
	}
}

// write sends data, the one way every server event leaves the twin (so the
// conformance recorder sees them all).
func (c *ModelConn) write(data []byte) error {
	if c.m.recorder != nil {
		c.m.recorder.Record("server", data)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(context.Background(), websocket.MessageText, data)
}

// sendError sends the API's error event: an invalid_request_error naming the param
// and echoing the event_id of the client event that caused it.
func (c *ModelConn) sendError(e paramError, clientEventID string) {
	info := realtime.ErrorInfo{Type: "invalid_request_error", Code: e.code, Message: e.msg, Param: e.param, EventID: clientEventID}
	c.mu.Lock()
	c.errorsSent = append(c.errorsSent, info)
	c.mu.Unlock()
	c.Send(&realtime.ErrorEvent{Error: info})
	c.notify()
}

// SendError sends an error event, as the API does for rate limits and bad requests.
func (c *ModelConn) SendError(code, msg string) { c.sendError(paramError{code: code, msg: msg}, "") }

// sessionUpdate merges a session.update into the session, or refuses all of it.
func (c *ModelConn) sessionUpdate(u *realtime.SessionUpdate, raw []byte) {
	c.mu.Lock()
	c.received = append(c.received, u)
	c.updates = append(c.updates, u.Session)
	next, perr := applyUpdate(c.sess, raw, c.spoke)
	var updated map[string]any
	var newMCP []string
	if perr == nil {
		newMCP = mcpLabels(next, c.sess)
		c.sess = next
		c.session = typed(next)
		updated = clone(next)
	}
	c.mu.Unlock()
	if perr != nil {
		c.sendError(*perr, u.EventID)
		return
	}
	c.record(raw)
	c.sendObject(map[string]any{"type": realtime.TypeSessionUpdated, "session": published(updated)})
	for _, label := range newMCP {
		c.listMCPTools(label)
	}
	c.notify()
}

// Session returns the session as the server holds it now: every update merged in.
func (c *ModelConn) Session() realtime.SessionConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return typed(c.sess)
}

func (c *ModelConn) nextID(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counter++
	return fmt.Sprintf("%s_%d_%d", prefix, c.ID, c.counter)
}

// CallerAudioMs is how much caller audio the model has received.
func (c *ModelConn) CallerAudioMs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.audioBytes / 8
}

// SpeechStarted sends input_audio_buffer.speech_started as server VAD would, and
// cancels the active response unless the session set interrupt_response false.
func (c *ModelConn) SpeechStarted() {
	item := c.nextID("item_in")
	c.mu.Lock()
	c.speechItem = item
	interrupt := false // turn detection off: nothing is cancelled for the client
	if td, ok := lookup(c.sess, "audio.input.turn_detection").(map[string]any); ok {
		interrupt = td["interrupt_response"] != false
	}
	ms := c.audioBytes / 8
	c.speechAt = ms
	c.mu.Unlock()
	c.Send(&realtime.InputAudioBufferSpeechStarted{AudioStartMs: ms, ItemID: item})
	if interrupt {
		c.cancelActive("turn_detected")
		if c.sipCall != "" {
			c.sipInterrupted() // OpenAI stops playing to the caller (sip.go)
		}
	}
}

// SpeechStopped sends speech_stopped and committed, and the caller's transcript when
// transcript is not empty.
func (c *ModelConn) SpeechStopped(transcript string) {
	c.mu.Lock()
	item := c.speechItem
	if item == "" {
		c.counter++
		item = fmt.Sprintf("item_in_%d_%d", c.ID, c.counter)
	}
	ms := c.audioBytes / 8
	billed := c.transcriptionUsage(ms-c.speechAt, transcript)
	c.mu.Unlock()
	c.Send(&realtime.InputAudioBufferSpeechStopped{AudioEndMs: ms, ItemID: item})
	c.Send(&realtime.InputAudioBufferCommitted{ItemID: item})
	// The committed audio becomes a user message in the conversation.
	msg := realtime.Item{ID: item, Type: realtime.ItemMessage, Object: "realtime.item", Role: "user", Status: realtime.StatusCompleted,
		Content: []realtime.ContentPart{{Type: "input_audio"}}}
	c.Send(&realtime.ConversationItemAdded{Item: msg})
	c.Send(&realtime.ConversationItemDone{Item: msg})
	if transcript != "" {
		// Word by word, as the transcription models stream it.
		for i, w := range strings.Split(transcript, " ") {
			if i > 0 {
				w = " " + w
			}
			c.Send(&realtime.InputAudioTranscriptionDelta{ItemID: item, Delta: w})
		}
		c.Send(&realtime.InputAudioTranscriptionCompleted{ItemID: item, Transcript: transcript, Usage: billed})
	}
}

// Drop closes the TCP connection without a close frame: the model vanished.
func (c *ModelConn) Drop() { c.ws.CloseNow() }

// Close closes the connection with a close frame.
func (c *ModelConn) Close(code websocket.StatusCode, reason string) {
	c.ws.Close(code, reason)
}

// SendRaw writes data as a text message as it is: a malformed event, for tests.
// Conformance recording skips it.
func (c *ModelConn) SendRaw(data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(context.Background(), websocket.MessageText, data)
}

// mcpLabels returns the server labels of MCP tools in next that cur did not have:
// the server lists their tools when they are configured.
func mcpLabels(next, cur map[string]any) []string {
	have := map[string]bool{}
	for _, t := range toolList(cur) {
		have[t] = true
	}
	var out []string
	for _, t := range toolList(next) {
		if !have[t] {
			out = append(out, t)
		}
	}
	return out
}

func toolList(sess map[string]any) []string {
	tools, _ := sess["tools"].([]any)
	var out []string
	for _, t := range tools {
		if m, ok := t.(map[string]any); ok && m["type"] == "mcp" {
			label, _ := m["server_label"].(string)
			out = append(out, label)
		}
	}
	return out
}

// listMCPTools emits what the API emits when an MCP server is configured: the
// mcp_list_tools item added, listing in progress, completed, and the item done.
func (c *ModelConn) listMCPTools(label string) {
	id := c.nextID("item_mcp")
	item := realtime.Item{ID: id, Type: realtime.ItemMCPListTools, ServerLabel: label, Tools: json.RawMessage(`[]`)}
	c.Send(&realtime.ConversationItemAdded{Item: item})
	c.Send(&realtime.MCPListToolsStatus{Type: realtime.TypeMCPListToolsInProgress, ItemID: id})
	c.Send(&realtime.MCPListToolsStatus{Type: realtime.TypeMCPListToolsCompleted, ItemID: id})
	c.Send(&realtime.ConversationItemDone{Item: item})
}

// HoldUpdates makes the server slow to apply session.update: from now on each waits,
// and every client event after it with it (the server handles events in order),
// until ReleaseUpdates. Tests use it to see what a client believes while an update is
// in flight.
func (c *ModelConn) HoldUpdates() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold == nil {
		c.hold = make(chan struct{})
	}
}

// ReleaseUpdates lets held session.updates through.
func (c *ModelConn) ReleaseUpdates() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold != nil {
		close(c.hold)
		c.hold = nil
	}
}

// HeldUpdates is how many session.updates are waiting on HoldUpdates.
func (c *ModelConn) HeldUpdates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}

func (c *ModelConn) waitHold(ctx context.Context) {
	c.mu.Lock()
	h := c.hold
	if h != nil {
		c.held++
	}
	c.mu.Unlock()
	if h == nil {
		return
	}
	c.notify()
	select {
	case <-h:
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.held--
	c.mu.Unlock()
}

// MissingEventIDs returns the types of the client events that came without an
// event_id (audio appends included), each once.
func (c *ModelConn) MissingEventIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.noID)
}
