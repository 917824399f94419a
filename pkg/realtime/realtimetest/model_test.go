package realtimetest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/realtime"
)

// The fakes are what every bridge test stands on, so they are tested against the
// behaviour they claim.

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func modelPair(t *testing.T, m *Model) (*realtime.Conn, *ModelConn) {
	t.Helper()
	leakcheck.Check(t)
	conns := make(chan *ModelConn, 1)
	m.Script = func(ctx context.Context, c *ModelConn) error { conns <- c; <-c.Done(); return nil }
	srv := httptest.NewServer(m)
	t.Cleanup(func() { m.Close(); srv.Close() })
	conn, err := realtime.Dial(ctxT(t), realtime.DialOptions{BaseURL: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn, <-conns
}

// next reads events until one of type typ.
func next(t *testing.T, conn *realtime.Conn, typ string) realtime.ServerEvent {
	t.Helper()
	for {
		ev, err := conn.ReadEvent(ctxT(t))
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if ev.EventType() == typ {
			return ev
		}
	}
}

func TestModelBehavesLikeTheAPI(t *testing.T) {
	conn, mc := modelPair(t, &Model{})
	ctx := ctxT(t)
	next(t, conn, realtime.TypeSessionCreated)
	conn.Send(ctx, &realtime.SessionUpdate{Session: realtime.SessionConfig{Type: "realtime", Instructions: "hi"}})
	if u := next(t, conn, realtime.TypeSessionUpdated).(*realtime.SessionUpdated); u.Session.Instructions != "hi" {
		t.Fatalf("session.updated %+v", u)
	}

	reply := mc.Respond(ctx, ResponseSpec{Items: []ItemSpec{{Audio: make([]byte, 1600), Transcript: "one two"}}, ChunkBytes: 800, Pace: 50 * time.Millisecond})
	next(t, conn, realtime.TypeResponseCreated)
	// A second response while one is active is refused.
	conn.Send(ctx, &realtime.ResponseCreate{})
	if e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent); e.Error.Code != realtime.CodeActiveResponse {
		t.Fatalf("error %+v", e)
	}
	reply.Wait(ctx)
	item := reply.ItemIDs[0]
	// A truncate past the audio is refused; within it, accepted.
	conn.Send(ctx, &realtime.ConversationItemTruncate{ItemID: item, AudioEndMs: 201})
	if e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent); !strings.Contains(e.Error.Message, "already shorter than") {
		t.Fatalf("error %+v", e)
	}
	conn.Send(ctx, &realtime.ConversationItemTruncate{ItemID: item, AudioEndMs: 150})
	if tr := next(t, conn, realtime.TypeConversationItemTruncated).(*realtime.ConversationItemTruncated); tr.AudioEndMs != 150 {
		t.Fatalf("truncated %+v", tr)
	}
	// Speech cancels an active response (interrupt_response defaults to true).
	long := mc.Respond(ctx, ResponseSpec{Items: []ItemSpec{{Audio: make([]byte, 80000)}}, ChunkBytes: 800, Pace: 20 * time.Millisecond})
	next(t, conn, realtime.TypeResponseOutputAudioDelta)
	mc.SpeechStarted()
	done := next(t, conn, realtime.TypeResponseDone).(*realtime.ResponseDone)
	if done.Response.Status != realtime.StatusCancelled || done.Response.StatusDetails.Reason != "turn_detected" {
		t.Fatalf("response.done %+v", done.Response)
	}
	long.Wait(ctx)
	conn.Send(ctx, &realtime.ResponseCancel{})
	if e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent); e.Error.Code != "response_cancel_not_active" {
		t.Fatalf("cancel with nothing active: %+v", e)
	}
	conn.Close()
	if err := mc.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	if websocket.CloseStatus(mc.CloseErr()) != websocket.StatusNormalClosure {
		t.Fatalf("close %v", mc.CloseErr())
	}
}

