package server

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"time"

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
