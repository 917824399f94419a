package twiliotest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// actionApp answers the webhook with a <Connect action>, closes each stream after
// its start (closeStream) or keeps it, and answers the action, checking its
// signature.
func actionApp(t *testing.T, closeStream bool, actions *atomic.Int32, bad *atomic.Int32) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := srv.Listener.Addr().String()
		switch r.URL.Path {
		case "/incoming-call":
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Connect action="http://%s/stream-ended"><Stream url="ws://%s/media-stream"/></Connect></Response>`, host, host)
		case "/media-stream":
			ws, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			for i := 0; ; i++ {
				if _, _, err := ws.Read(ctx); err != nil {
					ws.CloseNow()
					return
				}
				if closeStream && i == 1 { // connected, start
					ws.Close(websocket.StatusNormalClosure, "")
					return
				}
			}
		case "/stream-ended":
			actions.Add(1)
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			if r.Header.Get("X-Twilio-Signature") != Sign(placeToken, "http://"+host+"/stream-ended", form) ||
				form.Get("CallSid") != "CA1" || form.Get("CallStatus") != "in-progress" {
				bad.Add(1)
			}
			fmt.Fprint(w, `<Response><Say>Goodbye</Say></Response>`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// When the bridge closes the stream, the twin requests the <Connect> action at
// once, signed, as Twilio does, and keeps what it answers.
func TestPlaceCallFollowsConnectAction(t *testing.T) {
	var actions, bad atomic.Int32
	srv := actionApp(t, true, &actions, &bad)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := PlaceCall(ctx, CallOptions{Webhook: srv.URL + "/incoming-call", AuthToken: placeToken, CallSID: "CA1", AccountSID: "AC1",
		From: "+15550100001", To: "+15550100002", AllowInsecureStream: true, FollowAction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.WaitAction(ctx)
	if err != nil || r.Err != nil || r.Status != 200 || r.TwiML != `<Response><Say>Goodbye</Say></Response>` {
		t.Fatalf("action: %+v, %v", r, err)
	}
	if actions.Load() != 1 || bad.Load() != 0 {
		t.Fatalf("%d action requests, %d badly signed", actions.Load(), bad.Load())
	}
}

// A caller who hangs up ends the call: Twilio requests no action then.
func TestPlaceCallNoActionAfterHangup(t *testing.T) {
	var actions, bad atomic.Int32
	srv := actionApp(t, false, &actions, &bad)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := PlaceCall(ctx, CallOptions{Webhook: srv.URL + "/incoming-call", AuthToken: placeToken, CallSID: "CA1", AccountSID: "AC1",
		AllowInsecureStream: true, FollowAction: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Hangup() // joins the twin's goroutines, the one that would request the action too
	if actions.Load() != 0 {
		t.Fatalf("%d action requests after a hang-up", actions.Load())
	}
}
