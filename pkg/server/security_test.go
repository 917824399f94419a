package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/session"
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
	for _, bad := range []string{"", "calls.example.com", "ftp://x", "https://x/?q=1"} {
		if _, err := New(Config{PublicURL: bad, AuthToken: "t", Dial: dial}); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
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
