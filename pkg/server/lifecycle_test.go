package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
)

// A model session dialed for a call whose stream never comes is closed.
func TestUnclaimedPredialIsClosed(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.PredialTTL = 150 * time.Millisecond })
	ctx := ctxFor(t)
	if resp, body := ts.webhook("CAlonely", nil); resp.StatusCode != 200 {
		t.Fatalf("webhook %d %s", resp.StatusCode, body)
	}
	mc := ts.modelConn(ctx)
	if err := mc.WaitClosed(ctx); err != nil {
		t.Fatal("the unclaimed model session stayed open:", err)
	}
	if websocket.CloseStatus(mc.CloseErr()) != websocket.StatusNormalClosure {
		t.Fatalf("closed with %v", mc.CloseErr())
	}
	// The call's record says what happened: the webhook, then no stream.
	if req, ok := firstEvent[callevent.HTTPRequest](ts.events); !ok || req.CallSID != "CAlonely" || req.Path != PathIncomingCall || req.Status != 200 || req.From == "" {
		t.Errorf("webhook event %+v", req)
	}
	if w := waitEvent[callevent.Warning](ctx, t, ts.events); w.CallSID != "CAlonely" ||
		!strings.Contains(w.Message, "no media stream came within 150ms of the webhook: check that wss://calls.example.com/media-stream accepts WebSockets") {
		t.Errorf("warning %+v", w)
	}
	if m := ts.metricsText(t); !strings.Contains(m, `callagent_predials_total{outcome="expired"} 1`) || strings.Contains(m, `callagent_calls_total{`) {
		t.Errorf("expiry not counted, or counted as a call:\n%s\n%s", grep(m, "predials"), grep(m, "calls_total"))
	}
	// A stream that comes after the window is refused: its credential expired with
	// it. No model session is opened for it.
	c, err := ts.caller("CAlonely", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitClosed(ctx); err != nil {
		t.Fatal("a stream after the pre-dial window was taken:", err)
	}
	if m := ts.metricsText(t); !strings.Contains(m, `callagent_rejected_requests_total{reason="expired"} 1`) {
		t.Errorf("expired credential not counted:\n%s", grep(m, "rejected"))
	}
	select {
	case mc := <-ts.conns:
		t.Fatalf("a model session was opened for a late stream of %s", mc.Request.Header.Get("X-Call-Sid"))
	default:
	}
}

// firstEvent is the first event of type E that l recorded.
func firstEvent[E callevent.Event](l *eventLog) (E, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.evs {
		if e, ok := ev.(E); ok {
			return e, true
		}
	}
	var zero E
	return zero, false
}

