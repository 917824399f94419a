// Package sessiontest runs calls through the real bridge for tests: a minimal media
// stream server in front of session.Session, dialing the Realtime twin
// (realtimetest.Model) over real WebSockets, and Twilio twin callers
// (twiliotest.Caller). pkg/server does this for real;
// this keeps the session's and the agent's tests free of HTTP concerns. Every Bridge
// checks, at cleanup, that no goroutine was left behind.
package sessiontest

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
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

const TestKey = "sk-test-harness-key-0123456789"

// Bridge is a minimal server in front of the session: a media stream endpoint that
// accepts a Twilio stream, dials the fake model over real WebSockets and runs the
// session. pkg/server does this for real; this keeps the session's tests free of it.
type Bridge struct {
	t        *testing.T
	model    *realtimetest.Model
	modelSrv *httptest.Server
	srv      *httptest.Server
	ctx      context.Context
	Cancel   context.CancelFunc // ends every call as a shutdown would (reason cancelled)
	opts     func(*session.Options)

	mu            sync.Mutex
	calls         map[string]*call
	models        map[string]*realtimetest.ModelConn
	modelsChanged chan struct{}
	wg            sync.WaitGroup
}

// call is what the harness saw of one call.
type call struct {
	rec   *Recorder
	ended chan callevent.CallEnded
	sess  chan *session.Session // the running session, once
}

// Config configures a Bridge.
type Config struct {
	Model   *realtimetest.Model    // the fake model (default: a plain one)
	Options func(*session.Options) // adjusts each call's session options
	Key     string                 // the key the bridge dials with (default TestKey)
	// ModelName is the model the bridge dials (default realtime.DefaultModel).
	ModelName string
}

func New(t *testing.T, cfg Config) *Bridge {
	t.Helper()
	leakcheck.Check(t)
	if cfg.Model == nil {
		cfg.Model = &realtimetest.Model{}
	}
	if cfg.Model.APIKey == "" {
		cfg.Model.APIKey = TestKey
	}
	if cfg.Key == "" {
		cfg.Key = TestKey
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bridge{t: t, model: cfg.Model, ctx: ctx, Cancel: cancel, opts: cfg.Options, calls: map[string]*call{},
		models: map[string]*realtimetest.ModelConn{}, modelsChanged: make(chan struct{})}
	cfg.Model.Script = b.registerModel
	b.modelSrv = httptest.NewServer(cfg.Model)
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
				return realtime.Dial(ctx, realtime.DialOptions{BaseURL: b.modelSrv.URL + "/v1", APIKey: cfg.Key, Model: cfg.ModelName,
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
		b.Cancel()
		b.srv.Close()
		b.wg.Wait()
		b.model.Close()
		b.modelSrv.Close()
	})
	return b
}

func (b *Bridge) call(sid string) *call {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.calls[sid]
	if !ok {
		c = &call{rec: &Recorder{changed: make(chan struct{})}, ended: make(chan callevent.CallEnded, 1), sess: make(chan *session.Session, 1)}
		b.calls[sid] = c
	}
	return c
}

// URL is the media stream WebSocket URL.
func (b *Bridge) URL() string { return "ws" + strings.TrimPrefix(b.srv.URL, "http") + "/media-stream" }

// Dial starts a fake caller against the bridge; it is closed at cleanup.
func (b *Bridge) Dial(opts twiliotest.CallerOptions) *twiliotest.Caller {
	b.t.Helper()
	opts.URL = b.URL()
	if opts.FrameInterval == 0 {
		opts.FrameInterval = -1 // as fast as possible unless a test needs real time
	}
	if opts.CallSID == "" {
		opts.CallSID = fmt.Sprintf("CA%08x", rand.Uint32())
	}
	if opts.Parameters == nil {
		opts.Parameters = map[string]string{"From": "+15550001111", "To": "+15552223333"}
	}
	c, err := twiliotest.DialCaller(context.Background(), opts)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(c.Close)
	return c
}

// ModelFor waits for the model connection of a call.
func (b *Bridge) ModelFor(ctx context.Context, callSID string) *realtimetest.ModelConn {
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
func (b *Bridge) registerModel(ctx context.Context, mc *realtimetest.ModelConn) error {
	b.mu.Lock()
	b.models[mc.Request.Header.Get("X-Call-Sid")] = mc
	close(b.modelsChanged)
	b.modelsChanged = make(chan struct{})
	b.mu.Unlock()
	<-mc.Done()
	return nil
}

// Ended waits for the call's end.
func (b *Bridge) Ended(ctx context.Context, callSID string) callevent.CallEnded {
	b.t.Helper()
	select {
	case e := <-b.call(callSID).ended:
		return e
	case <-ctx.Done():
		b.t.Fatalf("call %s did not end", callSID)
		return callevent.CallEnded{}
	}
}

// Events returns the recorder of a call's events.
func (b *Bridge) Events(callSID string) *Recorder { return b.call(callSID).rec }

// Recorder collects a call's events.
type Recorder struct {
	mu      sync.Mutex
	evs     []callevent.Event
	changed chan struct{}
}

func (r *Recorder) add(ev callevent.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *Recorder) All() []callevent.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]callevent.Event(nil), r.evs...)
}

