package live_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/live/livetest"
)

const key = "sk-test-live-0123456789"

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// phoneSession is how callagent starts a call's session: μ-law at 8 kHz both ways,
// a Responses backend with callagent's tools.
func phoneSession() live.SessionConfig {
	return live.SessionConfig{
		Model:        "gpt-live-1",
		Instructions: "You answer the phone for a bakery.",
		Audio:        &live.AudioConfig{Format: &live.PCMU8000, Output: &live.AudioOutput{Voice: &live.Voice{Name: "cedar"}}},
		Delegation: &live.Delegation{Type: live.DelegateResponses, Responses: &live.ResponsesDelegation{
			Model: "gpt-5.5", Instructions: "Use the tools.",
			Tools: []live.Tool{{Type: "function", Name: "lookup_order", Description: "Find an order",
				Parameters: []byte(`{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`)}},
		}},
	}
}

func dial(t *testing.T, m *livetest.Model) (*live.Conn, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(m)
	t.Cleanup(func() { srv.Close(); m.Close() })
	conn, err := live.Dial(ctxT(t), live.DialOptions{BaseURL: srv.URL + "/v1", APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn, srv
}

func started(t *testing.T, m *livetest.Model, cfg live.SessionConfig) (*live.Conn, *livetest.ModelConn, *live.SessionStarted) {
	t.Helper()
	conn, _ := dial(t, m)
	st, err := conn.Start(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mc *livetest.ModelConn
	select {
	case mc = <-m.Accepted():
	case <-ctxT(t).Done():
		t.Fatal("no session")
	}
	return conn, mc, st
}

func TestURL(t *testing.T) {
	for base, want := range map[string]string{
		"":                                "wss://api.openai.com/v1/live/sessions",
		"http://127.0.0.1:9/v1/":          "ws://127.0.0.1:9/v1/live/sessions",
		"https://proxy.example/openai/v1": "wss://proxy.example/openai/v1/live/sessions",
	} {
		if got, err := live.URL(base); err != nil || got != want {
			t.Errorf("URL(%q) = %q, %v; want %q", base, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x", "https://", "https://x/v1?model=gpt-live-1"} {
		if _, err := live.URL(bad); err == nil {
			t.Errorf("URL(%q) accepted", bad)
		}
	}
}

// The start handshake: session.start first, session.started with the resolved
// session; then caller audio reaches the model byte for byte, and the model's audio
// and transcript reach the client byte for byte.
func TestConnStartAndAudioBothWays(t *testing.T) {
	leakcheck.Check(t)
	m := &livetest.Model{APIKey: key}
	conn, mc, st := started(t, m, phoneSession())
	if st.Session.Model != "gpt-live-1" || st.Session.Audio.Format.Type != live.FormatPCMU || st.Session.Audio.Output.Voice.Name != "cedar" ||
		st.Session.Status != "active" || st.Session.ID == "" || st.ClientEventID == "" {
		t.Errorf("session.started %+v", st)
	}
	if typ, ok := live.EventIDType(st.ClientEventID); !ok || typ != live.TypeSessionStart {
		t.Errorf("client_event_id %q", st.ClientEventID)
	}
	ctx := ctxT(t)
	caller := make([]byte, 8000+4800) // one second of μ-law, every byte value, then 600 ms of silence
	for i := range caller {
		caller[i] = byte(i * 7)
		if i >= 8000 {
			caller[i] = 0xff
		}
	}
	for off := 0; off < len(caller); off += 160 {
		if err := conn.AppendAudio(ctx, base64.StdEncoding.AppendEncode(nil, caller[off:off+160])); err != nil {
			t.Fatal(err)
		}
	}
	if err := mc.WaitAudio(ctx, len(caller)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mc.AudioIn(), caller) {
		t.Error("caller audio changed on the way")
	}
	if speaking, starts := mc.CallerSpeaking(); speaking || starts != 1 {
		t.Errorf("caller speaking %v, %d starts", speaking, starts)
	}
	if got := mc.MissingEventIDs(); len(got) != 0 {
		t.Errorf("client events without event_id: %v", got)
	}

	speech := make([]byte, 4000)
	for i := range speech {
		speech[i] = byte(255 - i%251)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := mc.Say(ctx, livetest.Speech{Text: "Your order shipped yesterday.", Audio: speech})
		errc <- err
	}()
	var heard []byte
	var text strings.Builder
	for len(heard) < len(speech) {
		ev, err := conn.ReadEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch e := ev.(type) {
		case *live.OutputAudioDelta:
			heard, _ = base64.StdEncoding.AppendDecode(heard, e.Delta)
		case *live.OutputTranscriptDelta:
			text.WriteString(e.Delta)
		default:
			t.Fatalf("unexpected %s", ev.EventType())
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(heard, speech) || text.String() != "Your order shipped yesterday." {
		t.Errorf("model audio changed on the way (%d bytes), transcript %q", len(heard), text.String())
	}

	// Closing: session.close, session.closed with the usage, then the close.
	if err := mc.SendUsage(1.5); err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(ctx, &live.SessionClose{}); err != nil {
		t.Fatal(err)
	}
	var closed *live.SessionClosed
	for closed == nil {
		ev, err := conn.ReadEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, ok := ev.(*live.SessionUsageUpdated); ok && u.Usage.Seconds != 1.5 {
			t.Errorf("usage %+v", u)
		}
		closed, _ = ev.(*live.SessionClosed)
	}
	if closed.Reason != live.ClosedRequested || closed.Usage.Seconds != 1.5 {
		t.Errorf("session.closed %+v", closed)
	}
	_, err := conn.ReadEvent(ctx)
	var ce *live.CloseError
	if !errors.As(err, &ce) || !ce.Normal() {
		t.Errorf("after session.closed: %v", err)
	}
	conn.Close()
}

// A refused session.start is a typed *APIError naming the param and the command.
func TestConnStartRefused(t *testing.T) {
	leakcheck.Check(t)
	m := &livetest.Model{APIKey: key, Unchecked: true}
	conn, _ := dial(t, m)
	cfg := phoneSession()
	cfg.Audio.Format = &live.AudioFormat{Type: live.FormatPCMU, Rate: 24000}
	_, err := conn.Start(ctxT(t), cfg)
	var ae *live.APIError
	if !errors.As(err, &ae) || ae.Code != "invalid_value" || ae.Param != "session.audio.format.rate" || ae.ClientEventID == "" {
		t.Fatalf("got %v (%+v)", err, ae)
	}
	conn.CloseNow()
}

func TestDialErrors(t *testing.T) {
	leakcheck.Check(t)
	m := &livetest.Model{APIKey: "sk-other-key-123456"}
	srv := httptest.NewServer(m)
	defer srv.Close()
	_, err := live.Dial(ctxT(t), live.DialOptions{BaseURL: srv.URL + "/v1", APIKey: key})
	var de *live.DialError
	if !errors.As(err, &de) || de.StatusCode != 401 || strings.Contains(err.Error(), key) {
		t.Errorf("got %v", err)
	}
	if _, err := live.Dial(ctxT(t), live.DialOptions{BaseURL: srv.URL}); !errors.Is(err, live.ErrNoAPIKey) {
		t.Errorf("no key: %v", err)
	}
}

// A dropped connection ends ReadEvent with an abnormal *CloseError.
func TestFaultLiveDropIsAnError(t *testing.T) {
	leakcheck.Check(t)
	m := &livetest.Model{APIKey: key}
	conn, mc, _ := started(t, m, phoneSession())
	mc.Drop()
	_, err := conn.ReadEvent(ctxT(t))
	var ce *live.CloseError
	if !errors.As(err, &ce) || ce.Normal() {
		t.Fatalf("got %v", err)
	}
}

// Responses delegation: the backend's function call reaches the application as
// response.event frames; the output goes back as response.item.create
// (function_call_output) and response.create continues the backend.
func TestConnDelegatedFunctionCall(t *testing.T) {
	leakcheck.Check(t)
	m := &livetest.Model{APIKey: key}
	conn, mc, _ := started(t, m, phoneSession())
	ctx := ctxT(t)
	d, err := mc.Delegate("lookup_order", `{"id":"A17"}`)
	if err != nil {
		t.Fatal(err)
	}
	var created *live.DelegationCreated
	var call live.FunctionCall
	for call.CallID == "" {
		ev, err := conn.ReadEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch e := ev.(type) {
		case *live.DelegationCreated:
			created = e
		case *live.ResponseEvent:
			if c, ok := e.FunctionCall(); ok {
				call = c
				if created == nil || e.DelegationID == nil || *e.DelegationID != created.Delegation.ID {
					t.Errorf("function call not tied to its delegation: %+v", e)
				}
			}
		}
	}
	if call.Name != "lookup_order" || call.Arguments != `{"id":"A17"}` {
		t.Errorf("call %+v", call)
	}
	if err := conn.Send(ctx, &live.ResponseItemCreate{Item: live.FunctionCallOutput(call.CallID, `{"status":"shipped"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(ctx, &live.ResponseCreate{}); err != nil {
		t.Fatal(err)
	}
	out, err := d.Wait(ctx)
	if err != nil || out != `{"status":"shipped"}` {
		t.Fatalf("output %q, %v", out, err)
	}
	for {
		ev, err := conn.ReadEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if re, ok := ev.(*live.ResponseEvent); ok {
			if model, u, ok := re.Completed(); ok {
				if model != "gpt-5.5" || u.TotalTokens == 0 {
					t.Errorf("completed %s %+v", model, u)
				}
				break
			}
		}
	}
	// Commentary tells the model what to say; with Responses delegation the
	// delegation_id must be null.
	if err := conn.Send(ctx, &live.CommentaryAppend{Content: "The order shipped."}); err != nil {
		t.Fatal(err)
	}
	ev, err := conn.ReadEvent(ctx)
	if err != nil || ev.EventType() != live.TypeCommentaryAppended {
		t.Fatalf("got %v, %v", ev, err)
	}
	conn.Close()
}

// rawServer answers session.start with session.started, then writes msg forever (if
// set) and discards what it reads: the benchmarks measure the client alone.
func rawServer(b *testing.B, msg []byte) *live.Conn {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		if _, _, err := ws.Read(context.Background()); err != nil {
			return
		}
		ws.Write(context.Background(), websocket.MessageText, []byte(`{"type":"session.started","event_id":"e1","session":{"id":"s","expires_at":0,"model":"gpt-live-1","status":"active"}}`))
		if msg != nil {
			go func() {
				for ws.Write(context.Background(), websocket.MessageText, msg) == nil {
				}
			}()
		}
		buf := make([]byte, 64<<10)
		for {
			_, rd, err := ws.Reader(context.Background())
			if err != nil {
				return
			}
			for {
				if _, err := rd.Read(buf); err != nil {
					break
				}
			}
		}
	}))
	b.Cleanup(srv.Close)
	conn, err := live.Dial(context.Background(), live.DialOptions{BaseURL: srv.URL, APIKey: key})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.CloseNow() })
	if _, err := conn.Start(context.Background(), phoneSession()); err != nil {
		b.Fatal(err)
	}
	return conn
}

func BenchmarkAppendAudio(b *testing.B) {
	conn := rawServer(b, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frame := []byte(base64.StdEncoding.EncodeToString(make([]byte, 160)))
	b.ReportAllocs()
	for b.Loop() {
		if err := conn.AppendAudio(ctx, frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadAudioDelta(b *testing.B) {
	conn := rawServer(b, []byte(`{"type":"session.output_audio.delta","delta":"`+base64.StdEncoding.EncodeToString(make([]byte, 160))+`"}`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.ReadEvent(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAttachURL(t *testing.T) {
	u, err := live.AttachURL("https://api.openai.com/v1", "live_123")
	if err != nil || u != "wss://api.openai.com/v1/live/sessions/live_123/attach" {
		t.Fatalf("AttachURL = %q, %v", u, err)
	}
	for _, bad := range []string{"", "..", "a/b", "live_1?x=1"} {
		if _, err := live.AttachURL("https://api.openai.com/v1", bad); err == nil {
			t.Errorf("AttachURL(%q) accepted", bad)
		}
	}
}
