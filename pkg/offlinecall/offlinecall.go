// Package offlinecall runs one whole call with no account and no network: the real
// callagent server on loopback, a scripted caller that goes through the real
// webhook and media stream (twiliotest: signed requests, real WebSockets), and the
// simulated model (Brain, a script for the realtimetest twin) or the real one. It
// is `callagent simulate`, and the way to test an agent configuration against a
// scripted caller: Scenario, Runner and Expect are the script and its checks, and
// the tones of tones.go the simulated speech only Brain understands.
package offlinecall

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/callagent/callagent/internal/atomicfile"
	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/livebridge"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// Options configure a simulated call.
type Options struct {
	// Agent is the configuration under test (agent.Default() for the built-in one).
	Agent *agent.Config
	// Scenario scripts the caller (offlinecall.DefaultScenario() when nil).
	Scenario *Scenario
	// OpenAI, when its APIKey is set, makes the call with the real Realtime model
	// instead of the simulated one.
	OpenAI realtime.DialOptions
	// CallerSpeech renders the scenario's say: lines (default: simulated speech,
	// which only the simulated model understands; OpenAISpeech for the real one).
	CallerSpeech func(ctx context.Context, text string) ([]byte, error)
	// Debug records the Twilio and Realtime frames as debug events.
	Debug bool
	// Brain tunes the simulated model (pace, thinking time).
	Brain *Brain
	// RecordPath records the call to a stereo WAV.
	RecordPath string
	// OnEvent receives every call event as it happens (the terminal renderer), one
	// at a time.
	OnEvent func(callevent.Event)
	// Approve answers approvals under policy ask that the scenario's Approvals do
	// not: ApproveAll, ApproveNone, or "" to ask Approver.
	Approve string
	// Approver answers the approvals neither the scenario nor Approve answers (the
	// terminal); without one they are denied, with a note in Result.Notes.
	Approver session.Approver
	// Secrets are scrubbed from tool results before the model sees them, beside the
	// configuration's own (agent.RuntimeOptions.Secrets: the environment's keys).
	Secrets []string
	// Logger receives the server's log (default: discarded).
	Logger *slog.Logger
	// From and To are the caller's and the called numbers.
	From, To string
	// Runtime, when set, completes the agents' runtime options before the call
	// (call control through a Twilio REST twin, the HTTP tools' traceparent).
	Runtime func(*agent.RuntimeOptions)
}

// Result is what happened.
type Result struct {
	CallSID string
	// CallerAudio is everything the simulated caller sent (μ-law, silence included).
	CallerAudio []byte
	Events      []callevent.Event
	Ended       callevent.CallEnded
	Summary     Summary
	Failures    []string // the scenario's expectations that do not hold
	// Notes are what the run decided for the scenario that it should know (an
	// approval nobody answered, denied).
	Notes []string
}

// ErrModelUnreachable is Run's error when the call could not reach the model (a
// rejected key, no network, a refused handshake): the scenario was not tested.
var ErrModelUnreachable = errors.New("the model could not be reached")

// Summary condenses a call.
type Summary struct {
	Duration time.Duration
	// Turns counts the agent's answers to the caller's speech, as Expect.MinTurns
	// does (see Expect).
	Turns         int
	Interruptions int
	ToolCalls     int
	Errors        int // the model's errors
	Warnings      int // the call's warnings (caller audio late, a stream error Twilio reported, ...)
	LatencyP50    time.Duration
	LatencyP95    time.Duration
	CostUSD       *float64 // the call's cost, nil when unknown (the simulated model bills like the API)
}

const defaultTimeout = 2 * time.Minute

