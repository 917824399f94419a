package livetest_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/live/livetest"
	"github.com/callagent/callagent/pkg/sipcall"
)

// The attach socket of a SIP call reflects the caller's audio as the API does
// (session.input_audio.append: 24 kHz PCM16, no event_id), then the transcript of
// it on the session timeline; the caller speaking stops the model; the model's
// reflected audio carries start_ms and end_ms. The attach socket takes no
// output_audio_buffer.clear (Realtime's, WebRTC/SIP only): it is answered with an
// error, as any event the sideband does not accept.
func TestFaultSIPLiveAttachReflectsTheCall(t *testing.T) {
	leakcheck.Check(t)
	m := &livetest.Model{APIKey: key}
	srv := server(t, m)
	hook, incoming, _ := webhookApp(t)
	api := sipcall.NewClient(srv.URL+"/v1", key, srv.Client())
	ctx := ctxT(t)
	call, err := m.RingSIP(ctx, livetest.SIPRing{WebhookURL: hook.URL, Secret: sipSecret})
	if err != nil {
		t.Fatal(err)
	}
	in := <-incoming
	if err := api.Accept(ctx, sipcall.EngineLive, in.ID, map[string]any{"type": "live", "model": "gpt-live-1"}); err != nil {
		t.Fatal(err)
	}
	u, err := live.AttachURL(srv.URL+"/v1", in.ID)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + key}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(live.DefaultReadLimit)
	// read returns the next event (its members), failing unless it is of type typ.
	read := func(typ string) map[string]any {
		t.Helper()
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil || ev["type"] != typ {
			t.Fatalf("read %s, want %s", b, typ)
		}
		return ev
	}
	read(live.TypeSessionStarted)
	mc, err := call.Sideband(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&livetest.ModelConn{}).CallerSays("hi", 0); err == nil {
		t.Fatal("CallerSays on a socket attached to no call")
	}

	said := make(chan error, 1)
	go func() { said <- mc.CallerSays("is it open today", 100) }()
	for pcm := 0; pcm < 100*48; {
		a := read(live.TypeInputAudioAppend)
		b, err := base64.StdEncoding.DecodeString(a["audio"].(string))
		if _, id := a["event_id"]; err != nil || id || len(a) != 2 || len(b) != 960 {
			t.Fatalf("reflected audio %v", a)
		}
		pcm += len(b)
	}
	d := read(live.TypeInputTranscriptDelta)
	if d["delta"] != "is it open today" || d["start_ms"] != 0.0 || d["end_ms"] != 100.0 {
		t.Fatalf("transcript %v", d)
	}
	if err := <-said; err != nil {
		t.Fatal(err)
	}
	if now, starts := mc.CallerSpeaking(); now || starts != 1 {
		t.Fatalf("caller speaking %v, %d times", now, starts)
	}

	// 100 ms of the model's speech (24 kHz PCM16), reflected with its place on the
	// timeline.
	if _, err := mc.Say(ctx, livetest.Speech{Audio: make([]byte, 4800), Chunk: 4800}); err != nil {
		t.Fatal(err)
	}
	o := read(live.TypeOutputAudioDelta)
	if o["start_ms"] != 0.0 || o["end_ms"] != 100.0 || o["delta"] == "" {
		t.Fatalf("reflected output %v", o)
	}

	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"output_audio_buffer.clear","event_id":"clear_1"}`)); err != nil {
		t.Fatal(err)
	}
	if e := read(live.TypeError)["error"].(map[string]any); e["client_event_id"] != "clear_1" {
		t.Fatalf("error %v", e)
	}
}
