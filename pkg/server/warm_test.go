package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"time"

	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// dialCounter counts each instance's model dials by the CallSid they were made for
// ("" for a warm session, made for no call).
type dialCounter struct {
	mu     sync.Mutex
	byCall map[string]int
}

func (d *dialCounter) wrap(c *Config) {
	inner := c.Dial
	c.Dial = func(ctx context.Context, callSID string) (session.ModelLeg, error) {
		d.mu.Lock()
		d.byCall[callSID]++
		d.mu.Unlock()
		return inner(ctx, callSID)
	}
}

func (d *dialCounter) of(callSID string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byCall[callSID]
}

func (s *Server) warmIdle() int {
	s.warm.mu.Lock()
	defer s.warm.mu.Unlock()
	return len(s.warm.idle)
}

// Behind a load balancer a call's webhook reaches one instance and its stream
// another. The stream must start on a model session that is already connected,
// and the call must dial the model at most once over both instances: the old
// pre-dial dialed on the webhook's instance (wasted) and again on the stream's.
func TestFaultStreamOnAnotherInstanceDialsOnce(t *testing.T) {
	var dialsA, dialsB = &dialCounter{byCall: map[string]int{}}, &dialCounter{byCall: map[string]int{}}
	warm := func(d *dialCounter) func(*Config) {
		return func(c *Config) { c.WarmSessions = 2; d.wrap(c) }
	}
	ctx := ctxFor(t)
	waitWarm := func(ts *testServer) {
		for ts.srv.warmIdle() == 0 {
			select {
			case <-ctx.Done():
				t.Fatal("no warm session")
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	// B's leak check starts from what A runs by then: A's pool is filled first,
	// and the connection A's webhook used is closed at the end.
	a := newTestServer(t, warm(dialsA))
	waitWarm(a)
	// The model twin starts a connection's goroutines just after the client's dial
	// returned: take A's connection from the twin, so they run before B's snapshot.
	a.modelConn(ctx)
	b := newTestServer(t, warm(dialsB))
	defer a.client.CloseIdleConnections()
	waitWarm(b)
	if _, body := a.webhook("CAsplit", nil); parseTwiML(t, body).Connect == nil {
		t.Fatalf("webhook not answered with a stream: %s", body)
	}
	opts := b.callerOptions("CAsplit", -1)
	opts.Parameters[StreamTokenParameter] = a.token("CAsplit") // the credential the webhook's instance gave
	c, err := twiliotest.DialCaller(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Say(bytes.Repeat([]byte{1}, 320))
	mc := b.modelConn(ctx) // the pool's first session: the one taken
	if err := mc.WaitAudio(ctx, 320); err != nil {
		t.Fatal(err)
	}
	c.Hangup()
	if e := b.waitEnded(ctx, "CAsplit"); e.Reason != callevent.EndCallerHangup {
		t.Errorf("ended %s", e.Reason)
	}
	if n := dialsA.of("CAsplit") + dialsB.of("CAsplit"); n != 0 {
		t.Errorf("%d model sessions dialed for the call (webhook's instance %d, stream's %d): want none, a warm one taken",
			n, dialsA.of("CAsplit"), dialsB.of("CAsplit"))
	}
	if m := b.metricsText(t); !strings.Contains(m, `callagent_warm_sessions_total{outcome="taken"} 1`) {
		t.Errorf("the stream did not take a warm session:\n%s", grep(m, "warm"))
	}
}

// A warm connection the peer closes while it waits (its lifetime, a proxy that
// drops idle WebSockets, the network) must not be handed to a call: the call would
// fail on its first update and the caller hear the apology. The pool notices the
// close (it reads the waiting connection), drops it and dials another; the call
// runs on a live one. What the API sent while the connection waited
// (session.created) still reaches the call.
func TestFaultWarmSessionClosedWhileWaitingIsNotTaken(t *testing.T) {
	ctx := ctxFor(t)
	ts := newTestServer(t, func(c *Config) { c.WarmSessions = 1; c.WarmMin = 1 })
	first := ts.modelConn(ctx) // the pool's first warm session
	for ts.srv.warmIdle() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("no warm session")
		case <-time.After(5 * time.Millisecond):
		}
	}
	first.Drop() // closed while it waits, as a proxy drops an idle WebSocket
	second := ts.modelConn(ctx)
	for !strings.Contains(ts.metricsText(t), `callagent_warm_sessions_total{outcome="dead"} 1`) || ts.srv.warmIdle() == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("the dead warm session was not replaced:\n%s", grep(ts.metricsText(t), "warm"))
		case <-time.After(5 * time.Millisecond):
		}
	}

	if _, body := ts.webhook("CAwarmdead", nil); parseTwiML(t, body).Connect == nil {
		t.Fatalf("webhook not answered with a stream: %s", body)
	}
	c, err := twiliotest.DialCaller(ctx, ts.callerOptions("CAwarmdead", -1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Say(bytes.Repeat([]byte{1}, 320))
	if err := second.WaitAudio(ctx, 320); err != nil {
		t.Fatal(err)
	}
	if _, err := second.WaitEvent(ctx, "session.update", 1); err != nil {
		t.Fatal(err)
	}
	c.Hangup()
	if e := ts.waitEnded(ctx, "CAwarmdead"); e.Reason != callevent.EndCallerHangup {
		t.Errorf("ended %s, want caller_hangup: the call ran on the dead warm session", e.Reason)
	}
}

// Warm sessions apply to Realtime dials only: a GPT-Live connection cannot be
// watched while it waits (a warm one closed meanwhile would be handed to a call),
// so with Config.LiveDial the pool is not kept and says so, and the webhook
// pre-dials for its call as without warm sessions. The same settings with a
// Realtime dial keep the pool. (serve used to decide this itself, by the model.)
func TestWarmSessionsOnlyForRealtimeDials(t *testing.T) {
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "realtime", true: "live"}[live], func(t *testing.T) {
			dials := &dialCounter{byCall: map[string]int{}}
			logs := &syncbuf.Buffer{}
			ts := newTestServer(t, func(c *Config) {
				c.WarmSessions, c.LiveDial, c.Logger = 2, live, slog.New(slog.NewTextHandler(logs, nil))
				dials.wrap(c)
			})
			if kept := ts.srv.warm != nil; kept == live {
				t.Fatalf("LiveDial %v: warm pool kept %v", live, kept)
			}
			if said := strings.Contains(logs.String(), "warm sessions are for the Realtime engine"); said != live {
				t.Errorf("LiveDial %v: said %v:\n%s", live, said, logs.String())
			}
			if !live {
				return
			}
			ctx := ctxFor(t)
			if _, body := ts.webhook("CAlive", nil); parseTwiML(t, body).Connect == nil {
				t.Fatalf("webhook not answered with a stream: %s", body)
			}
			for dials.of("CAlive") == 0 {
				select {
				case <-ctx.Done():
					t.Fatal("the webhook did not pre-dial its call")
				case <-time.After(5 * time.Millisecond):
				}
			}
			ts.modelConn(ctx) // the pre-dialed session
			if n := dials.of(""); n != 0 {
				t.Errorf("%d warm sessions dialed for GPT-Live", n)
			}
		})
	}
}
