package session_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/sim"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

const testKey = "sk-test-harness-key-0123456789"

// bridge is a minimal server in front of the session: a media stream endpoint that
// accepts a Twilio stream, dials the fake model over real WebSockets and runs the
// session. pkg/server does this for real; this keeps the session's tests free of it.
type bridge struct {
	t        *testing.T
	model    *sim.Model
	modelSrv *httptest.Server
	srv      *httptest.Server
	ctx      context.Context
	cancel   context.CancelFunc
	opts     func(*session.Options)

	mu            sync.Mutex
	calls         map[string]*call
	models        map[string]*sim.ModelConn
	modelsChanged chan struct{}
	wg            sync.WaitGroup
}

// call is what the harness saw of one call.
type call struct {
	rec   *recorder
	ended chan session.CallEnded
	sess  chan *session.Session // the running session, once
}

type bridgeConfig struct {
	model *sim.Model
	opts  func(*session.Options)
	key   string // the key the bridge dials with (default testKey)
}

func newBridge(t *testing.T, cfg bridgeConfig) *bridge {
	t.Helper()
	leakcheck.Check(t)
	if cfg.model == nil {
		cfg.model = &sim.Model{}
	}
	if cfg.model.APIKey == "" {
		cfg.model.APIKey = testKey
	}
	if cfg.key == "" {
		cfg.key = testKey
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &bridge{t: t, model: cfg.model, ctx: ctx, cancel: cancel, opts: cfg.opts, calls: map[string]*call{},
		models: map[string]*sim.ModelConn{}, modelsChanged: make(chan struct{})}
	cfg.model.Script = b.registerModel
	b.modelSrv = httptest.NewServer(cfg.model)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stream, err := twiliotransport.Accept(w, r, twiliotransport.StreamOptions{})
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		b.wg.Add(1)
		defer b.wg.Done()
		callSID := stream.Start().Start.CallSid
		c := b.call(callSID)
		opts := session.Options{
			Caller: stream,
			Dial: func(ctx context.Context) (session.ModelLeg, error) {
				return realtime.Dial(ctx, realtime.DialOptions{BaseURL: b.modelSrv.URL + "/v1", APIKey: cfg.key,
					Header: http.Header{"X-Call-Sid": {callSID}}})
			},
			OnEvent:           c.rec.add,
			CallerIdleTimeout: -1,
		}
		if b.opts != nil {
			b.opts(&opts)
		}
		s, err := session.New(opts)
		if err != nil {
			t.Errorf("session.New: %v", err)
			stream.CloseNow()
			return
		}
		c.sess <- s
		c.ended <- s.Run(b.ctx)
	}))
	t.Cleanup(func() {
		b.cancel()
		b.srv.Close()
		b.wg.Wait()
		b.model.Close()
		b.modelSrv.Close()
	})
	return b
}

func (b *bridge) call(sid string) *call {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.calls[sid]
	if !ok {
		c = &call{rec: &recorder{changed: make(chan struct{})}, ended: make(chan session.CallEnded, 1), sess: make(chan *session.Session, 1)}
		b.calls[sid] = c
	}
	return c
}

func (b *bridge) url() string { return "ws" + strings.TrimPrefix(b.srv.URL, "http") + "/media-stream" }

// dial starts a fake caller against the bridge; it is closed at cleanup.
func (b *bridge) dial(opts sim.CallerOptions) *sim.Caller {
	b.t.Helper()
	opts.URL = b.url()
	if opts.FrameInterval == 0 {
		opts.FrameInterval = -1 // as fast as possible unless a test needs real time
	}
	if opts.CallSID == "" {
		opts.CallSID = fmt.Sprintf("CA%08x", rand.Uint32())
	}
	if opts.Parameters == nil {
		opts.Parameters = map[string]string{"From": "+15550001111", "To": "+15552223333"}
	}
	c, err := sim.DialCaller(context.Background(), opts)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(c.Close)
	return c
}

// modelFor waits for the model connection of a call.
func (b *bridge) modelFor(ctx context.Context, callSID string) *sim.ModelConn {
	b.t.Helper()
	for {
		b.mu.Lock()
		mc, ch := b.models[callSID], b.modelsChanged
		b.mu.Unlock()
		if mc != nil {
			return mc
		}
		select {
		case <-ch:
		case <-ctx.Done():
			b.t.Fatalf("no model connection for %s: %v", callSID, ctx.Err())
			return nil
		}
	}
}

