package session

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// Session is one call: it joins a caller leg and a model leg until either ends.
//
// Each field falls under one rule, by group below. The input queue, the event queue
// and the statistics keep their own rules (see their types).
type Session struct {
	// Set by New, or by Run before it starts a goroutine; read-only after.
	opts   Options
	caller CallerLeg
	start  twiliotransport.Start
	now    func() time.Time
	began  time.Time
	endc   <-chan struct{} // closed by end (endCtx's Done)
	endCtx context.Context // cancelled by end: starts the teardown (Run)
	endNow context.CancelFunc
	// ioCtx is used for every read and write on the legs. It is never cancelled: the
	// session closes the legs itself, so a close is always deliberate (a graceful
	// close frame where possible) and no per-frame context work is needed.
	ioCtx      context.Context
	workCtx    context.Context // tools, approvals and the dial; cancelled at the end
	cancelWork context.CancelFunc

	// Set once by the model task, under mu, before it opens the input queue and
	// before ready is stored true; whoever has seen either reads model freely.
	model ModelLeg
	ready atomic.Bool

	input  inputQueue  // caller input before the model is ready
	events eventQueue  // events on their way to Options.OnEvent
	stats  relayStats  // what the call relayed
	clock  callerClock // the caller's audio clock: gaps and pads
	warns  warnLimiter // repeated warnings, counted and summarised

	mu           sync.Mutex // guards the fields below
	ending       bool
	endReason    callevent.EndReason
	endErr       error
	agent        Agent
	tools        map[string]Tool // the agent's tools by name
	spoke        bool            // the agent has produced audio: its voice is fixed
	agentVersion int             // bumped by SetAgent, so a change during the dial is not lost
	resp         responseState
	respChanged  chan struct{}         // closed and replaced when resp changes
	interrupted  []string              // agent items cut off by a barge-in, newest last
	batches      map[string]*toolBatch // function calls by response, until every output is in
	promptSet    bool                  // the last update set a prompt: an agent without one clears it
	tracingSent  bool                  // tracing went with an update: it cannot change

	// Owned by the model pump.
	guard           guardState
	speechStoppedAt time.Time
	waitedAtStop    time.Duration // human.at(speechStoppedAt)
	awaitingAudio   bool
	answered        map[string]bool // responses whose audio reached the caller
	produced        bool            // the model has produced audio (mirrors spoke, without the lock)
	playEnd         time.Time       // when the audio sent so far will have played
	// The server does not cancel a response when the caller speaks, as its last
	// session.created/updated says (turn detection off or interrupt_response false);
	// false until then, as the API's default interrupts.
	serverNoInterrupt bool
	serverVoice       string // the voice the server last confirmed (empty for a custom voice {id}: an update that omits the voice keeps it)

	// Line activity, for the idle check: atomics, touched by the pumps and the watchdog.
	lastActivity atomic.Int64 // unix ns: speech, keys, or when agent audio will have played
	idlePrompted atomic.Bool  // the agent asked whether the caller is still there
	idleEnding   bool         // watchdog only: the idle goodbye is under way

	cost costState // usage and cost so far

	human humanWait // time spent waiting for approvals: not turn latency
	parts turnParts // where the turn's latency goes (latency.go)

	// Joins and once-only work.
	tasks   sync.WaitGroup // tool calls, MCP approvals, the idle goodbye: started by the model pump and the watchdog only
	endOnce sync.Once
	wd      watchdogState

	// The DTMF collector, started by the caller pump at the first key press: most
	// calls have none, and then cost neither its goroutine nor its queue.
	dtmfOnce sync.Once
	dtmfc    chan string    // caller pump → DTMF collector; set in dtmfOnce
	dtmfDone sync.WaitGroup // the collector
}

// New checks opts and returns a session ready to Run.
func New(opts Options) (*Session, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	tools, err := checkTools(o.Agent.Tools)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	s := &Session{
		opts:        o,
		caller:      o.Caller,
		start:       o.Caller.Start(),
		tools:       tools,
		now:         o.Now,
		agent:       o.Agent,
		answered:    map[string]bool{},
		respChanged: make(chan struct{}),
		input:       inputQueue{limit: int(o.MaxBufferedAudio.Milliseconds()) * twiliotransport.BytesPerMs * 4 / 3},
		events:      newEventQueue(o.OnEvent, o.EventBuffer),
	}
	s.endCtx, s.endNow = context.WithCancel(context.Background())
	s.endc = s.endCtx.Done()
	return s, nil
}

// CallSID returns the call's SID from the stream's start message.
func (s *Session) CallSID() string { return s.start.Start.CallSid }

// End ends the call with reason, as if a leg had ended. It returns at once; Run
// returns when the call is torn down.
func (s *Session) End(reason callevent.EndReason, err error) { s.end(reason, err) }

func (s *Session) end(reason callevent.EndReason, err error) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.endReason, s.endErr = reason, err
		s.mu.Unlock()
		s.endNow()
	})
}

