package realtime

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/retry"
)

const testKey = "sk-test-0123456789abcdef"

// peer is a loopback server that accepts one Realtime connection and hands it to fn.
func peer(t *testing.T, fn func(r *http.Request, ws *websocket.Conn)) *httptest.Server {
	t.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		fn(r, ws)
	}))
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return srv
}

// recordingPeer dials a peer that delivers every message it reads (up to n) on the
// channel, closed when the connection ends.
func recordingPeer(t *testing.T, n int) (*Conn, <-chan []byte) {
	t.Helper()
	received := make(chan []byte, n)
	srv := peer(t, func(r *http.Request, ws *websocket.Conn) {
		ws.SetReadLimit(1 << 20)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				close(received)
				return
			}
			received <- data
		}
	})
	return dialPeer(t, srv), received
}

func dialPeer(t *testing.T, srv *httptest.Server) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, DialOptions{BaseURL: srv.URL + "/v1", APIKey: testKey, Model: "gpt-realtime"})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return c
}

func TestDialSendsKeyAndModel(t *testing.T) {
	leakcheck.Check(t)
	got := make(chan *http.Request, 1)
	srv := peer(t, func(r *http.Request, ws *websocket.Conn) {
		got <- r
		ws.Close(websocket.StatusNormalClosure, "")
	})
	c := dialPeer(t, srv)
	defer c.CloseNow()
	r := <-got
	if r.URL.Path != "/v1/realtime" || r.URL.Query().Get("model") != "gpt-realtime" {
		t.Errorf("dialed %s", r.URL)
	}
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("Authorization header not sent")
	}
	if r.Header.Get("OpenAI-Beta") != "" {
		t.Errorf("GA protocol must not send the beta header")
	}
}

func TestDialRejectedKeyIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"message":"Incorrect API key provided: ` + testKey + `.","type":"invalid_request_error","code":"invalid_api_key"}}`))
	}))
	defer srv.Close()
	_, err := Dial(context.Background(), DialOptions{BaseURL: srv.URL, APIKey: testKey})
	var de *DialError
	if !errors.As(err, &de) || de.StatusCode != 401 {
		t.Fatalf("err = %v, want a 401 *DialError", err)
	}
	msg := err.Error()
	if strings.Contains(msg, testKey) || strings.Contains(msg, "0123456789") {
		t.Fatalf("error leaks the key: %s", msg)
	}
	if !strings.Contains(msg, "OPENAI_API_KEY") || !strings.Contains(msg, "Incorrect API key") {
		t.Fatalf("error does not say what to fix: %s", msg)
	}
}

func TestDialWithoutKey(t *testing.T) {
	if _, err := Dial(context.Background(), DialOptions{BaseURL: "http://127.0.0.1:1"}); !errors.Is(err, ErrNoAPIKey) {
		t.Fatalf("err = %v, want ErrNoAPIKey", err)
	}
}

func TestDialUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	_, err := Dial(context.Background(), DialOptions{BaseURL: base, APIKey: testKey})
	var de *DialError
	if !errors.As(err, &de) || de.StatusCode != 0 || strings.Contains(err.Error(), testKey) {
		t.Fatalf("err = %v", err)
	}
	// A base URL with user info (a proxy's): the password stays out of the error.
	withUser := strings.Replace(base, "http://", "http://proxyuser:proxy-pass-77@", 1)
	if _, err := Dial(context.Background(), DialOptions{BaseURL: withUser, APIKey: testKey}); err == nil || strings.Contains(err.Error(), "proxy-pass-77") {
		t.Fatal("the error shows the base URL's password, or there was none")
	}
	if _, err := URL("ftp://u:proxy-pass-77@x", ""); err == nil || strings.Contains(err.Error(), "proxy-pass-77") {
		t.Fatal("the URL error shows the password, or there was none")
	}
}

func TestReadLargeEventAndCloseCode(t *testing.T) {
	leakcheck.Check(t)
	big := `{"type":"session.created","session":{"type":"realtime","instructions":"` + strings.Repeat("x", 200<<10) + `"}}`
	srv := peer(t, func(r *http.Request, ws *websocket.Conn) {
		ctx := context.Background()
		ws.Write(ctx, websocket.MessageText, []byte(big))
		ws.Write(ctx, websocket.MessageText, []byte(`{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"AAAA"}`))
		ws.Close(4000, "session expired")
	})
	c := dialPeer(t, srv)
	defer c.CloseNow()
	ctx := context.Background()
	ev, err := c.ReadEvent(ctx)
	if err != nil {
		t.Fatalf("read 200 KiB event: %v", err)
	}
	if sc, ok := ev.(*SessionCreated); !ok || len(sc.Session.Instructions) != 200<<10 {
		t.Fatalf("got %T", ev)
	}
	ev, err = c.ReadEvent(ctx)
	if d, ok := ev.(*ResponseOutputAudioDelta); err != nil || !ok || string(d.Delta) != "AAAA" {
		t.Fatalf("delta: %#v, %v", ev, err)
	}
	_, err = c.ReadEvent(ctx)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "session expired" {
		t.Fatalf("err = %v, want close 4000", err)
	}
}

func TestMalformedEventKeepsConnection(t *testing.T) {
	leakcheck.Check(t)
	srv := peer(t, func(r *http.Request, ws *websocket.Conn) {
		ctx := context.Background()
		ws.Write(ctx, websocket.MessageText, []byte(`{"type":`))
		ws.Write(ctx, websocket.MessageText, []byte(`{"type":"input_audio_buffer.cleared"}`))
		ws.Close(websocket.StatusNormalClosure, "")
	})
	c := dialPeer(t, srv)
	defer c.CloseNow()
	_, err := c.ReadEvent(context.Background())
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want *DecodeError", err)
	}
	if ev, err := c.ReadEvent(context.Background()); err != nil || ev.EventType() != TypeInputAudioBufferCleared {
		t.Fatalf("after a malformed event: %v, %v", ev, err)
	}
}

func TestConcurrentSendsStayWhole(t *testing.T) {
	leakcheck.Check(t)
	const writers, each = 8, 50
	c, received := recordingPeer(t, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			audio := bytes.Repeat([]byte{byte('A' + w)}, 4000)
			for range each {
				if w%2 == 0 {
					if err := c.AppendAudio(context.Background(), audio); err != nil {
						t.Error(err)
						return
					}
				} else if err := c.Send(context.Background(), &InputAudioBufferAppend{Audio: audio}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.Close()
	n := 0
	for data := range received {
		ev, err := DecodeClientEvent(data)
		if err != nil {
			t.Fatalf("frame %d garbled: %v", n, err)
		}
		a := ev.(*InputAudioBufferAppend).Audio
		if len(a) != 4000 || bytes.Count(a, a[:1]) != 4000 {
			t.Fatalf("frame %d mixes writers", n)
		}
		n++
	}
	if n != writers*each {
		t.Fatalf("server got %d frames, want %d", n, writers*each)
	}
}

func TestCancelClosesConnection(t *testing.T) {
	leakcheck.Check(t)
	closed := make(chan struct{})
	srv := peer(t, func(r *http.Request, ws *websocket.Conn) {
		ws.Read(context.Background()) // blocks until the client goes away
		close(closed)
	})
	c := dialPeer(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.ReadEvent(ctx); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadEvent after cancel = %v", err)
	}
	<-closed
}

func TestTraceSkipsAudio(t *testing.T) {
	leakcheck.Check(t)
	srv := peer(t, func(r *http.Request, ws *websocket.Conn) {
		ctx := context.Background()
		ws.Read(ctx)
		ws.Read(ctx)
		ws.Write(ctx, websocket.MessageText, []byte(`{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"AAAA"}`))
		ws.Write(ctx, websocket.MessageText, []byte(`{"type":"response.created","response":{"id":"r"}}`))
		ws.Close(websocket.StatusNormalClosure, "")
	})
	c := dialPeer(t, srv)
	defer c.CloseNow()
	var traced []string
	c.SetTrace(func(sent bool, typ string, raw []byte) {
		dir := "in"
		if sent {
			dir = "out"
		}
		traced = append(traced, dir+" "+typ)
	})
	ctx := context.Background()
	c.AppendAudio(ctx, []byte("AAAA"))
	c.Send(ctx, &ResponseCreate{})
	c.ReadEvent(ctx)
	c.ReadEvent(ctx)
	want := []string{"out response.create", "in response.created"}
	if strings.Join(traced, ",") != strings.Join(want, ",") {
		t.Fatalf("traced %q, want %q", traced, want)
	}
}

func BenchmarkReadAudioDelta(b *testing.B) {
	msg := deltaMessage(bytes.Repeat([]byte{0x7f}, 800))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		for {
			if err := ws.Write(context.Background(), websocket.MessageText, msg); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, err := Dial(context.Background(), DialOptions{BaseURL: srv.URL, APIKey: testKey})
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ReadEvent(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendAudio(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
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
	defer srv.Close()
	c, err := Dial(context.Background(), DialOptions{BaseURL: srv.URL, APIKey: testKey})
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	payload := bytes.Repeat([]byte("f39/"), 54) // one 20 ms Twilio frame: 216 base64 chars
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.AppendAudio(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// A handshake answered 429 or 5xx opened nothing: Dial tries again, after the
// server's Retry-After when it gives one, a bounded number of times. A 401 is not
// retried.
func TestDialRetriesRateLimitedHandshake(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []int // statuses before the upgrade; 0 upgrades
		retryAt string
		ok      bool
		tries   int
		waits   []time.Duration
	}{
		{name: "429 then upgrade", answers: []int{429, 0}, retryAt: "2", ok: true, tries: 2, waits: []time.Duration{2 * time.Second}},
		{name: "503 twice then upgrade", answers: []int{503, 502, 0}, ok: true, tries: 3, waits: []time.Duration{time.Millisecond, 2 * time.Millisecond}},
		{name: "429 every time", answers: []int{429, 429, 429, 429}, tries: 3, waits: []time.Duration{time.Millisecond, 2 * time.Millisecond}},
		{name: "401 at once", answers: []int{401, 0}, tries: 1},
		{name: "Retry-After too long", answers: []int{429, 0}, retryAt: "3600", tries: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			tries := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				status := tc.answers[tries]
				tries++
				mu.Unlock()
				if status != 0 {
					if tc.retryAt != "" {
						w.Header().Set("Retry-After", tc.retryAt)
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					w.Write([]byte(`{"error":{"message":"Too many requests","type":"rate_limit_error","code":"rate_limit_exceeded"}}`))
					return
				}
				ws, err := websocket.Accept(w, r, nil)
				if err == nil {
					ws.Close(websocket.StatusNormalClosure, "")
				}
			}))
			defer srv.Close()
			var waits []time.Duration
			policy := retry.Policy{Base: time.Millisecond, Sleep: func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}}
			c, err := Dial(context.Background(), DialOptions{BaseURL: srv.URL, APIKey: testKey, Retry: policy})
			if c != nil {
				c.CloseNow()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("Dial: %v", err)
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Fatalf("the key is in the error: %v", err)
			}
			if tries != tc.tries || !slices.Equal(waits, tc.waits) {
				t.Errorf("%d tries after waits %v; want %d after %v", tries, waits, tc.tries, tc.waits)
			}
		})
	}
}

// Every client event gets a unique event_id that names its type, audio appends
// included, so an error echoing it says which event failed. One the caller set is
// kept.
func TestSendGivesEveryEventAnID(t *testing.T) {
	leakcheck.Check(t)
	c, received := recordingPeer(t, 8)
	ctx := context.Background()
	c.Send(ctx, &ResponseCreate{})
	c.AppendAudio(ctx, []byte("AAAA"))
	c.Send(ctx, &SessionUpdate{Session: SessionConfig{Type: "realtime", Tools: []Tool{},
		Audio: &AudioConfig{Input: &AudioInput{Off: OffTurnDetection | OffNoiseReduction}}}})
	c.Send(ctx, &ResponseCancel{EventID: "mine"})
	c.Close()
	var ids []string
	var raws []string
	for data := range received {
		raws = append(raws, string(data))
		ev, err := DecodeClientEvent(data)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		id := ""
		switch e := ev.(type) {
		case *ResponseCreate:
			id = e.EventID
		case *InputAudioBufferAppend:
			id = e.EventID
		case *SessionUpdate:
			id = e.EventID
		case *ResponseCancel:
			id = e.EventID
		}
		ids = append(ids, id)
		if typ, ok := EventIDType(id); id != "mine" && (!ok || typ != ev.EventType()) {
			t.Errorf("%s: event_id %q does not name its type", ev.EventType(), id)
		}
	}
	if len(ids) != 4 || ids[0] == ids[1] || ids[3] != "mine" {
		t.Fatalf("event ids %q", ids)
	}
	// An update says what it clears: null for input settings, [] for tools.
	if !strings.Contains(raws[2], `"turn_detection":null`) || !strings.Contains(raws[2], `"noise_reduction":null`) ||
		strings.Contains(raws[2], `"transcription"`) || !strings.Contains(raws[2], `"tools":[]`) {
		t.Fatalf("session.update %s", raws[2])
	}
}

func TestSidebandURL(t *testing.T) {
	u, err := SidebandURL("https://api.openai.com/v1", "rtc_u7_DfK6YZ")
	if err != nil || u != "wss://api.openai.com/v1/realtime?call_id=rtc_u7_DfK6YZ" {
		t.Fatalf("SidebandURL = %q, %v", u, err)
	}
	u, err = SidebandURL("http://127.0.0.1:9/v1/", "rtc_1")
	if err != nil || u != "ws://127.0.0.1:9/v1/realtime?call_id=rtc_1" {
		t.Fatalf("SidebandURL = %q, %v", u, err)
	}
	for _, bad := range []string{"", "rtc_1&model=x", "a/b"} {
		if _, err := SidebandURL("https://api.openai.com/v1", bad); err == nil {
			t.Errorf("SidebandURL(%q) accepted", bad)
		}
	}
}