// registerModel is the fake model's script: it files each connection under the call
// it belongs to and keeps it open until a side closes it.
func (b *bridge) registerModel(ctx context.Context, mc *sim.ModelConn) error {
	b.mu.Lock()
	b.models[mc.Request.Header.Get("X-Call-Sid")] = mc
	close(b.modelsChanged)
	b.modelsChanged = make(chan struct{})
	b.mu.Unlock()
	<-mc.Done()
	return nil
}

// ended waits for the call's end.
func (b *bridge) ended(ctx context.Context, callSID string) session.CallEnded {
	b.t.Helper()
	select {
	case e := <-b.call(callSID).ended:
		return e
	case <-ctx.Done():
		b.t.Fatalf("call %s did not end", callSID)
		return session.CallEnded{}
	}
}

func (b *bridge) events(callSID string) *recorder { return b.call(callSID).rec }

// recorder collects a call's events.
type recorder struct {
	mu      sync.Mutex
	evs     []session.Event
	changed chan struct{}
}

func (r *recorder) add(ev session.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) all() []session.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]session.Event(nil), r.evs...)
}

// eventsOf returns the recorded events of type T.
func eventsOf[T session.Event](r *recorder) []T {
	var out []T
	for _, ev := range r.all() {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// waitEvent waits for the n-th (1-based) event of type T.
func waitEvent[T session.Event](ctx context.Context, t *testing.T, r *recorder, n int) T {
	t.Helper()
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if got := eventsOf[T](r); len(got) >= n {
			return got[n-1]
		}
		select {
		case <-ch:
		case <-ctx.Done():
			var zero T
			t.Fatalf("no %T #%d; events: %s", zero, n, kinds(r.all()))
			return zero
		}
	}
}

func kinds(evs []session.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		if _, ok := ev.(session.MediaStats); ok {
			continue
		}
		b.WriteString(ev.Kind())
		b.WriteByte(' ')
	}
	return b.String()
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// noise returns n bytes of reproducible μ-law that no other call shares.
func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// padFrames pads audio with silence to whole 20 ms frames, as the fake caller sends it.
func padFrames(audio []byte) []byte {
	if r := len(audio) % sim.FrameBytes; r != 0 {
		audio = append(audio, make([]byte, sim.FrameBytes-r)...)
		for i := len(audio) - (sim.FrameBytes - r); i < len(audio); i++ {
			audio[i] = sim.Silence
		}
	}
	return audio
}

// checkPCMU verifies a session.update carries audio/pcmu both ways.
func checkPCMU(t *testing.T, cfg realtime.SessionConfig) {
	t.Helper()
	a := cfg.Audio
	if a == nil || a.Input == nil || a.Output == nil || a.Input.Format == nil || a.Output.Format == nil ||
		a.Input.Format.Type != realtime.FormatPCMU || a.Output.Format.Type != realtime.FormatPCMU {
		t.Fatalf("session.update without audio/pcmu both ways: %+v", a)
	}
}

func isClose(err error, code int) bool {
	var ce *realtime.CloseError
	if errors.As(err, &ce) {
		return ce.Code == code
	}
	var te *twiliotransport.CloseError
	return errors.As(err, &te) && te.Code == code
}

// testCall is a call in progress: the fake caller, its model connection and events.
type testCall struct {
	t   *testing.T
	b   *bridge
	ctx context.Context
	c   *sim.Caller
	mc  *sim.ModelConn
	rec *recorder
}

// start places a call and waits until the model is connected and configured.
func (b *bridge) start(opts sim.CallerOptions) *testCall {
	b.t.Helper()
	ctx := timeout(b.t, 10*time.Second)
	c := b.dial(opts)
	tc := &testCall{t: b.t, b: b, ctx: ctx, c: c, mc: b.modelFor(ctx, c.CallSID()), rec: b.events(c.CallSID())}
	waitEvent[session.ModelConnected](ctx, b.t, tc.rec, 1)
	return tc
}

// session returns the call's running session.
func (tc *testCall) session() *session.Session {
	tc.t.Helper()
	select {
	case s := <-tc.b.call(tc.c.CallSID()).sess:
		return s
	case <-tc.ctx.Done():
		tc.t.Fatal("no session")
		return nil
	}
}

// hangup ends the call from the caller's side and returns how it ended.
func (tc *testCall) hangup() session.CallEnded {
	tc.t.Helper()
	tc.c.Hangup()
	return tc.b.ended(tc.ctx, tc.c.CallSID())
}
