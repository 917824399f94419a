package twiliotransport

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/leakcheck"
)

// streamPair starts a server that accepts one stream and returns the server-side
// Stream (once the client sent start) and the client WebSocket playing Twilio.
func streamPair(t *testing.T, opts StreamOptions, before ...string) (*Stream, *websocket.Conn) {
	t.Helper()
	got := make(chan *Stream, 1)
	errc := make(chan error, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := Accept(w, r, opts)
		if err != nil {
			errc <- err
			return
		}
		got <- s
		<-done // keep the handler (and so the connection) alive until the test ends
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/media-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	for _, m := range before {
		if err := ws.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case s := <-got:
		t.Cleanup(func() { s.CloseNow() })
		return s, ws
	case err := <-errc:
		t.Fatalf("Accept: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Accept did not return")
	}
	return nil, nil
}

func readFrame(t *testing.T, ws *websocket.Conn) Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	f, err := DecodeFrame(data)
	if err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return f
}

func TestAcceptReadsStart(t *testing.T) {
	leakcheck.Check(t)
	s, _ := streamPair(t, StreamOptions{}, wireConnected, `{"event":`, wireStart)
	st := s.Start()
	if st.StreamSid != "MZ1" || st.Start.CallSid != "CA1" || st.Start.CustomParameters["From"] != "+15550001111" {
		t.Fatalf("start = %+v", st)
	}
}

func TestAcceptTimesOutWithoutStart(t *testing.T) {
	leakcheck.Check(t)
	errc := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := Accept(w, r, StreamOptions{StartTimeout: 50 * time.Millisecond})
		errc <- err
	}))
	defer srv.Close()
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.Write(context.Background(), websocket.MessageText, []byte(wireConnected))
	if err := <-errc; !errors.Is(err, ErrNoStart) {
		t.Fatalf("Accept = %v, want ErrNoStart", err)
	}
	// The server closed the socket.
	if _, _, err := ws.Read(context.Background()); err == nil {
		t.Fatal("socket still open after a failed handshake")
	}
}

func TestSendAudioThenInterrupt(t *testing.T) {
	leakcheck.Check(t)
	s, ws := streamPair(t, StreamOptions{}, wireStart)
	ctx := context.Background()
	var traced []string
	s.SetTrace(func(sent bool, event string, raw []byte) { traced = append(traced, event) })

	n, ok, err := s.SendAudio(ctx, "r1", "item_1", []byte("////////"))
	if n != 6 || !ok || err != nil {
		t.Fatalf("SendAudio = %d, %v, %v; want 6 bytes sent", n, ok, err)
	}
	if m, ok := readFrame(t, ws).(*Media); !ok || string(m.Media.Payload) != "////////" || m.StreamSid != "MZ1" {
		t.Fatalf("expected the media first, got %#v", m)
	}
	// 6 bytes are less than a mark interval: the mark comes at the end of the run,
	// once (a second EndAudio has nothing to mark: the trace below shows one mark).
	for range 2 {
		if err := s.EndAudio(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mark, ok := readFrame(t, ws).(*Mark)
	if !ok || mark.Mark.Name != "0:item_1:6" {
		t.Fatalf("expected mark 0:item_1:6, got %#v", mark)
	}
	if _, _, err := s.SendAudio(ctx, "r1", "item_1", []byte("not base64!")); !errors.Is(err, ErrBadPayload) {
		t.Fatalf("bad payload sent: %v", err)
	}

	in, err := s.Interrupt(ctx, "r1")
	if err != nil || !in.Pending || len(in.Items) != 1 {
		t.Fatalf("Interrupt = %+v, %v", in, err)
	}
	if _, ok := readFrame(t, ws).(*Clear); !ok {
		t.Fatal("no clear sent")
	}
	if _, ok, _ := s.SendAudio(ctx, "r1", "item_1", []byte("AAAA")); ok {
		t.Fatal("late delta of the interrupted response was sent")
	}
	// Nothing pending now: no second clear.
	if in, _ := s.Interrupt(ctx, ""); in.Pending {
		t.Fatal("clear with nothing queued")
	}
	// The handshake's start frame comes first: it was read before the trace was set.
	if strings.Join(traced, ",") != "start,mark,clear" {
		t.Fatalf("traced %q", traced)
	}
}

func TestReadFrameAppliesMarksAndSkipsBadFrames(t *testing.T) {
	leakcheck.Check(t)
	s, ws := streamPair(t, StreamOptions{}, wireStart)
	ctx := context.Background()
	if _, _, err := s.SendAudio(ctx, "r1", "item_1", []byte("AAAA")); err != nil {
		t.Fatal(err)
	}
	if err := s.EndAudio(ctx); err != nil {
		t.Fatal(err)
	}
	readFrame(t, ws)
	mark := readFrame(t, ws).(*Mark)
	for _, m := range []string{
		`{"event":"media","media":{"payload":"###"}}`,
		`not json`,
		`{"event":"mark","mark":{"name":"` + mark.Mark.Name + `"}}`,
		wireMedia,
		wireDTMF,
		wireStop,
	} {
		ws.Write(ctx, websocket.MessageText, []byte(m))
	}
	var de *DecodeError
	if _, err := s.ReadFrame(ctx); !errors.As(err, &de) || !errors.Is(err, ErrBadPayload) {
		t.Fatalf("bad payload: %v", err)
	}
	if _, err := s.ReadFrame(ctx); !errors.As(err, &de) {
		t.Fatalf("not json: %v", err)
	}
	if f, err := s.ReadFrame(ctx); err != nil || f.FrameEvent() != EventMark {
		t.Fatalf("mark: %v %v", f, err)
	}
	if s.Playback().Pending() {
		t.Fatal("echoed mark not applied")
	}
	f, err := s.ReadFrame(ctx)
	if m, ok := f.(*Media); err != nil || !ok || m.Size != 4 || m.Media.Timestamp != 5 {
		t.Fatalf("media: %#v %v", f, err)
	}
	if f, _ := s.ReadFrame(ctx); f.(*DTMF).DTMF.Digit != "1" {
		t.Fatalf("dtmf: %#v", f)
	}
	if f, _ := s.ReadFrame(ctx); f.FrameEvent() != EventStop {
		t.Fatalf("stop: %#v", f)
	}
	// Close waits for the server's answer, which ReadFrame gives: run them together.
	closed := make(chan struct{})
	go func() { ws.Close(websocket.StatusNormalClosure, "bye"); close(closed) }()
	defer func() { <-closed }()
	_, err = s.ReadFrame(ctx)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 1000 {
		t.Fatalf("after close: %v", err)
	}
}

// The start deadline bounds the handshake only: it must not close the stream later.
func TestStartDeadlineDoesNotOutliveHandshake(t *testing.T) {
	leakcheck.Check(t)
	s, ws := streamPair(t, StreamOptions{StartTimeout: 50 * time.Millisecond}, wireStart)
	time.Sleep(150 * time.Millisecond)
	ctx := context.Background()
	if _, _, err := s.SendAudio(ctx, "r", "i", []byte("AAAA")); err != nil {
		t.Fatalf("stream closed after the start deadline: %v", err)
	}
	ws.Write(ctx, websocket.MessageText, []byte(wireDTMF))
	if f, err := s.ReadFrame(ctx); err != nil || f.FrameEvent() != EventDTMF {
		t.Fatalf("read after the start deadline: %v %v", f, err)
	}
}
