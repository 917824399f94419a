package realtimetest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

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
	// Unchecked marks the client events this model receives as deliberately invalid
	// (a test of rejection): conformance recording (ConformanceDirEnv) skips them.
	Unchecked bool

	once     sync.Once
	accepted chan *ModelConn
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[*ModelConn]bool
	seq      atomic.Int64
	recorder *conformanceRecorder // nil unless CALLAGENT_CONFORMANCE_DIR is set
}

func (m *Model) init() {
	m.once.Do(func() {
		m.accepted = make(chan *ModelConn, 64)
		m.conns = map[*ModelConn]bool{}
		m.recorder = processRecorder()
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
}

// ServeHTTP accepts a Realtime WebSocket.
func (m *Model) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.init()
	if m.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+m.APIKey {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"invalid_api_key","message":"Incorrect API key provided."}}`)
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/realtime") || r.URL.Query().Get("model") == "" {
		http.Error(w, "expected /realtime?model=", http.StatusNotFound)
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
	session    realtime.SessionConfig
	updates    []realtime.SessionConfig
	received   []realtime.ClientEvent // everything but audio appends
	audio      []byte                 // caller audio, decoded
	items      map[string]*itemAudio  // assistant items with audio
	truncates  []realtime.ConversationItemTruncate
	outputs    []realtime.Item // function call outputs and other items created by the client
	errorsSent []realtime.ErrorInfo
	active     *response
	speechItem string
	closed     bool
	closeErr   error
	counter    int
	done       chan struct{}
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
	c.Send(&realtime.SessionCreated{Session: realtime.SessionConfig{Type: "realtime", ID: fmt.Sprintf("sess_%d", c.ID), Object: "realtime.session"}})
	c.wg.Go(func() { c.readLoop(ctx) })
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
			c.cancelActive("client_disconnected")
			return
		}
		ev, err := realtime.DecodeClientEvent(data)
		if err != nil {
			c.sendError("invalid_request_error", "invalid_json", err.Error())
			continue
		}
		if c.m.recorder != nil && !c.m.Unchecked {
			c.m.recorder.record("client", data)
		}
		c.handle(ctx, ev)
	}
}

func (c *ModelConn) handle(ctx context.Context, ev realtime.ClientEvent) {
	switch e := ev.(type) {
	case *realtime.InputAudioBufferAppend:
		b, err := base64.StdEncoding.DecodeString(string(e.Audio))
		if err != nil {
			c.sendError("invalid_request_error", "invalid_value", "Invalid 'audio'. Expected base64-encoded audio.")
			return
		}
		c.mu.Lock()
		c.audio = append(c.audio, b...)
		c.mu.Unlock()
		c.notify()
		return
	}
	c.mu.Lock()
	c.received = append(c.received, ev)
	c.mu.Unlock()
	switch e := ev.(type) {
	case *realtime.SessionUpdate:
		c.mu.Lock()
		c.session = e.Session
		c.updates = append(c.updates, e.Session)
		c.mu.Unlock()
		c.Send(&realtime.SessionUpdated{Session: e.Session})
	case *realtime.ConversationItemCreate:
		item := e.Item
		c.mu.Lock()
		c.counter++
		item.ID = fmt.Sprintf("item_c%d_%d", c.ID, c.counter)
		c.outputs = append(c.outputs, item)
		c.mu.Unlock()
		c.Send(&realtime.ConversationItemAdded{Item: item})
	case *realtime.ConversationItemTruncate:
		c.truncate(e)
	case *realtime.ResponseCreate:
		c.responseCreate(ctx, e)
	case *realtime.ResponseCancel:
		if !c.cancelActive("client_cancelled") {
			c.sendError("invalid_request_error", "response_cancel_not_active", "Cancellation failed: no active response found.")
		}
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
		c.sendError("invalid_request_error", "item_not_found", fmt.Sprintf("Item with item_id not found: %s", e.ItemID))
	case e.AudioEndMs*8 > it.bytes:
		c.sendError("invalid_request_error", "invalid_value",
			fmt.Sprintf("Audio content of %dms is already shorter than %dms", it.bytes/8, e.AudioEndMs))
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
		c.sendError("invalid_request_error", realtime.CodeActiveResponse,
			"Conversation already has an active response in progress. Wait until the response is finished before creating a new one.")
		return
	}
	spec := ResponseSpec{}
	if c.m.AutoRespond != nil {
		spec = c.m.AutoRespond(c, e)
	}
	c.Respond(ctx, spec)
}

// Send writes a server event.
func (c *ModelConn) Send(ev realtime.ServerEvent) error {
	data, err := realtime.Marshal(ev)
	if err != nil {
		return err
	}
	if c.m.recorder != nil {
		c.m.recorder.record("server", data)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(context.Background(), websocket.MessageText, data)
}

func (c *ModelConn) sendError(typ, code, msg string) {
	info := realtime.ErrorInfo{Type: typ, Code: code, Message: msg}
	c.mu.Lock()
	c.errorsSent = append(c.errorsSent, info)
	c.mu.Unlock()
	c.Send(&realtime.ErrorEvent{Error: info})
	c.notify()
}

// SendError sends an error event, as the API does for rate limits and bad requests.
func (c *ModelConn) SendError(code, msg string) { c.sendError("invalid_request_error", code, msg) }

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
	return len(c.audio) / 8
}

// SpeechStarted sends input_audio_buffer.speech_started as server VAD would, and
// cancels the active response unless the session set interrupt_response false.
func (c *ModelConn) SpeechStarted() {
	item := c.nextID("item_in")
	c.mu.Lock()
	c.speechItem = item
	interrupt := true
	if in := c.session.Audio; in != nil && in.Input != nil && in.Input.TurnDetection != nil && in.Input.TurnDetection.InterruptResponse != nil {
		interrupt = *in.Input.TurnDetection.InterruptResponse
	}
	ms := len(c.audio) / 8
	c.mu.Unlock()
	c.Send(&realtime.InputAudioBufferSpeechStarted{AudioStartMs: ms, ItemID: item})
	if interrupt {
		c.cancelActive("turn_detected")
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
	ms := len(c.audio) / 8
	c.mu.Unlock()
	c.Send(&realtime.InputAudioBufferSpeechStopped{AudioEndMs: ms, ItemID: item})
	c.Send(&realtime.InputAudioBufferCommitted{ItemID: item})
	if transcript != "" {
		// Word by word, as the transcription models stream it.
		for i, w := range strings.Split(transcript, " ") {
			if i > 0 {
				w = " " + w
			}
			c.Send(&realtime.InputAudioTranscriptionDelta{ItemID: item, Delta: w})
		}
		c.Send(&realtime.InputAudioTranscriptionCompleted{ItemID: item, Transcript: transcript})
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
