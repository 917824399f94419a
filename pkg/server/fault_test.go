package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// Fault injection (issue 14): replayed credentials, replayed webhooks, pre-dials
// without --max-calls, and a deploy with a call between its webhook and its stream.

// countDials makes ts count the model sessions it opens, pre-dials and dials at a
// stream's start alike. Call it before the first request.
func countDials(ts *testServer) *atomic.Int32 {
	var n atomic.Int32
	inner := ts.srv.cfg.Dial
	ts.srv.cfg.Dial = func(ctx context.Context, callSID string) (session.ModelLeg, error) {
		n.Add(1)
		return inner(ctx, callSID)
	}
	return &n
}

// replayWebhook re-sends the signed voice webhook of callSID, as one captured on the
// wire, and returns the status and body (not fatal: it runs beside the test).
func (ts *testServer) replayWebhook(callSID string) (int, string, error) {
	form := url.Values{"CallSid": {callSID}, "AccountSid": {"AC1"}, "From": {"+15550001111"}, "To": {"+15552223333"},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}}
	req, _ := http.NewRequest(http.MethodPost, ts.url+PathIncomingCall, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(SignatureHeader, sign(testToken, testPublic+PathIncomingCall, form))
	resp, err := ts.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// A captured stream (its upgrade, signed over the URL only, and its start, with the
// call's credential) replayed 3 times after the call: each replay is refused before
// any model session opens.
func TestFaultReplayedStreamOpensNoModelSession(t *testing.T) {
	ts := newTestServer(t, nil)
	dials := countDials(ts)
	ctx := ctxFor(t)
	ts.webhook("CAcaptured", nil)
	mc := ts.modelConn(ctx) // the pre-dial
	captured := ts.callerOptions("CAcaptured", -1)
	c, err := twiliotest.DialCaller(ctx, captured)
	if err != nil {
		t.Fatal(err)
	}
	c.Say(bytes.Repeat([]byte{5}, 160))
	if err := mc.WaitAudio(ctx, 160); err != nil {
		t.Fatal(err)
	}
	c.Hangup()
	ts.waitEnded(ctx, "CAcaptured")
	c.Close()
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d model sessions for one call", n)
	}

	for i := range 3 {
		r, err := twiliotest.DialCaller(ctx, captured) // the upgrade's signature is valid: it is the start that is refused
		if err != nil {
			t.Fatal(err)
		}
		// Refused: closed, with no model session. (On a server that takes it, a
		// model session opens: that is looked for too, so the test does not wait.)
		for done := false; !done; {
			select {
			case <-r.Done():
				done = true
			case <-ctx.Done():
				t.Fatalf("replay %d: neither refused nor dialed", i+1)
			case <-time.After(5 * time.Millisecond):
				done = dials.Load() > 1
			}
		}
		r.Close()
		if n := dials.Load(); n != 1 {
			t.Fatalf("replay %d of a captured stream opened a model session (%d in all)", i+1, n)
		}
	}
	if n := ts.srv.ActiveCalls(); n != 0 {
		t.Fatalf("%d calls running after the replays", n)
	}
	if m := ts.metricsText(t); !strings.Contains(m, `callagent_rejected_requests_total{reason="replay"} 3`) {
		t.Errorf("replays not counted:\n%s", grep(m, "rejected"))
	}
	if ended := countEnded(ts.events, "CAcaptured"); ended != 1 {
		t.Fatalf("%d calls ended for CAcaptured, want the one real call", ended)
	}
}

// modelConnOf is the next model session opened for callSID; the others opened
// before it are passed over.
func (ts *testServer) modelConnOf(ctx context.Context, callSID string) *realtimetest.ModelConn {
	ts.t.Helper()
	for {
		if mc := ts.modelConn(ctx); mc.Request.Header.Get("X-Call-Sid") == callSID {
			return mc
		}
	}
}

func countEnded(l *eventLog, callSID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.evs {
		if e, ok := ev.(callevent.CallEnded); ok && e.CallSID == callSID {
			n++
		}
	}
	return n
}

