package livetest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/live/livetest"
)

const key = "sk-twin-live-0123456789"

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func server(t *testing.T, m *livetest.Model) *httptest.Server {
	srv := httptest.NewServer(m)
	t.Cleanup(func() { srv.Close(); m.Close() })
	return srv
}

// raw dials the twin with a bare WebSocket, to send what live.Conn would not.
func raw(t *testing.T, srv *httptest.Server) *websocket.Conn {
	ws, _, err := websocket.Dial(ctxT(t), "ws"+srv.URL[4:]+"/v1/live/sessions",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

func roundTrip(t *testing.T, ws *websocket.Conn, msg string) map[string]any {
	t.Helper()
	if err := ws.Write(ctxT(t), websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_, data, err := ws.Read(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	json.Unmarshal(data, &ev)
	return ev
}

func errParam(ev map[string]any) (code, param, clientEventID string) {
	e, _ := ev["error"].(map[string]any)
	code, _ = e["code"].(string)
	param, _ = e["param"].(string)
	clientEventID, _ = e["client_event_id"].(string)
	return
}

// Each rule of session.start, as the API applies it: an error in the API's shape,
// naming the param and echoing the client's event_id.
func TestFaultTwinRefusesBadSessionStart(t *testing.T) {
	leakcheck.Check(t)
	srv := server(t, &livetest.Model{APIKey: key, Unchecked: true})
	for _, tc := range []struct{ start, code, param string }{
		{`{"type":"session.start","event_id":"x1","session":{"model":"gpt-realtime"}}`, "model_not_found", "session.model"},
		{`{"type":"session.start","event_id":"x2","session":{}}`, "missing_required_parameter", "session.model"},
		{`{"type":"session.start","event_id":"x3","session":{"model":"gpt-live-1","voice":"marin"}}`, "unknown_parameter", "session.voice"},
		{`{"type":"session.start","event_id":"x4","session":{"model":"gpt-live-1","audio":{"format":{"type":"audio/pcmu","rate":16000}}}}`, "invalid_value", "session.audio.format.rate"},
		{`{"type":"session.start","event_id":"x5","session":{"model":"gpt-live-1","audio":{"format":{"type":"audio/pcm","rate":8000}}}}`, "invalid_value", "session.audio.format.rate"},
		{`{"type":"session.start","event_id":"x6","session":{"model":"gpt-live-1","audio":{"format":{"type":"audio/opus","rate":8000}}}}`, "invalid_value", "session.audio.format.type"},
		{`{"type":"session.start","event_id":"x7","session":{"model":"gpt-live-1","audio":{"output":{"voice":"nobody"}}}}`, "invalid_value", "session.audio.output.voice"},
		{`{"type":"session.start","event_id":"x8","session":{"model":"gpt-live-1","audio":{"output":{"voice":{"name":"x"}}}}}`, "missing_required_parameter", "session.audio.output.voice.id"},
		{`{"type":"session.start","event_id":"x9","session":{"model":"gpt-live-1","delegation":{"type":"responses","responses":{"tools":[]}}}}`, "missing_required_parameter", "session.delegation.responses.model"},
		{`{"type":"session.start","event_id":"x10","session":{"model":"gpt-live-1","delegation":{"type":"responses","responses":{"model":"gpt-5.5","tools":[{"type":"function","name":"f","parameter":{}}]}}}}`, "unknown_parameter", "session.delegation.responses.tools[0].parameter"},
		{`{"type":"session.start","event_id":"x11","session":{"model":"gpt-live-1","turn_detection":null}}`, "unknown_parameter", "session.turn_detection"},
		{`{"type":"session.start","event_id":"x12","extra":1,"session":{"model":"gpt-live-1"}}`, "unknown_parameter", "extra"},
	} {
		ws := raw(t, srv)
		ev := roundTrip(t, ws, tc.start)
		code, param, id := errParam(ev)
		if ev["type"] != "error" || code != tc.code || param != tc.param || id == "" || ev["event_id"] == "" {
			t.Errorf("%s: got %v", tc.start, ev)
		}
		ws.CloseNow()
	}
}

// The first message must be session.start: anything else is an error, then the
// connection closes.
func TestFaultTwinRequiresSessionStartFirst(t *testing.T) {
	leakcheck.Check(t)
	srv := server(t, &livetest.Model{APIKey: key, Unchecked: true})
	ws := raw(t, srv)
	ev := roundTrip(t, ws, `{"type":"session.input_audio.append","event_id":"a1","audio":"AAAA"}`)
	if code, _, id := errParam(ev); ev["type"] != "error" || code != "session_not_started" || id != "a1" {
		t.Errorf("got %v", ev)
	}
	if _, _, err := ws.Read(ctxT(t)); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("connection not closed: %v", err)
	}
}

func TestFaultTwinHandshakeRules(t *testing.T) {
	leakcheck.Check(t)
	srv := server(t, &livetest.Model{APIKey: key})
	ctx := ctxT(t)
	if _, resp, err := websocket.Dial(ctx, "ws"+srv.URL[4:]+"/v1/live/sessions", nil); err == nil || resp.StatusCode != 401 {
		t.Errorf("no key: %v", err)
	}
	_, resp, err := websocket.Dial(ctx, "ws"+srv.URL[4:]+"/v1/live/sessions?model=gpt-live-1",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + key}}})
	if err == nil || resp.StatusCode != 400 {
		t.Errorf("query parameters accepted: %v", err)
	}
}

