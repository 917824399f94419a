package realtimetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/sipcall"
)

// sideband rings, accepts and attaches a sideband on the twin.
func sideband(t *testing.T) (context.Context, *realtime.Conn, *ModelConn) {
	t.Helper()
	m := &Model{}
	srv, api := sipModel(t, m)
	app := newSIPApp(t)
	ctx := ctxT(t)
	call, err := m.RingSIP(ctx, SIPRing{WebhookURL: app.srv.URL, Secret: testSecret, HTTPClient: app.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	in := <-app.incoming
	sess := accepted("You answer the shop's phone.")
	sess["audio"] = map[string]any{"input": map[string]any{"turn_detection": map[string]any{"type": "server_vad"}}}
	if err := api.Accept(ctx, sipcall.EngineRealtime, in.ID, sess); err != nil {
		t.Fatal(err)
	}
	conn, err := realtime.Dial(ctx, realtime.DialOptions{BaseURL: srv.URL + "/v1", APIKey: testKey, CallID: in.ID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	mc, err := call.Sideband(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, conn, mc
}

// typesUntil reads the sideband's event types up to and including typ.
func typesUntil(t *testing.T, ctx context.Context, conn *realtime.Conn, typ string) []string {
	t.Helper()
	var types []string
	for {
		ev, err := conn.ReadEvent(ctx)
		if err != nil {
			t.Fatalf("waiting for %s after %v: %v", typ, types, err)
		}
		types = append(types, ev.EventType())
		if ev.EventType() == typ {
			return types
		}
	}
}

func index(types []string, typ string) int {
	for i, s := range types {
		if s == typ {
			return i
		}
	}
	return -1
}

// The sideband of a SIP call reports the caller's playback as the API does:
// output_audio_buffer.started after the audio content part is added, stopped
// after response.done once the audio has played; cleared when the caller
// interrupts; and key presses as input_audio_buffer.dtmf_event_received.
func TestSIPSidebandPlaybackAndDTMF(t *testing.T) {
	ctx, conn, mc := sideband(t)

	mc.Respond(ctx, ResponseSpec{Items: []ItemSpec{{Audio: make([]byte, 800), Transcript: "Hello there."}}})
	types := typesUntil(t, ctx, conn, typeOutputStopped)
	part, started, done := index(types, realtime.TypeResponseContentPartAdded), index(types, typeOutputStarted), index(types, realtime.TypeResponseDone)
	if part < 0 || started < part || done < started || types[len(types)-1] != typeOutputStopped {
		t.Fatalf("events %v", types)
	}
	if mc.PlayingAudio() {
		t.Fatal("still playing after output_audio_buffer.stopped")
	}

	// Ten seconds of audio: the caller interrupts while it plays.
	mc.Respond(ctx, ResponseSpec{Items: []ItemSpec{{Audio: make([]byte, 80000), Transcript: "A long answer."}}, ChunkBytes: 80000})
	typesUntil(t, ctx, conn, realtime.TypeResponseDone)
	if !mc.PlayingAudio() {
		t.Fatal("not playing after the response's audio was sent")
	}
	mc.CallerSays("wait", 0)
	types = typesUntil(t, ctx, conn, typeOutputCleared)
	if index(types, realtime.TypeInputAudioBufferSpeechStarted) < 0 || index(types, typeOutputStopped) >= 0 || mc.PlayingAudio() {
		t.Fatalf("events %v, playing %v", types, mc.PlayingAudio())
	}

	if err := mc.PressDTMF("7"); err != nil {
		t.Fatal(err)
	}
	ev := next(t, conn, typeDTMF).(*realtime.UnknownEvent)
	var d struct {
		Event      string `json:"event"`
		ReceivedAt int64  `json:"received_at"`
	}
	if err := json.Unmarshal(ev.Raw, &d); err != nil || d.Event != "7" || d.ReceivedAt == 0 {
		t.Fatalf("dtmf %s", ev.Raw)
	}
	if err := mc.PressDTMF("x"); err == nil {
		t.Fatal("PressDTMF accepted a key no keypad has")
	}
}

// DTMF events exist on a SIP call's sideband only.
func TestPressDTMFNeedsASIPCall(t *testing.T) {
	_, mc := modelPair(t, &Model{})
	if err := mc.PressDTMF("1"); err == nil {
		t.Fatal("a DTMF event on an ordinary connection")
	}
}

// OpenAI holds a SIP call's output audio: a response.cancel stops the generation,
// not the audio already buffered for the caller, which plays on until the app
// sends output_audio_buffer.clear (answered output_audio_buffer.cleared). A plain
// WebSocket session has no such buffer: the clear is refused there.
func TestSIPOutputPlaysUntilCleared(t *testing.T) {
	ctx, conn, mc := sideband(t)
	// Ten seconds of audio, five of them sent at once: the response is still
	// generating the rest when it is cancelled.
	mc.Respond(ctx, ResponseSpec{Items: []ItemSpec{{Audio: make([]byte, 80000), Transcript: "A long answer."}}, ChunkBytes: 40000, Pace: time.Second})
	typesUntil(t, ctx, conn, typeOutputStarted)
	if err := conn.Send(ctx, &realtime.ResponseCancel{}); err != nil {
		t.Fatal(err)
	}
	typesUntil(t, ctx, conn, realtime.TypeResponseDone)
	if !mc.PlayingAudio() {
		t.Fatal("a response.cancel stopped the audio already buffered for the caller")
	}
	if err := conn.Send(ctx, &realtime.OutputAudioBufferClear{EventID: "clear_1"}); err != nil {
		t.Fatal(err)
	}
	types := typesUntil(t, ctx, conn, typeOutputCleared)
	if index(types, typeOutputStopped) >= 0 || mc.PlayingAudio() {
		t.Fatalf("events %v, playing %v", types, mc.PlayingAudio())
	}
}

func TestOutputAudioBufferClearNeedsASIPCall(t *testing.T) {
	conn, _ := modelPair(t, &Model{})
	if err := conn.Send(ctxT(t), &realtime.OutputAudioBufferClear{EventID: "clear_1"}); err != nil {
		t.Fatal(err)
	}
	e := next(t, conn, realtime.TypeError).(*realtime.ErrorEvent)
	if e.Error.EventID != "clear_1" || e.Error.Type != "invalid_request_error" {
		t.Fatalf("error %+v", e.Error)
	}
}
