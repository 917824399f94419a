package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/session"
)

// Issue 14, item 8: refused requests are refused before anything is
// authenticated, and each wrote a WARN line: anyone who could reach the server
// wrote its log at their request rate. 500 unsigned webhooks now write a line or
// two, and callagent_rejected_requests_total counts all 500.
func TestFaultRefusedRequestFloodLogsBounded(t *testing.T) {
	logs := &syncbuf.Buffer{}
	ls := newLoopServer(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	n := opsSoak(500)
	for i := range n {
		form := url.Values{"CallSid": {"CAflood"}, "From": {"+15550000000"}}
		req, err := http.NewRequest(http.MethodPost, ls.public+PathIncomingCall, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if i%2 == 1 {
			req.Header.Set(SignatureHeader, "bm90IGEgc2lnbmF0dXJl")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("unsigned webhook %d: %d, want 403", i, resp.StatusCode)
		}
	}
	lines := strings.Count(logs.String(), "request refused: Twilio signature")
	if lines > 4 { // missing and invalid: a first line each, maybe one more each at a 10 s mark
		t.Errorf("%d unsigned webhooks wrote %d WARN lines:\n%.600s", n, lines, logs.String())
	}
	if got := rejected(t, ls.srv, "signature"); int(got) != n {
		t.Errorf("callagent_rejected_requests_total{reason=\"signature\"} = %v, want %d", got, n)
	}
}

// The lines left out are counted: the next line after the interval carries their
// number, and Serve's end writes what is left.
func TestRefusalLogSummarises(t *testing.T) {
	logs := &syncbuf.Buffer{}
	now := time.Unix(1_700_000_000, 0)
	s, err := New(Config{PublicURL: testPublic, AuthToken: testToken, Dial: func(context.Context, string) (session.ModelLeg, error) { return nil, errors.New("no model") },
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		s.warnRefused("stream refused: replayed", "call_sid", "CA1")
	}
	if got := strings.Count(logs.String(), "stream refused"); got != 1 {
		t.Fatalf("5 refusals within the interval wrote %d lines:\n%s", got, logs)
	}
	now = now.Add(refusalInterval)
	s.warnRefused("stream refused: replayed", "call_sid", "CA2")
	if !strings.Contains(logs.String(), "suppressed=4") {
		t.Fatalf("the line after the interval does not count the 4 left out:\n%s", logs)
	}
	s.warnRefused("stream refused: replayed", "call_sid", "CA3")
	s.warnRefused("stream refused: replayed", "call_sid", "CA4")
	s.flushRefusals()
	if !strings.Contains(logs.String(), "suppressed=2") {
		t.Fatalf("the end does not count the 2 left out:\n%s", logs)
	}
	s.flushRefusals()
	if got := strings.Count(logs.String(), "stream refused"); got != 3 {
		t.Fatalf("%d lines, want 3 (first, after the interval, the end):\n%s", got, logs)
	}
}

// rejected is callagent_rejected_requests_total{reason} of s.
func rejected(t *testing.T, s *Server, reason string) float64 {
	t.Helper()
	fams, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "callagent_rejected_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