func TestModelRequiresKey(t *testing.T) {
	srv := httptest.NewServer(&Model{APIKey: "right"})
	defer srv.Close()
	_, err := realtime.Dial(ctxT(t), realtime.DialOptions{BaseURL: srv.URL, APIKey: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("dial with a wrong key: %v", err)
	}
}

// sendRaw writes a client event exactly as given.
func sendRaw(t *testing.T, conn *realtime.Conn, raw string) {
	t.Helper()
	ev, err := realtime.DecodeClientEvent([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	// Through UnknownEvent, so the bytes on the wire are these (explicit nulls).
	if err := conn.Send(ctxT(t), &realtime.UnknownEvent{Type: ev.EventType(), Raw: []byte(raw)}); err != nil {
		t.Fatal(err)
	}
}

// session.update merges like the GA API: omitted fields keep their value, an explicit
// null or empty value clears, and an invalid update is refused whole with the API's
// error shape.
func TestModelSessionUpdateMerges(t *testing.T) {
	conn, mc := modelPair(t, &Model{})
	next(t, conn, realtime.TypeSessionCreated)
	sendRaw(t, conn, `{"type":"session.update","event_id":"u1","session":{"type":"realtime","instructions":"Ada",
		"audio":{"input":{"format":{"type":"audio/pcmu"},"turn_detection":{"type":"server_vad","interrupt_response":false},
		"noise_reduction":{"type":"near_field"}},"output":{"format":{"type":"audio/pcmu"},"voice":"marin"}},
		"tools":[{"type":"function","name":"weather","parameters":{"type":"object"}}]}}`)
	next(t, conn, realtime.TypeSessionUpdated)
	// A handoff that names only the instructions keeps everything else.
	sendRaw(t, conn, `{"type":"session.update","event_id":"u2","session":{"type":"realtime","instructions":"Bob"}}`)
	up := next(t, conn, realtime.TypeSessionUpdated).(*realtime.SessionUpdated)
	in := up.Session.Audio.Input
	if up.Session.Instructions != "Bob" || len(up.Session.Tools) != 1 || in.TurnDetection == nil ||
		*in.TurnDetection.InterruptResponse || in.NoiseReduction == nil || in.Format.Type != realtime.FormatPCMU {
		t.Fatalf("after a partial update: %+v %+v", up.Session, in)
	}
	// Explicit empty and null values clear.
	sendRaw(t, conn, `{"type":"session.update","event_id":"u3","session":{"type":"realtime","tools":[],
		"audio":{"input":{"turn_detection":null,"noise_reduction":null}}}}`)
	next(t, conn, realtime.TypeSessionUpdated)
	s := mc.Session()
	if len(s.Tools) != 0 || s.Audio.Input.TurnDetection != nil || s.Audio.Input.NoiseReduction != nil || s.Audio.Output.Voice.String != "marin" {
		t.Fatalf("after clearing: %+v %+v", s, s.Audio.Input)
	}
	// semantic_vad has no threshold: the whole update is refused, the session unchanged.
	sendRaw(t, conn, `{"type":"session.update","event_id":"u4","session":{"type":"realtime","instructions":"Eve",
		"audio":{"input":{"turn_detection":{"type":"semantic_vad","threshold":0.4}}}}}`)
	e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent)
	if e.EventID == "" || e.Error.Type != "invalid_request_error" || e.Error.EventID != "u4" ||
		e.Error.Param != "session.audio.input.turn_detection.threshold" || e.Error.Code != "unknown_parameter" {
		t.Fatalf("error %+v", e)
	}
	if s := mc.Session(); s.Instructions != "Bob" || s.Audio.Input.TurnDetection != nil {
		t.Fatalf("a refused update changed the session: %+v", s)
	}
	// Neither the model nor an unknown tool choice can be set.
	sendRaw(t, conn, `{"type":"session.update","event_id":"u5","session":{"type":"realtime","model":"gpt-realtime-mini"}}`)
	if e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent); e.Error.Param != "session.model" {
		t.Fatalf("model change: %+v", e.Error)
	}
	sendRaw(t, conn, `{"type":"session.update","event_id":"u5","session":{"type":"realtime","tool_choice":"any"}}`)
	if e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent); e.Error.Param != "session.tool_choice" {
		t.Fatalf("tool choice: %+v", e.Error)
	}
	// Other events are refused for an unknown member too.
	sendRaw(t, conn, `{"type":"response.create","event_id":"r1","response":{"voice_speed":2}}`)
	if e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent); e.Error.Code != "unknown_parameter" || e.Error.EventID != "r1" {
		t.Fatalf("response.create with an unknown member: %+v", e.Error)
	}
	// A new turn detection type starts from its defaults.
	sendRaw(t, conn, `{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"semantic_vad","eagerness":"low"}}}}}`)
	next(t, conn, realtime.TypeSessionUpdated)
	if td := mc.Session().Audio.Input.TurnDetection; td.Type != realtime.SemanticVAD || td.Threshold != nil || !*td.InterruptResponse {
		t.Fatalf("semantic_vad %+v", td)
	}
	// Once audio was produced the voice cannot change.
	mc.Respond(ctxT(t), ResponseSpec{Items: []ItemSpec{{Audio: make([]byte, 160)}}}).Wait(ctxT(t))
	sendRaw(t, conn, `{"type":"session.update","event_id":"u6","session":{"type":"realtime","audio":{"output":{"voice":"cedar"}}}}`)
	if e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent); e.Error.EventID != "u6" || e.Error.Code != "cannot_update_voice" {
		t.Fatalf("voice change: %+v", e)
	}
	if v := mc.Session().Audio.Output.Voice.String; v != "marin" {
		t.Fatalf("voice %q", v)
	}
}