// EventsOf returns the recorded events of type T.
func EventsOf[T callevent.Event](r *Recorder) []T {
	var out []T
	for _, ev := range r.All() {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// WaitEvent waits for the n-th (1-based) event of type T.
func WaitEvent[T callevent.Event](ctx context.Context, t *testing.T, r *Recorder, n int) T {
	t.Helper()
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if got := EventsOf[T](r); len(got) >= n {
			return got[n-1]
		}
		select {
		case <-ch:
		case <-ctx.Done():
			var zero T
			t.Fatalf("no %T #%d; events: %s", zero, n, kinds(r.All()))
			return zero
		}
	}
}

func kinds(evs []callevent.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		if _, ok := ev.(callevent.MediaStats); ok {
			continue
		}
		b.WriteString(ev.Kind())
		b.WriteByte(' ')
	}
	return b.String()
}

// Timeout returns a context that ends after d or with the test.
func Timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Noise returns n bytes of reproducible μ-law that no other call shares.
func Noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// PadFrames pads audio with silence to whole 20 ms frames, as the fake caller sends it.
func PadFrames(audio []byte) []byte {
	if r := len(audio) % twiliotest.FrameBytes; r != 0 {
		audio = append(audio, make([]byte, twiliotest.FrameBytes-r)...)
		for i := len(audio) - (twiliotest.FrameBytes - r); i < len(audio); i++ {
			audio[i] = twiliotest.Silence
		}
	}
	return audio
}

// CheckPCMU verifies a session.update carries audio/pcmu both ways.
func CheckPCMU(t *testing.T, cfg realtime.SessionConfig) {
	t.Helper()
	a := cfg.Audio
	if a == nil || a.Input == nil || a.Output == nil || a.Input.Format == nil || a.Output.Format == nil ||
		a.Input.Format.Type != realtime.FormatPCMU || a.Output.Format.Type != realtime.FormatPCMU {
		t.Fatalf("session.update without audio/pcmu both ways: %+v", a)
	}
}

// IsClose reports whether err is a close of either leg with code.
func IsClose(err error, code int) bool {
	var ce *realtime.CloseError
	if errors.As(err, &ce) {
		return ce.Code == code
	}
	var te *twiliotransport.CloseError
	return errors.As(err, &te) && te.Code == code
}

// testCall is a call in progress: the fake caller, its model connection and events.
type Call struct {
	t      *testing.T
	b      *Bridge
	Ctx    context.Context
	Caller *twiliotest.Caller
	Model  *realtimetest.ModelConn
	Rec    *Recorder
}

// Start places a call and waits until the model is connected and configured.
func (b *Bridge) Start(opts twiliotest.CallerOptions) *Call {
	b.t.Helper()
	ctx := Timeout(b.t, 10*time.Second)
	c := b.Dial(opts)
	tc := &Call{t: b.t, b: b, Ctx: ctx, Caller: c, Model: b.ModelFor(ctx, c.CallSID()), Rec: b.Events(c.CallSID())}
	WaitEvent[callevent.ModelConnected](ctx, b.t, tc.Rec, 1)
	// The model has been configured, and has read the configuration.
	if err := tc.Model.WaitFor(ctx, "the session.update", func() bool { return len(tc.Model.SessionUpdates()) > 0 }); err != nil {
		b.t.Fatal(err)
	}
	return tc
}

// Session returns the call's running session.
func (tc *Call) Session() *session.Session {
	tc.t.Helper()
	select {
	case s := <-tc.b.call(tc.Caller.CallSID()).sess:
		return s
	case <-tc.Ctx.Done():
		tc.t.Fatal("no session")
		return nil
	}
}

// Ended waits for the call to end and returns how it ended.
func (tc *Call) Ended() callevent.CallEnded {
	tc.t.Helper()
	return tc.b.Ended(tc.Ctx, tc.Caller.CallSID())
}

// Hangup ends the call from the caller's side and returns how it ended.
func (tc *Call) Hangup() callevent.CallEnded {
	tc.t.Helper()
	tc.Caller.Hangup()
	return tc.b.Ended(tc.Ctx, tc.Caller.CallSID())
}

// NoModelErrors fails t if the fake model had to reject anything the bridge sent.
func NoModelErrors(t *testing.T, mc *realtimetest.ModelConn) {
	t.Helper()
	if errs := mc.ErrorsSent(); len(errs) > 0 {
		t.Errorf("the model rejected events: %+v", errs)
	}
}

// Kinds lists event kinds, for failure messages.
func Kinds(evs []callevent.Event) string { return kinds(evs) }

// FunctionOutput waits for the first function_call_output item the bridge created.
func (tc *Call) FunctionOutput() realtime.Item {
	tc.t.Helper()
	var out realtime.Item
	err := tc.Model.WaitFor(tc.Ctx, "the function call output", func() bool {
		for _, it := range tc.Model.CreatedItems() {
			if it.Type == realtime.ItemFunctionCallOutput {
				out = it
				return true
			}
		}
		return false
	})
	if err != nil {
		tc.t.Fatal(err)
	}
	return out
}
