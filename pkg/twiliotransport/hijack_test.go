package twiliotransport

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// maskedFrame is a client text frame, as a browser or Twilio writes it.
func maskedFrame(payload string) []byte {
	key := [4]byte{1, 2, 3, 4}
	b := []byte{0x81}
	if n := len(payload); n < 126 {
		b = append(b, 0x80|byte(n))
	} else {
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	}
	b = append(b, key[:]...)
	for i := 0; i < len(payload); i++ {
		b = append(b, payload[i]^key[i%4])
	}
	return b
}

// A client that writes its first frames in the same packet as the upgrade request
// leaves them in net/http's read buffer: with the smaller writer the stream is given,
// the stream must still see them, its start first.
func TestAcceptKeepsFramesSentWithTheUpgrade(t *testing.T) {
	got := make(chan *Stream, 1)
	errc := make(chan error, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := Accept(w, r, StreamOptions{StartTimeout: 5 * time.Second})
		if err != nil {
			errc <- err
			return
		}
		got <- s
		<-done
	}))
	defer srv.Close()
	defer close(done)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET /media-stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	msg := []byte(req)
	msg = append(msg, maskedFrame(`{"event":"connected","protocol":"Call","version":"1.0.0"}`)...)
	msg = append(msg, maskedFrame(`{"event":"start","sequenceNumber":"1","start":{"streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ1"}`)...)
	msg = append(msg, maskedFrame(`{"event":"media","sequenceNumber":"2","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"//8="},"streamSid":"MZ1"}`)...)
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", resp.Status)
	}
	var s *Stream
	select {
	case s = <-got:
	case err := <-errc:
		t.Fatalf("Accept: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return")
	}
	defer s.CloseNow()
	if sid := s.Start().StreamSid; sid != "MZ1" {
		t.Fatalf("stream SID %q, want MZ1", sid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := s.ReadFrame(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := f.(*Media); !ok || string(m.Media.Payload) != "//8=" {
		t.Fatalf("first frame after start: %#v", f)
	}
}