// Every server event has a unique event_id; output items are announced in the
// conversation too; responses update rate limits; MCP servers get their tools listed.
func TestModelEmitsWhatTheAPIEmits(t *testing.T) {
	conn, mc := modelPair(t, &Model{})
	ctx := ctxT(t)
	seen := map[string]bool{}
	types := map[string]int{}
	read := func(until string) {
		t.Helper()
		for {
			ev, err := conn.ReadEvent(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id := ""
			if u, ok := ev.(*realtime.UnknownEvent); ok {
				t.Fatalf("untyped event %s", u.Raw)
			}
			b, _ := realtime.Marshal(ev)
			var m struct {
				EventID string `json:"event_id"`
			}
			_ = json.Unmarshal(b, &m)
			id = m.EventID
			if _, ok := ev.(*realtime.ResponseOutputAudioDelta); ok {
				continue // the client's allocation-free path does not keep its event_id
			}
			if id == "" || seen[id] {
				t.Fatalf("%s: event_id %q missing or repeated", ev.EventType(), id)
			}
			seen[id] = true
			types[ev.EventType()]++
			if ev.EventType() == until {
				return
			}
		}
	}
	read(realtime.TypeSessionCreated)
	sendRaw(t, conn, `{"type":"session.update","session":{"type":"realtime","tools":[{"type":"mcp","server_label":"docs","server_url":"https://example.invalid/mcp"}]}}`)
	read(realtime.TypeMCPListToolsCompleted)
	read(realtime.TypeConversationItemDone) // the mcp_list_tools item
	conn.Send(ctx, &realtime.ConversationItemCreate{Item: realtime.Item{Type: realtime.ItemMessage, Role: "user", Content: []realtime.ContentPart{{Type: "input_text", Text: "hi"}}}})
	read(realtime.TypeConversationItemDone)
	mc.SpeechStopped("")
	read(realtime.TypeConversationItemDone)
	mc.Respond(ctx, ResponseSpec{Items: []ItemSpec{{Audio: make([]byte, 1600), Transcript: "hello"}, {FunctionCall: &FunctionCall{Name: "f", Arguments: "{}"}},
		{MCPCall: &MCPCall{ServerLabel: "docs", Name: "search", Arguments: `{"q":"x"}`, Output: "found"}}}})
	read(realtime.TypeResponseDone)
	for typ, n := range map[string]int{realtime.TypeMCPListToolsInProgress: 1, realtime.TypeRateLimitsUpdated: 1,
		realtime.TypeConversationItemAdded: 6, realtime.TypeConversationItemDone: 6, realtime.TypeSessionUpdated: 1,
		realtime.TypeResponseMCPCallCompleted: 1, realtime.TypeResponseMCPCallArgumentsDone: 1} {
		if types[typ] != n {
			t.Errorf("%s: %d events, want %d (%v)", typ, types[typ], n, types)
		}
	}
}

// The Realtime endpoint does not serve GPT-Live models: they have their own
// (/v1/live/sessions). A bridge that dials a gpt-live model the Realtime way fails.
func TestModelRefusesLiveModels(t *testing.T) {
	leakcheck.Check(t)
	m := &Model{}
	srv := httptest.NewServer(m)
	defer func() { m.Close(); srv.Close() }()
	_, err := realtime.Dial(ctxT(t), realtime.DialOptions{BaseURL: srv.URL, APIKey: "k", Model: "gpt-live-1"})
	var de *realtime.DialError
	if !errors.As(err, &de) || de.StatusCode != 400 || !strings.Contains(de.Message, "not a Realtime model") {
		t.Fatalf("dial gpt-live-1: %v", err)
	}
}

// DiscardAudio keeps no copy of the caller's audio but counts it as before: the
// speech offsets and the wait for audio do not change.
func TestModelDiscardAudioCountsWithoutKeeping(t *testing.T) {
	conn, mc := modelPair(t, &Model{DiscardAudio: true})
	ctx := ctxT(t)
	next(t, conn, realtime.TypeSessionCreated)
	if err := conn.AppendAudio(ctx, []byte(strings.Repeat("////", 200))); err != nil { // 600 bytes: 75 ms
		t.Fatal(err)
	}
	if err := mc.WaitAudio(ctx, 600); err != nil {
		t.Fatal(err)
	}
	if ms, in := mc.CallerAudioMs(), mc.AudioIn(); ms != 75 || len(in) != 0 {
		t.Fatalf("%d ms counted and %d bytes kept; want 75 ms and none", ms, len(in))
	}
}

// The session's lifetime runs from the connection, used or idle: session.created
// says when it ends (expires_at), and then the socket closes with 1001.
func TestModelSessionLifetimeRunsWhileIdle(t *testing.T) {
	start := time.Now()
	conn, _ := modelPair(t, &Model{MaxSessionDuration: 200 * time.Millisecond})
	created := next(t, conn, realtime.TypeSessionCreated).(*realtime.SessionCreated)
	if exp := time.Unix(created.Session.ExpiresAt, 0); exp.Before(start.Add(-time.Second)) || exp.After(start.Add(2*time.Second)) {
		t.Errorf("expires_at %v, connected at %v", exp, start)
	}
	_, err := conn.ReadEvent(ctxT(t))
	var ce *realtime.CloseError
	if !errors.As(err, &ce) || ce.Code != int(websocket.StatusGoingAway) || !strings.Contains(ce.Reason, "maximum duration") {
		t.Fatalf("an idle session past its lifetime: %v", err)
	}
}