// waitEvent waits for the first event of type E.
func waitEvent[E callevent.Event](ctx context.Context, t *testing.T, l *eventLog) E {
	t.Helper()
	for {
		if e, ok := firstEvent[E](l); ok {
			return e
		}
		select {
		case <-ctx.Done():
			var zero E
			t.Fatalf("no %s event", zero.Kind())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// A failed pre-dial is retried when the stream starts.
func TestFailedPredialRedialsForTheStream(t *testing.T) {
	var dials atomic.Int32
	ts := newTestServer(t, nil)
	inner := ts.srv.cfg.Dial
	ts.srv.cfg.Dial = func(ctx context.Context, callSID string) (session.ModelLeg, error) {
		if dials.Add(1) == 1 {
			return nil, errors.New("connection reset")
		}
		return inner(ctx, callSID)
	}
	ctx := ctxFor(t)
	ts.webhook("CAretry", nil)
	c, err := ts.caller("CAretry", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mc := ts.modelConn(ctx)
	c.Say(bytes.Repeat([]byte{1}, 320))
	if err := mc.WaitAudio(ctx, 320); err != nil {
		t.Fatal(err)
	}
	c.Hangup()
	ts.waitEnded(ctx, "CAretry")
	if dials.Load() != 2 {
		t.Fatalf("%d dials, want the failed pre-dial and one more", dials.Load())
	}
}

// Over --max-calls the webhook answers busy and opens no model session.
func TestBusyOverMaxCalls(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxCalls = 1 })
	ctx := ctxFor(t)
	if _, body := ts.webhook("CAfirst", nil); parseTwiML(t, body).Connect == nil {
		t.Fatalf("first call not connected: %s", body)
	}
	ts.modelConn(ctx)
	_, body := ts.webhook("CAsecond", nil)
	if d := parseTwiML(t, body); d.Reject == nil || d.Reject.Reason != "busy" || d.Connect != nil {
		t.Fatalf("second call over the limit: %s", body)
	}
	// Twilio retrying the first call's webhook is not a new call.
	if _, body := ts.webhook("CAfirst", nil); parseTwiML(t, body).Connect == nil {
		t.Fatalf("retried webhook refused: %s", body)
	}
	// A stream no webhook here answered (another instance's) is refused too.
	c, err := ts.caller("CAstray", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitClosed(ctx); err != nil {
		t.Fatal("stream over the limit kept open")
	}
	c.Close()
	select {
	case mc := <-ts.conns:
		t.Fatalf("a model session was opened over the limit for %s", mc.Request.Header.Get("X-Call-Sid"))
	case <-time.After(100 * time.Millisecond):
	}
	if m := ts.metricsText(t); !strings.Contains(m, `callagent_rejected_requests_total{reason="busy"} 2`) {
		t.Errorf("busy rejections not counted:\n%s", grep(m, "rejected"))
	}
	first, err := ts.caller("CAfirst", nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Hangup()
	ts.waitEnded(ctx, "CAfirst")
}

// On shutdown: not ready, new calls refused, the call in progress goes on to its end,
// then Serve returns with nothing left running.
func TestDrainLetsCallsFinish(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := ctxFor(t)
	if ts.status(t, PathReady) != 200 || ts.status(t, PathHealth) != 200 {
		t.Fatal("not ready at start")
	}
	ts.webhook("CAdrain", nil)
	mc := ts.modelConn(ctx)
	c, err := ts.caller("CAdrain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Say(bytes.Repeat([]byte{2}, 160))
	mc.WaitAudio(ctx, 160)

	ts.cancel() // SIGTERM
	for ts.srv.draining.Load() == false {
		time.Sleep(time.Millisecond)
	}
	// The listener stays open: the load balancer sees not ready, and a webhook that
	// still arrives is answered busy.
	if code := ts.status(t, PathReady); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the drain: %d", code)
	}
	if _, body := ts.webhook("CAlate", nil); parseTwiML(t, body).Reject == nil {
		t.Fatalf("webhook during drain: %s", body)
	}
	// The call in progress still relays audio both ways.
	c.Say(bytes.Repeat([]byte{3}, 160))
	if err := mc.WaitAudio(ctx, 320); err != nil {
		t.Fatal("caller audio stopped during the drain:", err)
	}
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: bytes.Repeat([]byte{4}, 800)}}})
	if err := c.WaitReceived(ctx, 800); err != nil {
		t.Fatal("agent audio stopped during the drain:", err)
	}
	select {
	case <-ts.served:
		t.Fatal("Serve returned with a call in progress")
	case <-time.After(50 * time.Millisecond):
	}
	c.Hangup()
	select {
	case err := <-ts.served:
		ts.served <- err // for the cleanup
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return after the last call")
	}
	if e, _ := ts.events.ended("CAdrain"); e.Reason != callevent.EndCallerHangup {
		t.Fatalf("ended %s", e.Reason)
	}
}