// Run relays the call until it ends and returns how it ended. Every goroutine of the
// call (listed in the package documentation) has exited and both legs are closed when
// it returns.
func (s *Session) Run(ctx context.Context) callevent.CallEnded {
	s.began = s.now()
	if s.opts.Recorder != nil {
		s.opts.Recorder.Begin(s.began)
	}
	s.stats.begin(s.began)
	s.lastActivity.Store(s.began.UnixNano())
	s.ioCtx = context.WithoutCancel(ctx)
	s.workCtx, s.cancelWork = context.WithCancel(ctx)

	if s.opts.Debug {
		s.caller.SetTrace(s.traceTwilio)
	}
	params := s.start.Start.CustomParameters
	s.emit(callevent.CallStarted{Header: s.hdr(), StreamSID: s.start.StreamSid, AccountSID: s.start.Start.AccountSid,
		From: params["From"], To: params["To"], Parameters: params})
	s.mu.Lock()
	cfg := s.callConfig(&s.agent, true)
	s.mu.Unlock()
	s.emit(cfg)

	// The caller pump runs on this goroutine (one stack less per call); the
	// teardown that unblocks it runs on a goroutine of its own, started only when
	// the call ends (context.AfterFunc), so nothing waits between frames but the
	// two pumps.
	var wg sync.WaitGroup
	wg.Go(s.modelTask)
	s.startWatchdog()
	stopCancel := context.AfterFunc(ctx, func() { s.end(callevent.EndCancelled, context.Cause(ctx)) })
	var torn sync.WaitGroup
	torn.Add(1)
	context.AfterFunc(s.endCtx, func() { s.teardown(&torn) })
	s.callerPump() // returns once the call has ended: every way out of it ends it
	torn.Wait()
	stopCancel()
	s.mu.Lock()
	reason, endErr, model := s.endReason, s.endErr, s.model
	s.mu.Unlock()
	wg.Wait()
	s.dtmfDone.Wait() // only the caller pump starts it, and it has ended
	s.waitWatchdog()
	s.tasks.Wait()
	s.emitStats() // whatever the watchdog had not reported
	if model != nil {
		s.finalUsage(model) // the leg's last usage (GPT-Live's session.closed), before the cost is taken
	}

	ended := callevent.CallEnded{
		Header: s.hdr(), Reason: reason, Err: endErr, Duration: s.now().Sub(s.began),
		DroppedEvents: s.events.dropped.Load(), CostUSD: s.endCost(),
	}
	s.stats.totals(&ended)
	// The rest of each repeated warning, then the end: never dropped. A SetAgent
	// after the end emits nothing.
	s.events.finish(append(s.flushWarnings(s.now(), true), ended)...)
	return ended
}

// teardown runs once the call has ended: it marks the session ending, tells
// OnEnd, cancels the work context, stops the watchdog and closes both legs, which
// unblocks the pumps.
func (s *Session) teardown(done *sync.WaitGroup) {
	defer done.Done()
	s.mu.Lock()
	s.ending = true
	reason := s.endReason
	model := s.model
	s.mu.Unlock()
	if s.opts.OnEnd != nil {
		s.opts.OnEnd(reason) // before the close that makes Twilio ask what next
	}
	s.cancelWork()
	s.stopWatchdog()
	s.closeLegs(reason, model)
}

// closeLegs closes both legs at once: gracefully where the peer is still there, at
// once where it is gone or stuck.
func (s *Session) closeLegs(reason callevent.EndReason, model ModelLeg) {
	var wg sync.WaitGroup
	wg.Go(func() {
		switch reason {
		case callevent.EndCallerDisconnected, callevent.EndCallerTimeout:
			_ = s.caller.CloseNow()
		default:
			_ = s.caller.Close()
		}
	})
	if model != nil {
		wg.Go(func() {
			if reason == callevent.EndModelDisconnected {
				_ = model.CloseNow()
			} else {
				_ = model.Close()
			}
		})
	}
	wg.Wait()
}

func (s *Session) hdr() callevent.Header {
	return callevent.Header{Time: s.now(), CallSID: s.start.Start.CallSid}
}

func (s *Session) emit(ev callevent.Event) { s.events.emit(ev) }

func (s *Session) warn(format string, args ...any) {
	if s.events.on() {
		s.emit(callevent.Warning{Header: s.hdr(), Message: fmt.Sprintf(format, args...)})
	}
}

func (s *Session) traceTwilio(sent bool, event string, raw []byte) {
	s.emit(callevent.RawFrame{Header: s.hdr(), Source: callevent.SourceTwilio, Sent: sent, Type: event, Data: append([]byte(nil), raw...)})
}

func (s *Session) traceRealtime(sent bool, typ string, raw []byte) {
	s.emit(callevent.RawFrame{Header: s.hdr(), Source: callevent.SourceRealtime, Sent: sent, Type: typ, Data: append([]byte(nil), raw...)})
}
