package realtimetest

import (
	"context"
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
