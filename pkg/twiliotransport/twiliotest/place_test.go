package twiliotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// twilioApp is a callagent-like server: a voice webhook answering TwiML whose
// <Stream> has a statusCallback, the stream itself, and the callback, which
// records the (signature-checked) posts it gets.
type twilioApp struct {
	srv      *httptest.Server
	mu       sync.Mutex
	posts    []url.Values
	badSig   int
	upgrades int
	got      chan url.Values
}

const placeToken = "token-for-tests"

func newTwilioApp(t *testing.T, streamScheme string, refuseStream bool) *twilioApp {
	a := &twilioApp{got: make(chan url.Values, 8)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := a.srv.Listener.Addr().String()
		switch r.URL.Path {
		case "/incoming-call":
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="%s://%s/media-stream" statusCallback="http://%s/stream-status" statusCallbackMethod="POST"><Parameter name="k" value="v"/></Stream></Connect></Response>`,
				streamScheme, host, host)
		case "/media-stream":
			a.mu.Lock()
			a.upgrades++
			a.mu.Unlock()
			if refuseStream {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			ws, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					ws.CloseNow()
					return
				}
			}
		case "/stream-status":
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			a.mu.Lock()
			if r.Header.Get("X-Twilio-Signature") != Sign(placeToken, "http://"+host+"/stream-status", form) {
				a.badSig++
			}
			a.posts = append(a.posts, form)
			a.mu.Unlock()
			a.got <- form
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *twilioApp) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case f := <-a.got:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no statusCallback post")
		return nil
	}
}

func (a *twilioApp) place(ctx context.Context, insecure bool) (*Caller, error) {
	return PlaceCall(ctx, CallOptions{Webhook: a.srv.URL + "/incoming-call", AuthToken: placeToken,
		CallSID: "CA1", AccountSID: "AC1", From: "+15550100001", To: "+15550100002", AllowInsecureStream: insecure})
}

// Twilio streams only to wss://: a ws:// stream URL is a stream error, posted to
// the statusCallback, and no connection is made.
func TestPlaceCallRefusesWSStreamURL(t *testing.T) {
	a := newTwilioApp(t, "ws", false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.place(ctx, false)
	var serr *StreamError
	if !errors.As(err, &serr) || serr.Code != ErrStreamMalformedURL || !strings.Contains(err.Error(), "wss://") {
		if c != nil {
			c.Close()
		}
		t.Fatalf("PlaceCall = %v, want a StreamError %d", err, ErrStreamMalformedURL)
	}
	f := a.next(t)
	if f.Get("StreamEvent") != "stream-error" || !strings.HasPrefix(f.Get("StreamError"), "31923 ") ||
		f.Get("CallSid") != "CA1" || f.Get("AccountSid") != "AC1" || !strings.HasPrefix(f.Get("StreamSid"), "MZ") ||
		f.Get("StreamName") == "" || f.Get("Timestamp") == "" {
		t.Errorf("statusCallback got %v", f)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.badSig != 0 || a.upgrades != 0 {
		t.Errorf("bad signatures %d, stream upgrades %d: want 0 and 0", a.badSig, a.upgrades)
	}
}

// A stream that opens is reported started, and stopped when it ends.
func TestPlaceCallPostsStreamStartedAndStopped(t *testing.T) {
	a := newTwilioApp(t, "ws", false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.place(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	started := a.next(t)
	c.Close()
	stopped := a.next(t)
	if started.Get("StreamEvent") != "stream-started" || stopped.Get("StreamEvent") != "stream-stopped" ||
		started.Get("StreamSid") != stopped.Get("StreamSid") || started.Get("StreamError") != "" {
		t.Errorf("posts %v then %v", started, stopped)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.badSig != 0 {
		t.Errorf("%d posts with a bad signature", a.badSig)
	}
}

// A server that refuses the upgrade is a handshake error (31920).
func TestPlaceCallReportsHandshakeError(t *testing.T) {
	a := newTwilioApp(t, "ws", true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := a.place(ctx, true)
	var serr *StreamError
	if !errors.As(err, &serr) || serr.Code != ErrStreamHandshake {
		t.Fatalf("PlaceCall = %v, want a StreamError %d", err, ErrStreamHandshake)
	}
	if f := a.next(t); f.Get("StreamEvent") != "stream-error" || !strings.HasPrefix(f.Get("StreamError"), "31920 ") {
		t.Errorf("statusCallback got %v", f)
	}
}
