package wsconn

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/leakcheck"
)

// pair returns a client Conn and the server's raw connection.
func pair(t *testing.T) (*Conn, *websocket.Conn) {
	t.Helper()
	leakcheck.Check(t)
	srvc := make(chan *websocket.Conn, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		srvc <- ws
		<-done
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	peer := <-srvc
	t.Cleanup(func() { ws.CloseNow(); peer.CloseNow(); close(done); srv.Close() })
	return New(ws, 1<<20), peer
}

// One large message does not leave its buffer to the rest of the call: after
// shrinkAfter small messages both directions' buffers are small again, and a run
// of large messages keeps its buffer (no allocation per message).
func TestBuffersShrinkAfterALargeMessage(t *testing.T) {
	c, peer := pair(t)
	ctx := context.Background()
	large := bytes.Repeat([]byte("x"), 100<<10)
	small := []byte(`{"type":"input_audio_buffer.append","audio":"////"}`)
	go func() {
		peer.Write(ctx, websocket.MessageText, large)
		peer.Write(ctx, websocket.MessageText, large)
		for range shrinkAfter + 1 {
			peer.Write(ctx, websocket.MessageText, small)
		}
	}()
	go func() { // drain what c writes
		for {
			if _, _, err := peer.Read(ctx); err != nil {
				return
			}
		}
	}()
	for i := range shrinkAfter + 3 {
		b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 && c.rbuf.Cap() < len(large) {
			t.Fatalf("read buffer %d bytes after two large messages", c.rbuf.Cap())
		}
		msg := small
		if i < 2 {
			msg = large
		}
		if !bytes.Equal(b, msg) {
			t.Fatalf("message %d: %d bytes, want %d", i, len(b), len(msg))
		}
		if err := c.Write(ctx, func(dst []byte) []byte { return append(dst, msg...) }); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.rbuf.Cap(); got > keepCap {
		t.Errorf("read buffer still %d bytes after %d small messages", got, shrinkAfter)
	}
	if got := cap(c.wbuf); got > keepCap {
		t.Errorf("write buffer still %d bytes after %d small messages", got, shrinkAfter)
	}
}

func TestOversized(t *testing.T) {
	small := 0
	for i := range shrinkAfter - 1 {
		if oversized(&small, 100, 64<<10) {
			t.Fatalf("shrunk after %d small messages", i+1)
		}
	}
	if !oversized(&small, 100, 64<<10) {
		t.Fatal("not shrunk after shrinkAfter small messages")
	}
	small = shrinkAfter - 1
	if oversized(&small, 20<<10, 64<<10) || small != 0 {
		t.Error("a message of a quarter of the buffer or more must reset the count")
	}
	if oversized(&small, 10, keepCap) {
		t.Error("a buffer of keepCap or less is kept")
	}
}
