package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
	"github.com/coder/websocket"
)

// Unsigned, wrongly signed and tampered requests are refused with 403 before any work:
// no model session is dialed for them.
func TestSignatureChecks(t *testing.T) {
	ts := newTestServer(t, nil)
	webhooks := []struct {
		name   string
		mutate func(r *http.Request, form url.Values)
		want   int
	}{
		{"valid", nil, 200},
		{"unsigned", func(r *http.Request, f url.Values) { r.Header.Del(SignatureHeader) }, 403},
		{"wrong token", func(r *http.Request, f url.Values) {
			r.Header.Set(SignatureHeader, sign("another-token", testPublic+PathIncomingCall, f))
		}, 403},
		{"tampered parameter", func(r *http.Request, f url.Values) { f.Set("From", "+19999999999") }, 403},
		{"added parameter", func(r *http.Request, f url.Values) { f.Set("Extra", "1") }, 403},
		{"signed over the Host header", func(r *http.Request, f url.Values) {
			r.Header.Set(SignatureHeader, sign(testToken, "http://"+r.Host+PathIncomingCall, f))
		}, 403},
		{"signed for another path", func(r *http.Request, f url.Values) {
			r.Header.Set(SignatureHeader, sign(testToken, testPublic+PathStreamEnded, f))
		}, 403},
	}
	for i, tt := range webhooks {
		t.Run("webhook "+tt.name, func(t *testing.T) {
			resp, body := ts.webhook("CAsig"+string(rune('a'+i)), tt.mutate)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
			if tt.want == 403 && strings.Contains(body, "Connect") {
				t.Fatal("TwiML returned to a forged request")
			}
		})
	}
	// Only the valid webhook dialed the model.
	select {
	case mc := <-ts.conns:
		if mc.Request.Header.Get("X-Call-Sid") != "CAsiga" {
			t.Fatalf("a forged webhook dialed the model: %s", mc.Request.Header.Get("X-Call-Sid"))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the valid webhook did not dial")
	}

	streams := []struct {
		name   string
		header http.Header
		ok     bool
	}{
		{"unsigned", http.Header{}, false},
		{"wrong token", http.Header{SignatureHeader: {sign("another-token", "wss://calls.example.com"+PathMediaStream, nil)}}, false},
		{"signed for the webhook", http.Header{SignatureHeader: {sign(testToken, testPublic+PathIncomingCall, nil)}}, false},
		{"wss spelling", http.Header{SignatureHeader: {sign(testToken, "wss://calls.example.com"+PathMediaStream, nil)}}, true},
		{"https spelling", http.Header{SignatureHeader: {sign(testToken, "https://calls.example.com"+PathMediaStream, nil)}}, true},
	}
	for _, tt := range streams {
		t.Run("stream "+tt.name, func(t *testing.T) {
			c, err := ts.caller("CAstream", tt.header)
			if tt.ok {
				if err != nil {
					t.Fatalf("valid upgrade refused: %v", err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("forged upgrade accepted")
			}
			if !strings.Contains(err.Error(), "403") {
				t.Fatalf("forged upgrade: %v, want 403", err)
			}
		})
	}
	if m := ts.metricsText(t); !strings.Contains(m, `callagent_rejected_requests_total{reason="signature"} 9`) {
		t.Errorf("signature rejections not counted:\n%s", grep(m, "rejected"))
	}
}

func grep(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestNoAuthTokenRefusesToStart(t *testing.T) {
	var dial DialFunc = func(ctx context.Context, callSID string) (session.ModelLeg, error) {
		return nil, errors.New("not dialed in this test")
	}
	_, err := New(Config{PublicURL: testPublic, Dial: dial})
	if !errors.Is(err, ErrNoAuthToken) || !strings.Contains(err.Error(), "--insecure-skip-signature") {
		t.Fatalf("New without a token: %v", err)
	}
	if _, err := New(Config{PublicURL: testPublic, Dial: dial, InsecureSkipSignature: true}); err != nil {
		t.Fatalf("explicit opt-out refused: %v", err)
	}
	for _, bad := range []string{"", "calls.example.com", "ftp://x", "https://x/?q=1", "https://user:s3cret-pw@x"} {
		_, err := New(Config{PublicURL: bad, AuthToken: "t", Dial: dial})
		if err == nil {
			t.Errorf("public URL %q accepted", bad)
		} else if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("the error shows the URL's password")
		}
	}
}

// An http public URL gives <Stream url="ws://…">, which Twilio refuses: New says so
// unless the opt-in for loopback tests and local experiments is set.
func TestHTTPPublicURLRefusedWithoutOptIn(t *testing.T) {
	var dial DialFunc = func(ctx context.Context, callSID string) (session.ModelLeg, error) {
		return nil, errors.New("not dialed in this test")
	}
	_, err := New(Config{PublicURL: "http://calls.example.com", AuthToken: "t", Dial: dial})
	if err == nil || !strings.Contains(err.Error(), "wss://") {
		t.Fatalf("http public URL: %v", err)
	}
	srv, err := New(Config{PublicURL: "http://127.0.0.1:5050", AuthToken: "t", Dial: dial, InsecureHTTPPublicURL: true})
	if err != nil || srv.PublicURL() != "http://127.0.0.1:5050" {
		t.Fatalf("explicit opt-in refused: %v", err)
	}
	if _, err := New(Config{PublicURL: "http://u:s3cret-pw@127.0.0.1", AuthToken: "t", Dial: dial, InsecureHTTPPublicURL: true}); err == nil ||
		strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("the opt-in let through a URL with user info, or showed its password: %v", err)
	}
}

// Without a token (opted out) requests go through unsigned.
func TestInsecureSkipSignature(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.AuthToken = ""; c.InsecureSkipSignature = true })
	resp, _ := ts.webhook("CAinsecure", func(r *http.Request, f url.Values) { r.Header.Del(SignatureHeader) })
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	c, err := ts.caller("CAinsecure", http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	c.Hangup()
	ts.waitEnded(ctxFor(t), "CAinsecure")
}

// A second stream for a call already running (a replayed upgrade, or a repeat) is
// refused and the first call goes on; a stream whose start names no call is refused.
func TestDuplicateAndAnonymousStreamsRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := ctxFor(t)
	ts.webhook("CAtwice", nil)
	mc := ts.modelConn(ctx)
	first, err := ts.caller("CAtwice", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	first.Say(bytes.Repeat([]byte{2}, 160))
	if err := mc.WaitAudio(ctx, 160); err != nil {
		t.Fatal(err)
	}
	second, err := ts.caller("CAtwice", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := second.WaitClosed(ctx); err != nil {
		t.Fatal("the duplicate stream stayed open:", err)
	}
	// A start with no CallSid anywhere (the fake caller always names one).
	opts := ts.callerOptions("", -1)
	anon, _, err := websocket.Dial(ctx, opts.URL, &websocket.DialOptions{HTTPHeader: opts.Header})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.CloseNow()
	for _, frame := range []string{`{"event":"connected","protocol":"Call","version":"1.0.0"}`,
		`{"event":"start","sequenceNumber":"1","streamSid":"MZ9","start":{"streamSid":"MZ9","accountSid":"AC1","tracks":["inbound"],` +
			`"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{}}}`} {
		if err := anon.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := anon.Read(ctx); websocket.CloseStatus(err) == -1 {
		t.Fatalf("the stream without a CallSid stayed open: %v", err)
	}
	// The first call is still whole.
	first.Say(bytes.Repeat([]byte{3}, 160))
	if err := mc.WaitAudio(ctx, 320); err != nil {
		t.Fatal("the first call stopped:", err)
	}
	if n := ts.srv.ActiveCalls(); n != 1 {
		t.Fatalf("%d active calls, want 1", n)
	}
	m := ts.metricsText(t)
	if !strings.Contains(m, `callagent_rejected_requests_total{reason="duplicate"} 1`) || !strings.Contains(m, `callagent_rejected_requests_total{reason="bad_request"} 1`) {
		t.Errorf("refusals not counted:\n%s", grep(m, "rejected"))
	}
	first.Hangup()
	if e := ts.waitEnded(ctx, "CAtwice"); e.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s", e.Reason)
	}
}

// The stream upgrade's signature is the same for every call; the token the
// webhook's TwiML gives each call ties a stream to its call. A stream with no
// token, or another call's, is refused; the token reaches no event.
func TestStreamTokenTiesTheStreamToItsCall(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := ctxFor(t)
	_, body := ts.webhook("CAreal", nil)
	var token string
	for _, p := range parseTwiML(t, body).Connect.Stream.Params {
		if p.Name == StreamTokenParameter {
			token = p.Value
		}
	}
	if token == "" || ts.srv.verify.streamStart("CAreal", token, time.Now()) != "" {
		t.Fatalf("TwiML without the call's stream token: %s", body)
	}
	mc := ts.modelConn(ctx)
	for name, tok := range map[string]string{"no token": "", "another call's token": ts.token("CAother")} {
		opts := ts.callerOptions("CAreal", -1)
		if tok == "" {
			delete(opts.Parameters, StreamTokenParameter)
		} else {
			opts.Parameters[StreamTokenParameter] = tok
		}
		c, err := twiliotest.DialCaller(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WaitClosed(ctx); err != nil {
			t.Fatalf("%s: the stream stayed open", name)
		}
		c.Close()
	}
	if m := ts.metricsText(t); !strings.Contains(m, `callagent_rejected_requests_total{reason="signature"} 2`) {
		t.Errorf("refusals not counted:\n%s", grep(m, "rejected"))
	}
	// The right token: the call runs, and its parameters do not show the token.
	c, err := ts.caller("CAreal", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Say(bytes.Repeat([]byte{2}, 160))
	if err := mc.WaitAudio(ctx, 160); err != nil {
		t.Fatal(err)
	}
	c.Hangup()
	ts.waitEnded(ctx, "CAreal")
	if st, ok := firstEvent[callevent.CallStarted](ts.events); !ok || st.Parameters["From"] == "" || st.Parameters[StreamTokenParameter] != "" {
		t.Fatalf("call.started parameters %v", st.Parameters)
	}
}