// After startup: commands are checked like the API checks them, answered with
// client_event_id, and the model stops speaking when the caller speaks.
func TestTwinSessionRules(t *testing.T) {
	leakcheck.Check(t)
	m := &livetest.Model{APIKey: key}
	srv := server(t, m)
	ctx := ctxT(t)
	conn, err := live.Dial(ctx, live.DialOptions{BaseURL: srv.URL + "/v1", APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	voice := &live.Voice{ID: "voice_custom_1"}
	if _, err := conn.Start(ctx, live.SessionConfig{Model: "gpt-live-1.1", Audio: &live.AudioConfig{Format: &live.PCMU8000,
		Output: &live.AudioOutput{Voice: voice}}, Delegation: &live.Delegation{Type: live.DelegateClient}}); err != nil {
		t.Fatal(err)
	}
	mc := <-m.Accepted()
	next := func() live.ServerEvent {
		t.Helper()
		ev, err := conn.ReadEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	// Responses commands need Responses delegation.
	conn.Send(ctx, &live.ResponseCreate{EventID: "rc1"})
	if e, ok := next().(*live.ErrorEvent); !ok || e.Error.ClientEventID != "rc1" {
		t.Errorf("response.create without Responses delegation: %+v", e)
	}
	// The delegation type cannot change.
	conn.Send(ctx, &live.SessionUpdate{Session: live.SessionUpdateConfig{Delegation: &live.Delegation{Type: live.DelegateResponses,
		Responses: &live.ResponsesDelegation{Model: "gpt-5.5"}}}})
	if e, ok := next().(*live.ErrorEvent); !ok || e.Error.Param != "session.delegation.type" {
		t.Errorf("delegation type changed: %+v", e)
	}
	delay := 200
	conn.Send(ctx, &live.SessionUpdate{Session: live.SessionUpdateConfig{Delegation: &live.Delegation{Type: live.DelegateClient, AcknowledgementDelayMs: &delay}}})
	if e, ok := next().(*live.SessionUpdated); !ok || *e.Session.Delegation.AcknowledgementDelayMs != 200 || e.Session.Audio.Output.Voice.ID != "voice_custom_1" {
		t.Errorf("session.updated %+v", e)
	}
	// Client delegation results come back as commentary or thinking for the delegation.
	del := "del_1"
	conn.Send(ctx, &live.ThinkingAppend{Content: "looking it up", DelegationID: &del})
	if _, ok := next().(*live.ThinkingAppended); !ok {
		t.Error("no thinking ack")
	}
	conn.Send(ctx, &live.InstructionsAppend{Content: "Wrap up."})
	if _, ok := next().(*live.InstructionsAppended); !ok {
		t.Error("no instructions ack")
	}
	if err := mc.Hear("where is my order"); err != nil {
		t.Fatal(err)
	}
	if e, ok := next().(*live.InputTranscriptDelta); !ok || e.Delta != "where is my order" {
		t.Errorf("input transcript %+v", e)
	}
	// Barge-in: loud caller audio while the model speaks stops it.
	done := make(chan livetest.Said, 1)
	go func() {
		said, _ := mc.Say(ctx, livetest.Speech{Text: "a long answer", Audio: make([]byte, 160*200), Pace: 5 * time.Millisecond})
		done <- said
	}()
	loud := make([]byte, 160)
	for i := range loud {
		loud[i] = []byte{0x00, 0x80}[i%2] // μ-law full scale, alternating sign
	}
	go func() {
		for i := 0; i < 10; i++ {
			conn.AppendAudio(ctx, base64.StdEncoding.AppendEncode(nil, loud))
		}
	}()
	go func() {
		for {
			if _, err := conn.ReadEvent(ctx); err != nil {
				return
			}
		}
	}()
	said := <-done
	if !said.Interrupted || said.Bytes >= 160*200 {
		t.Errorf("the model did not stop for the caller: %+v", said)
	}
	if _, starts := mc.CallerSpeaking(); starts != 1 {
		t.Errorf("%d speech starts", starts)
	}
	conn.Close()
}
