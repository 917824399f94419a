package livetest_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/live/livetest"
	"github.com/callagent/callagent/pkg/sipcall"
)

const sipSecret = "whsec_bGl2ZS1zaXAtdHdpbi1zZWNyZXQ=" // "live-sip-twin-secret"

// webhookApp verifies and parses the twin's webhooks, refusing 401 what is not
// signed right.
func webhookApp(t *testing.T) (*httptest.Server, chan sipcall.Incoming, chan error) {
	incoming, refused := make(chan sipcall.Incoming, 8), make(chan error, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := sipcall.Verify(sipSecret, r.Header, body, time.Now()); err != nil {
			refused <- err
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		in, err := sipcall.ParseIncoming(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		incoming <- in
	}))
	t.Cleanup(srv.Close)
	return srv, incoming, refused
}

func liveAPIErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *sipcall.APIError
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("err = %v, want HTTP %d %s", err, status, code)
	}
}

func nextLive(t *testing.T, conn *live.Conn, typ string) live.ServerEvent {
	t.Helper()
	for {
		ev, err := conn.ReadEvent(ctxT(t))
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if ev.EventType() == typ {
			return ev
		}
	}
}

func TestSIPLiveCallThroughTheTwin(t *testing.T) {
	leakcheck.Check(t)
	m := &livetest.Model{APIKey: key}
	srv := server(t, m)
	hook, incoming, _ := webhookApp(t)
	api := sipcall.NewClient(srv.URL+"/v1", key, srv.Client())
	ctx := ctxT(t)

	for _, deprecated := range []bool{false, true} {
		call, err := m.RingSIP(ctx, livetest.SIPRing{WebhookURL: hook.URL, Secret: sipSecret, Deprecated: deprecated})
		if err != nil {
			t.Fatal(err)
		}
		in := <-incoming
		wantType := sipcall.TypeLiveTransportIncoming
		if deprecated {
			wantType = sipcall.TypeLiveCallIncoming
		}
		if in.Engine != sipcall.EngineLive || in.ID != call.ID() || in.Type != wantType || in.MediaSecurity != "srtp" {
			t.Fatalf("incoming %+v", in)
		}
		sess := map[string]any{"type": "live", "model": "gpt-live-1", "instructions": "Answer the shop's phone.",
			"audio": map[string]any{"output": map[string]any{"voice": "marin"}}}
		if err := api.Accept(ctx, sipcall.EngineLive, in.ID, sess); err != nil {
			t.Fatal(err)
		}
		if body, err := call.Accepted(ctx); err != nil || len(body) == 0 {
			t.Fatalf("accepted %s, %v", body, err)
		}
		conn, err := live.Dial(ctx, live.DialOptions{BaseURL: srv.URL + "/v1", APIKey: key, AttachSessionID: in.ID})
		if err != nil {
			t.Fatal(err)
		}
		started := nextLive(t, conn, live.TypeSessionStarted).(*live.SessionStarted)
		if started.Session.ID != in.ID || started.Session.Instructions == nil || *started.Session.Instructions != "Answer the shop's phone." {
			t.Fatalf("session.started %+v", started.Session)
		}
		mc, err := call.Sideband(ctx)
		if err != nil || mc.AttachedTo() != in.ID {
			t.Fatalf("sideband %v, %v", mc, err)
		}
		mc.Hear("is it open today")
		if d := nextLive(t, conn, live.TypeInputTranscriptDelta).(*live.InputTranscriptDelta); d.Delta != "is it open today" {
			t.Fatalf("transcript %q", d.Delta)
		}
		// No session.start on an attached socket, and no audio from the app.
		conn.Send(ctx, &live.SessionStart{Session: live.SessionConfig{Model: "gpt-live-1"}})
		nextLive(t, conn, live.TypeError)
		conn.AppendAudio(ctx, []byte("/w=="))
		nextLive(t, conn, live.TypeError)

		if deprecated {
			call.CallerHangup()
		} else if err := api.Hangup(ctx, sipcall.EngineLive, in.ID); err != nil {
			t.Fatal(err)
		}
		closed := nextLive(t, conn, live.TypeSessionClosed).(*live.SessionClosed)
		want := live.ClosedRequested
		if deprecated {
			want = live.ClosedRemoteHangup
		}
		if closed.Reason != want || call.HungUp() == deprecated {
			t.Fatalf("closed %q, hung up by the app %v", closed.Reason, call.HungUp())
		}
		liveAPIErr(t, api.Hangup(ctx, sipcall.EngineLive, in.ID), 404, livetest.CodeSessionNotFound)
		conn.CloseNow()
	}
}

func TestSIPLiveCallControlIsStrict(t *testing.T) {
	leakcheck.Check(t)
	m := &livetest.Model{APIKey: key, SIP: livetest.SIPConfig{RingTimeout: 300 * time.Millisecond}}
	srv := server(t, m)
	hook, incoming, refused := webhookApp(t)
	api := sipcall.NewClient(srv.URL+"/v1", key, srv.Client())
	ctx := ctxT(t)

	call, err := m.RingSIP(ctx, livetest.SIPRing{WebhookURL: hook.URL, Secret: sipSecret})
	if err != nil {
		t.Fatal(err)
	}
	id := (<-incoming).ID
	liveAPIErr(t, api.Accept(ctx, sipcall.EngineLive, "live_nobody", map[string]any{"type": "live", "model": "gpt-live-1"}), 404, livetest.CodeSessionNotFound)
	// SIP negotiates the format: audio.format is refused.
	err = api.Accept(ctx, sipcall.EngineLive, id, map[string]any{"type": "live", "model": "gpt-live-1",
		"audio": map[string]any{"format": map[string]any{"type": "audio/pcmu"}}})
	liveAPIErr(t, err, 400, "unknown_parameter")
	liveAPIErr(t, api.Accept(ctx, sipcall.EngineLive, id, map[string]any{"model": "gpt-live-1"}), 400, "missing_required_parameter")
	if _, err := live.Dial(ctx, live.DialOptions{BaseURL: srv.URL + "/v1", APIKey: key, AttachSessionID: id}); err == nil {
		t.Fatal("attached to a ringing call")
	}
	<-call.Done() // rang out
	if call.State() != livetest.SIPMissed {
		t.Fatalf("state %s", call.State())
	}
	liveAPIErr(t, api.Accept(ctx, sipcall.EngineLive, id, map[string]any{"type": "live", "model": "gpt-live-1"}), 404, livetest.CodeSessionNotFound)

	// A forged webhook never reaches the app; the call rings out.
	forged, err := m.RingSIP(ctx, livetest.SIPRing{WebhookURL: hook.URL, Secret: sipSecret, BadSignature: true, Attempts: 2, RetryDelay: 10 * time.Millisecond})
	if err == nil || len(forged.Deliveries()) != 2 || !errors.Is(<-refused, sipcall.ErrBadSignature) {
		t.Fatalf("forged webhook: %v, %+v", err, forged.Deliveries())
	}
	<-forged.Done()

	// Reject: status_code is required for Live.
	m.SIP.RingTimeout = time.Minute
	call3, err := m.RingSIP(ctx, livetest.SIPRing{WebhookURL: hook.URL, Secret: sipSecret})
	if err != nil {
		t.Fatal(err)
	}
	<-incoming
	if err := api.Reject(ctx, sipcall.EngineLive, call3.ID(), 486); err != nil {
		t.Fatal(err)
	}
	if s, ok := call3.Rejected(); !ok || s != 486 {
		t.Fatalf("rejected %d %v", s, ok)
	}
}