// Calls still running at the drain timeout are ended cleanly, and the caller hears an
// apology from the Connect action instead of dead air.
func TestDrainTimeoutEndsCalls(t *testing.T) {
	old := drainTimeout
	drainTimeout = 200 * time.Millisecond
	defer func() { drainTimeout = old }()
	ts := newTestServer(t, nil)
	ctx := ctxFor(t)
	ts.webhook("CAstuck", nil)
	mc := ts.modelConn(ctx)
	c, err := ts.caller("CAstuck", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Say(bytes.Repeat([]byte{2}, 160))
	mc.WaitAudio(ctx, 160)
	ts.cancel()
	if err := c.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	if c.CloseStatus() != websocket.StatusNormalClosure {
		t.Fatalf("stream closed with %v", c.CloseStatus())
	}
	if err := mc.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	if e := ts.waitEnded(ctx, "CAstuck"); e.Reason != callevent.EndServerShutdown {
		t.Fatalf("ended %s", e.Reason)
	}
	// Twilio's request after the stream still reaches the server, over the network:
	// the caller hears the apology.
	d := parseTwiML(t, ts.action(t, "CAstuck"))
	if !strings.Contains(d.Say, "Sorry") || d.Hangup == nil {
		t.Fatalf("no apology after the shutdown: %+v", d)
	}
	err = <-ts.served
	ts.served <- err
	if err != nil {
		t.Fatal(err)
	}
}

// PROTOCOL 2: when the model fails mid-call the caller hears an apology, not silence.
func TestApologyAfterModelFailure(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := ctxFor(t)
	ts.webhook("CAoops", nil)
	mc := ts.modelConn(ctx)
	c, err := ts.caller("CAoops", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Say(bytes.Repeat([]byte{2}, 160))
	mc.WaitAudio(ctx, 160)
	mc.Drop()
	if e := ts.waitEnded(ctx, "CAoops"); e.Reason != callevent.EndModelDisconnected {
		t.Fatalf("ended %s", e.Reason)
	}
	if err := c.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	d := parseTwiML(t, ts.action(t, "CAoops"))
	if !strings.Contains(d.Say, "Sorry") || d.Hangup == nil {
		t.Fatalf("after a model failure: %+v", d)
	}
	if m := ts.metricsText(t); !strings.Contains(m, `callagent_calls_total{reason="model_disconnected"} 1`) {
		t.Errorf("metrics:\n%s", grep(m, "calls_total"))
	}
}

// A recorded call: a stereo WAV with the caller's audio on the left and the agent's on
// the right, as long as the call.
func TestRecordPath(t *testing.T) {
	dir := t.TempDir()
	ts := newTestServer(t, func(c *Config) {
		c.RecordPath = func(call CallInfo) string { return dir + "/" + call.CallSID + ".wav" }
	})
	ctx := ctxFor(t)
	ts.webhook("CArec", nil)
	mc := ts.modelConn(ctx)
	c, err := ts.caller("CArec", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	said := bytes.Repeat([]byte{0x15, 0x95}, 800)
	c.Say(said)
	mc.WaitAudio(ctx, len(said))
	mc.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: bytes.Repeat([]byte{0x40}, 1600)}}})
	c.WaitReceived(ctx, 1600)
	time.Sleep(250 * time.Millisecond) // the agent's audio plays out
	c.Hangup()
	ended := ts.waitEnded(ctx, "CArec")
	var data []byte
	for ctx.Err() == nil {
		if data, err = os.ReadFile(dir + "/CArec.wav"); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	rate, ch, err := audio.ReadWAVChannels(data)
	if err != nil || rate != 8000 || len(ch) != 2 {
		t.Fatalf("recording: %d Hz, %d channels, %v", rate, len(ch), err)
	}
	if ms := len(ch[0]) / 8; ms < int(ended.Duration.Milliseconds())-20 || ms > int(ended.Duration.Milliseconds())+20 {
		t.Fatalf("recording lasts %d ms, the call %v", ms, ended.Duration)
	}
	if !bytes.Contains(audio.EncodeMulaw(ch[0]), said) {
		t.Fatal("the caller's audio is not on the left channel")
	}
	if !bytes.Contains(audio.EncodeMulaw(ch[1]), bytes.Repeat([]byte{0x40}, 1600)) {
		t.Fatal("the agent's audio is not on the right channel")
	}
}

// PROTOCOL 13: an option the API does not accept refuses the whole session.update and
// the model stays on 24 kHz PCM. The call ends at once, with the apology, and the log
// says which update failed and why.
func TestApologyAfterRejectedSessionUpdate(t *testing.T) {
	thr := 0.4
	ts := newTestServer(t, func(c *Config) {
		c.Session = func(call CallInfo, o *session.Options) error {
			o.CallerIdleTimeout = -1
			o.Agent.TurnDetection = &realtime.TurnDetection{Type: realtime.SemanticVAD, Threshold: &thr}
			return nil
		}
	})
	ctx := ctxFor(t)
	ts.webhook("CAbadcfg", nil)
	c, err := ts.caller("CAbadcfg", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := ts.waitEnded(ctx, "CAbadcfg")
	if e.Reason != callevent.EndModelRejected || e.Err == nil || !strings.Contains(e.Err.Error(), "turn_detection.threshold") {
		t.Fatalf("ended %s: %v", e.Reason, e.Err)
	}
	if err := c.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	d := parseTwiML(t, ts.action(t, "CAbadcfg"))
	if !strings.Contains(d.Say, "Sorry") || d.Hangup == nil {
		t.Fatalf("after a refused session.update: %+v", d)
	}
}