// Two captured signed webhooks (one call that ran, one whose stream never came)
// re-sent over and over against a --max-calls 2 server: they hold no place and open
// no model session, and a real caller is answered and served meanwhile.
func TestFaultReplayedWebhooksCannotFillMaxCalls(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.MaxCalls = 2
		c.PredialTTL = 300 * time.Millisecond
	})
	dials := countDials(ts)
	ctx := ctxFor(t)
	ts.webhook("CAcapA", nil)
	mc := ts.modelConn(ctx)
	a, err := ts.caller("CAcapA", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Say(bytes.Repeat([]byte{1}, 160))
	if err := mc.WaitAudio(ctx, 160); err != nil {
		t.Fatal(err)
	}
	a.Hangup()
	ts.waitEnded(ctx, "CAcapA")
	a.Close()
	ts.webhook("CAcapB", nil)
	for len(ts.events.warnings("CAcapB")) == 0 { // its window ran out
		select {
		case <-ctx.Done():
			t.Fatal("CAcapB's pre-dial window did not end")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if n := dials.Load(); n != 2 {
		t.Fatalf("%d dials for the two captured calls", n)
	}

	// The replays, round after round, from before the real call to after it.
	stop := make(chan struct{})
	var replays sync.WaitGroup
	var answered, sent atomic.Int32
	var replayErr atomic.Value
	replays.Go(func() {
		for {
			for _, sid := range []string{"CAcapA", "CAcapB"} {
				code, body, err := ts.replayWebhook(sid)
				if err != nil {
					replayErr.Store(err)
					return
				}
				sent.Add(1)
				if code != http.StatusOK || strings.Contains(body, "<Connect") || strings.Contains(body, StreamTokenParameter) {
					answered.Add(1)
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	for sent.Load() < 10 {
		select {
		case <-ctx.Done():
			t.Fatal("the replays did not run")
		case <-time.After(5 * time.Millisecond):
		}
	}
	_, body := ts.webhook("CAreal", nil)
	if d := parseTwiML(t, body); d.Connect == nil {
		close(stop)
		replays.Wait()
		t.Fatalf("a real caller under replayed webhooks was answered %s", body)
	}
	rmc := ts.modelConnOf(ctx, "CAreal")
	c, err := ts.caller("CAreal", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Say(bytes.Repeat([]byte{2}, 160))
	if err := rmc.WaitAudio(ctx, 160); err != nil {
		t.Fatal("the real call did not run:", err)
	}
	rmc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: bytes.Repeat([]byte{3}, 800)}}})
	if err := c.WaitReceived(ctx, 800); err != nil {
		t.Fatal("the real caller heard nothing:", err)
	}
	close(stop)
	replays.Wait()
	if err, _ := replayErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	if n := answered.Load(); n != 0 {
		t.Fatalf("%d of %d replayed webhooks were answered with a stream", n, sent.Load())
	}
	if n := dials.Load(); n != 3 {
		t.Fatalf("%d model sessions, want the 3 of the real calls", n)
	}
	c.Hangup()
	ts.waitEnded(ctx, "CAreal")
	if m, want := ts.metricsText(t), fmt.Sprintf(`callagent_rejected_requests_total{reason="replay"} %d`, sent.Load()); !strings.Contains(m, want) {
		t.Errorf("want %s:\n%s", want, grep(m, "rejected"))
	}
}

// Without --max-calls, pre-dials are bounded all the same (100): signed webhooks
// over the bound are answered, without a model session until their stream starts.
func TestFaultPredialsBoundedByDefault(t *testing.T) {
	ts := newTestServer(t, nil)
	dials := countDials(ts)
	ctx := ctxFor(t)
	bound := DefaultMaxPredials(0)
	n := bound + 20
	for i := range n {
		sid := fmt.Sprintf("CAflood%03d", i)
		if _, body := ts.webhook(sid, nil); parseTwiML(t, body).Connect == nil {
			t.Fatalf("webhook %d not answered with a stream: %s", i, body)
		}
	}
	m := ts.metricsText(t)
	for _, want := range []string{fmt.Sprintf("callagent_predials_open %d", bound), `callagent_predials_total{outcome="over_limit"} 20`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grep(m, "predials"))
		}
	}
	// A call over the bound still runs: its stream dials the model when it starts.
	last := fmt.Sprintf("CAflood%03d", n-1)
	c, err := ts.caller(last, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mc := ts.modelConnOf(ctx, last)
	c.Say(bytes.Repeat([]byte{4}, 160))
	if err := mc.WaitAudio(ctx, 160); err != nil {
		t.Fatal(err)
	}
	c.Hangup()
	ts.waitEnded(ctx, last)
	// Shut down, so every dial has run (the drain waits for them), and count.
	ts.srv.dropPending()
	ts.cancel()
	err = <-ts.served
	ts.served <- err
	if err != nil {
		t.Fatal(err)
	}
	if got := dials.Load(); got != int32(bound+1) {
		t.Fatalf("%d model sessions opened for %d webhooks and one stream, want %d", got, n, bound+1)
	}
}

// A deploy between a call's webhook and its stream: the drain waits for the stream,
// which is taken, and the call runs to its end before Serve returns.
func TestFaultDrainWaitsForAnsweredWebhooks(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := ctxFor(t)
	if _, body := ts.webhook("CAdeploy", nil); parseTwiML(t, body).Connect == nil {
		t.Fatalf("webhook: %s", body)
	}
	mc := ts.modelConn(ctx)
	ts.cancel() // SIGTERM, with no call running yet
	for !ts.srv.draining.Load() {
		time.Sleep(time.Millisecond)
	}
	if code := ts.status(t, PathReady); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the drain: %d", code)
	}
	select {
	case err := <-ts.served:
		ts.served <- err
		t.Fatal("Serve returned with an answered call's stream still to come")
	default:
	}
	c, err := ts.caller("CAdeploy", nil)
	if err != nil {
		t.Fatal("the answered call's stream was refused during the drain:", err)
	}
	defer c.Close()
	c.Say(bytes.Repeat([]byte{6}, 160))
	if err := mc.WaitAudio(ctx, 160); err != nil {
		t.Fatal("the call did not run:", err)
	}
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: bytes.Repeat([]byte{7}, 800)}}})
	if err := c.WaitReceived(ctx, 800); err != nil {
		t.Fatal("the caller heard nothing:", err)
	}
	c.Hangup()
	if e := ts.waitEnded(ctx, "CAdeploy"); e.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s", e.Reason)
	}
	select {
	case err := <-ts.served:
		ts.served <- err
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return after the call")
	}
}

// The drain's wait for a stream is bounded by the pre-dial window: a stream that
// never comes lets the server go at the window's end, not the drain timeout's.
func TestDrainWaitsNoLongerThanThePredialWindow(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.PredialTTL = 200 * time.Millisecond })
	ctx := ctxFor(t)
	ts.webhook("CAnever", nil)
	mc := ts.modelConn(ctx)
	ts.cancel()
	select {
	case err := <-ts.served:
		ts.served <- err
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return")
	}
	// The window ended it (a warning of the call), not the drain timeout (5 s).
	if w := ts.events.warnings("CAnever"); len(w) != 1 || !strings.Contains(w[0], "no media stream came within 200ms") {
		t.Fatalf("warnings %q", w)
	}
	if err := mc.WaitClosed(ctx); err != nil {
		t.Fatal("the pre-dial stayed open:", err)
	}
}