// Run places one simulated call and returns when it is over. Cancelling ctx ends
// the call and returns ctx's error: an interrupted test neither passes nor fails.
func Run(parent context.Context, opts Options) (*Result, error) {
	if opts.Agent == nil {
		opts.Agent = agent.Default()
	}
	sc := opts.Scenario
	if sc == nil {
		sc = DefaultScenario()
	}
	timeout := sc.Timeout.D()
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()

	if opts.RecordPath != "" {
		if err := CheckWritable(opts.RecordPath); err != nil {
			return nil, fmt.Errorf("recording: %w", err)
		}
	}
	runner := &Runner{Speak: opts.CallerSpeech}
	if a := opts.Agent.StartAgent(); a != nil && !a.Greeting.Enabled {
		runner.NoGreeting = true
	}
	if err := runner.Prepare(ctx, sc); err != nil {
		return nil, err
	}
	model, err := startModel(opts)
	if err != nil {
		return nil, err
	}
	defer model.close()

	approver := &approver{answers: sc.Approvals, all: opts.Approve, next: opts.Approver}
	ro := agent.RuntimeOptions{Approver: approver, Secrets: opts.Secrets}
	if opts.Runtime != nil {
		opts.Runtime(&ro)
	}
	rt, err := agent.NewRuntime(opts.Agent, ro)
	if err != nil {
		return nil, err
	}
	token := randomHex(16)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	public := "http://" + ln.Addr().String()
	rec := &recorder{}
	var onEventMu sync.Mutex // opts.OnEvent is called one event at a time
	var ended chan callevent.CallEnded = make(chan callevent.CallEnded, 1)
	srv, err := server.New(server.Config{
		PublicURL: public,
		// The simulated caller reaches the server on loopback, without TLS.
		InsecureHTTPPublicURL: true,
		AuthToken:             token,
		Dial:                  model.dial,
		Session: func(call server.CallInfo, so *session.Options) error {
			rt.Setup(so)
			so.Debug = opts.Debug
			return nil
		},
		Logger: opts.Logger,
		OnEvent: func(ev callevent.Event) {
			rec.add(ev)
			if opts.OnEvent != nil {
				// The session's events and the server's own (the webhooks, the
				// stream's status callbacks) come from different goroutines.
				onEventMu.Lock()
				opts.OnEvent(ev)
				onEventMu.Unlock()
			}
			if e, ok := ev.(callevent.CallEnded); ok {
				ended <- e
			}
		},
		RecordPath: func(server.CallInfo) string { return opts.RecordPath },
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln, 2*time.Second) }()
	defer func() {
		stopServe()
		<-served
	}()

	from, to := firstOf(opts.From, sc.From, "+15550100001"), firstOf(opts.To, sc.To, "+15550100002")
	callSID := "CA" + randomHex(16)
	caller, err := twiliotest.PlaceCall(ctx, twiliotest.CallOptions{Webhook: public + server.PathIncomingCall, AuthToken: token, AllowInsecureStream: true,
		CallSID: callSID, AccountSID: "AC" + randomHex(16), From: from, To: to,
		// The strict twin's harder case, as some carriers do: silent frames are not
		// sent, so the call relies on callagent filling and padding them.
		OmitSilence: true})
	if err != nil {
		return nil, err
	}
	defer caller.Close()

	runner.Caller = caller
	// The script runs until it is done or the call ends, whichever comes first: a
	// call that ends early (the agent hung up, the model could not be reached)
	// stops the caller where it is.
	runCtx, stopRunner := context.WithCancel(ctx)
	defer stopRunner()
	scripted := make(chan error, 1)
	go func() { scripted <- runner.Run(runCtx, sc) }()
	var end callevent.CallEnded
	var runErr error
	select {
	case end = <-ended:
		stopRunner()
		caller.Close() // a line still being said is cut off
		<-scripted
	case runErr = <-scripted:
		select {
		case end = <-ended:
		case <-ctx.Done():
			caller.Close()
			select {
			case end = <-ended:
			case <-time.After(5 * time.Second):
				return nil, errors.New("the call did not end")
			}
		}
	}
	if err := parent.Err(); err != nil {
		return nil, err
	}
	if end.Reason == callevent.EndModelDialFailed {
		return nil, fmt.Errorf("%w: %w", ErrModelUnreachable, end.Err)
	}
	if ctx.Err() != nil { // the parent's is fine: the scenario's timeout
		runErr = fmt.Errorf("the scenario ran over its %v timeout", timeout)
	}
	res := &Result{CallSID: callSID, Events: rec.all(), Ended: end, CallerAudio: caller.Sent(), Notes: approver.notes()}
	res.Summary = summarize(res.Events, end)
	res.Failures = sc.Expect.Check(res.Events)
	if runErr != nil {
		res.Failures = append(res.Failures, "the scenario did not finish: "+runErr.Error())
	}
	return res, nil
}

// CheckWritable fails when a file could not be written at path (a recording, a
// report), before anything is done for it: its directory is made, as the writer
// would, and must take a new file (written beside and renamed).
func CheckWritable(path string) error {
	if err := atomicfile.CheckFile(path, 0o755); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// model is the model endpoint of a simulation: the brain on loopback, or OpenAI;
// the engine is the configuration's model's (GPT-Live for gpt-live-*).
type model struct {
	dial  server.DialFunc
	close func()
}

// Dialer returns how a call with cfg reaches the model at opts (its key, base URL
// and headers; the model is cfg's): the Realtime API, or GPT-Live through
// livebridge for a gpt-live-* model, with cfg's live options.
func Dialer(cfg *agent.Config, opts realtime.DialOptions) server.DialFunc {
	if !agent.LiveModel(cfg.Model) {
		opts.Model = cfg.Model
		return server.RealtimeDialer(opts)
	}
	lo := livebridge.Options{Dial: live.DialOptions{BaseURL: opts.BaseURL, APIKey: opts.APIKey, Header: opts.Header, HTTPClient: opts.HTTPClient,
		Retry: opts.Retry}, Model: cfg.Model, BackendModel: cfg.LiveBackendModel()}
	if cfg.Live != nil {
		lo.AcknowledgementDelayMs = cfg.Live.AcknowledgementDelayMs
	}
	return server.LiveDialer(lo)
}

func startModel(opts Options) (*model, error) {
	if opts.OpenAI.APIKey != "" {
		return &model{dial: Dialer(opts.Agent, opts.OpenAI), close: func() {}}, nil
	}
	brain := opts.Brain
	if brain == nil {
		brain = &Brain{}
	}
	var m interface {
		http.Handler
		Close()
	}
	if agent.LiveModel(opts.Agent.Model) {
		m = brain.LiveModel()
	} else {
		m = brain.Model()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(ln)
	}()
	return &model{
		dial: Dialer(opts.Agent, realtime.DialOptions{BaseURL: "http://" + ln.Addr().String() + "/v1", APIKey: "simulated"}),
		close: func() {
			hs.Close()
			<-served
			m.Close()
		},
	}, nil
}

func summarize(events []callevent.Event, end callevent.CallEnded) Summary {
	s := Summary{Duration: end.Duration, Interruptions: end.Interruptions, ToolCalls: end.ToolCalls, CostUSD: end.CostUSD}
	var lat []time.Duration
	for _, ev := range events {
		switch e := ev.(type) {
		case callevent.TurnLatency:
			lat = append(lat, e.Latency)
		case callevent.ModelError:
			s.Errors++
		case callevent.Warning:
			s.Warnings++
		}
	}
	s.Turns = len(lat)
	if len(lat) > 0 {
		slices.Sort(lat)
		s.LatencyP50 = percentile(lat, 50)
		s.LatencyP95 = percentile(lat, 95)
	}
	return s
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

type recorder struct {
	mu  sync.Mutex
	evs []callevent.Event
}

func (r *recorder) add(ev callevent.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recorder) all() []callevent.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]callevent.Event(nil), r.evs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
