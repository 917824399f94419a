package server

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// postStreamStatus posts a <Stream> statusCallback event for callSID, signed over
// the public URL unless unsigned.
func (ts *testServer) postStreamStatus(t *testing.T, form url.Values, signed bool) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.url+PathStreamStatus, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signed {
		req.Header.Set(SignatureHeader, sign(testToken, testPublic+PathStreamStatus, form))
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (l *eventLog) warnings(callSID string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.evs {
		if w, ok := ev.(callevent.Warning); ok && w.CallSID == callSID {
			out = append(out, w.Message)
		}
	}
	return out
}

func (l *eventLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.evs)
}

// The TwiML names the statusCallback, so Twilio reports stream failures to us.
func TestTwiMLHasStreamStatusCallback(t *testing.T) {
	ts := newTestServer(t, nil)
	_, body := ts.webhook("CAcb01", nil)
	var d struct {
		Stream struct {
			StatusCallback string `xml:"statusCallback,attr"`
			Method         string `xml:"statusCallbackMethod,attr"`
		} `xml:"Connect>Stream"`
	}
	if err := xml.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if d.Stream.StatusCallback != testPublic+PathStreamStatus || d.Stream.Method != "POST" {
		t.Fatalf("<Stream statusCallback=%q statusCallbackMethod=%q>, want %q POST", d.Stream.StatusCallback, d.Stream.Method,
			testPublic+PathStreamStatus)
	}
}

// A signed stream-error is a warning of the call with Twilio's code, counted by
// code; stream-started is a debug event; an unsigned post is refused before any work.
func TestStreamStatusCallback(t *testing.T) {
	ts := newTestServer(t, nil)
	base := url.Values{"AccountSid": {"AC1"}, "CallSid": {"CAcb02"}, "StreamSid": {"MZ1"}, "StreamName": {"MZ1"},
		"Timestamp": {"2025-01-01T00:00:00Z"}}
	forged := url.Values{"StreamEvent": {"stream-error"}, "StreamError": {"31920 forged"}}
	for k, v := range base {
		forged[k] = v
	}
	if code := ts.postStreamStatus(t, forged, false); code != http.StatusForbidden {
		t.Fatalf("unsigned post: %d, want 403", code)
	}
	if n := ts.events.len(); n != 0 {
		t.Fatalf("an unsigned post made %d events", n)
	}

	started := url.Values{"StreamEvent": {"stream-started"}}
	failed := url.Values{"StreamEvent": {"stream-error"}, "StreamError": {"31920 Stream - WebSocket - Handshake Error\x1b[31m"}}
	for _, f := range []url.Values{started, failed} {
		for k, v := range base {
			f[k] = v
		}
		if code := ts.postStreamStatus(t, f, true); code != http.StatusOK {
			t.Fatalf("signed %s: %d", f.Get("StreamEvent"), code)
		}
	}
	w := ts.events.warnings("CAcb02")
	if len(w) != 1 || !strings.Contains(w[0], "31920 Stream - WebSocket - Handshake Error") || strings.Contains(w[0], "\x1b") {
		t.Fatalf("warnings of the call: %q", w)
	}
	var http2 []string
	ts.events.mu.Lock()
	for _, ev := range ts.events.evs {
		if e, ok := ev.(callevent.HTTPRequest); ok && e.CallSID == "CAcb02" && e.Path == PathStreamStatus {
			http2 = append(http2, e.Answer)
		}
	}
	ts.events.mu.Unlock()
	if strings.Join(http2, ",") != "stream-started,stream-error 31920" {
		t.Errorf("debug.http events: %q", http2)
	}
	if m := ts.metricsText(t); !strings.Contains(m, `callagent_stream_errors_total{code="31920"} 1`) {
		t.Errorf("stream error not counted:\n%s", grep(m, "stream_errors"))
	}
}

// End to end with the Twilio twin: a server whose public URL is http (the opt-in
// of local simulations) names a ws:// stream, which Twilio refuses; the refusal
// comes back through the statusCallback as a warning of the call.
func TestWSStreamURLRefusalReachesTheCall(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	events := &eventLog{}
	srv, err := New(Config{PublicURL: public, InsecureHTTPPublicURL: true, AuthToken: testToken, OnEvent: events.add,
		Dial: func(ctx context.Context, callSID string) (session.ModelLeg, error) {
			return nil, errors.New("no model in this test")
		}})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, time.Second) }()
	defer func() {
		cancel()
		<-served
	}()

	callCtx, callCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer callCancel()
	c, err := twiliotest.PlaceCall(callCtx, twiliotest.CallOptions{Webhook: public + PathIncomingCall, AuthToken: testToken,
		CallSID: "CAcb03", AccountSID: "AC1", From: "+15550001111", To: "+15552223333"})
	var serr *twiliotest.StreamError
	if !errors.As(err, &serr) || serr.Code != twiliotest.ErrStreamMalformedURL {
		if c != nil {
			c.Close()
		}
		t.Fatalf("PlaceCall = %v, want Twilio's refusal of a ws:// stream", err)
	}
	// PlaceCall returns once the statusCallback was answered.
	if w := events.warnings("CAcb03"); len(w) != 1 || !strings.Contains(w[0], "31923") {
		t.Fatalf("warnings of the call: %q", w)
	}
}
