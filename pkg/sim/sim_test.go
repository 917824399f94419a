package sim

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// The fakes are what every bridge test stands on, so they are tested against the
// behaviour they claim.

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// twilioServer accepts one fake caller and hands the server side to the test.
func twilioServer(t *testing.T) (*httptest.Server, chan *websocket.Conn) {
	conns := make(chan *websocket.Conn, 1)
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		conns <- ws
		<-stop
		ws.CloseNow()
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv, conns
}

func readTwilio(t *testing.T, ws *websocket.Conn) twiliotransport.Frame {
	t.Helper()
	_, data, err := ws.Read(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := twiliotransport.DecodeFrame(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func writeTwilio(t *testing.T, ws *websocket.Conn, f twiliotransport.Frame) {
	t.Helper()
	data, _ := twiliotransport.Marshal(f)
	if err := ws.Write(context.Background(), websocket.MessageText, data); err != nil {
		t.Fatal(err)
	}
}

func TestCallerPlaysInRealTimeAndEchoesMarks(t *testing.T) {
	leakcheck.Check(t)
	srv, conns := twilioServer(t)
	c, err := DialCaller(ctxT(t), CallerOptions{URL: "ws" + strings.TrimPrefix(srv.URL, "http"), FrameInterval: -1,
		Parameters: map[string]string{"From": "+1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ws := <-conns
	defer ws.CloseNow() // runs first: the caller sees the bridge hang up
	if f := readTwilio(t, ws); f.FrameEvent() != "connected" {
		t.Fatalf("first frame %s", f.FrameEvent())
	}
	st := readTwilio(t, ws).(*twiliotransport.Start)
	if st.Start.CallSid != c.CallSID() || st.Start.MediaFormat.SampleRate != 8000 || st.Start.CustomParameters["From"] != "+1" {
		t.Fatalf("start %+v", st)
	}

	// 200 ms of audio, then a mark: the echo comes once it has played, not before.
	sent := time.Now()
	audio := make([]byte, 1600)
	writeTwilio(t, ws, &twiliotransport.Media{Media: twiliotransport.MediaPayload{Payload: twiliotransport.Payload(base64.StdEncoding.EncodeToString(audio))}})
	writeTwilio(t, ws, &twiliotransport.Mark{Mark: twiliotransport.MarkInfo{Name: "m1"}})
	echo := readTwilio(t, ws).(*twiliotransport.Mark)
	if echo.Mark.Name != "m1" || time.Since(sent) < 190*time.Millisecond {
		t.Fatalf("mark %q echoed after %v, before its audio played", echo.Mark.Name, time.Since(sent))
	}
	if got := c.PlayedAt(time.Now()); got != 1600 {
		t.Fatalf("played %d bytes, want 1600", got)
	}

	// A clear drops the queue and echoes pending marks at once.
	writeTwilio(t, ws, &twiliotransport.Media{Media: twiliotransport.MediaPayload{Payload: twiliotransport.Payload(base64.StdEncoding.EncodeToString(make([]byte, 8000)))}})
	writeTwilio(t, ws, &twiliotransport.Mark{Mark: twiliotransport.MarkInfo{Name: "m2"}})
	time.Sleep(100 * time.Millisecond)
	cleared := time.Now()
	writeTwilio(t, ws, &twiliotransport.Clear{})
	if echo := readTwilio(t, ws).(*twiliotransport.Mark); echo.Mark.Name != "m2" || time.Since(cleared) > 500*time.Millisecond {
		t.Fatalf("pending mark %q not echoed at once after clear", echo.Mark.Name)
	}
	if err := c.WaitClears(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	cl := c.Clears()[0]
	if cl.Played < 1600+700 || cl.Played >= 1600+8000 || cl.Queued != 1600+8000 {
		t.Fatalf("clear record %+v", cl)
	}
	if after := c.PlayedAt(time.Now().Add(time.Second)); after != cl.Played {
		t.Fatalf("kept playing after the clear: %d > %d", after, cl.Played)
	}

	// Outgoing audio: 20 ms frames, the last one padded with silence.
	c.Say(make([]byte, 200))
	for _, want := range []int{160, 160} {
		m := readTwilio(t, ws).(*twiliotransport.Media)
		b, _ := base64.StdEncoding.DecodeString(string(m.Media.Payload))
		if len(b) != want || m.Media.Track != "inbound" {
			t.Fatalf("media frame of %d bytes on track %q", len(b), m.Media.Track)
		}
	}
	if err := c.WaitSent(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if s := c.Sent(); len(s) != 320 || s[200] != Silence || s[199] != 0 {
		t.Fatalf("sent %d bytes, padding wrong", len(s))
	}
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
