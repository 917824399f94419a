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
type Session struct {
	opts   Options
	caller CallerLeg
	start  twiliotransport.Start
	now    func() time.Time

	// ioCtx is used for every read and write on the legs. It is never cancelled: the
	// session closes the legs itself, so a close is always deliberate (a graceful
	// close frame where possible) and no per-frame context work is needed.
	ioCtx   context.Context
	workCtx context.Context // tools, approvals and the dial; cancelled at the end

	// model is set once, before ready is stored true; after that it is read freely.
	model ModelLeg
	ready atomic.Bool

	mu           sync.Mutex // guards the fields below
	ending       bool
	agent        Agent
	tools        map[string]Tool // the agent's tools by name
	spoke        bool            // the agent has produced audio: its voice is fixed
	agentVersion int             // bumped by SetAgent, so a change during the dial is not lost
	queued       []queuedInput   // caller input waiting for the model
	queuedBytes  int
	queuedFrames int
	droppedIn    int
	resp         responseState
	respChanged  chan struct{} // closed and replaced when resp changes
	interrupted  []string      // agent items cut off by a barge-in, newest last

	// Owned by the model pump.
	guard           guardState
	speechStoppedAt time.Time
	awaitingAudio   bool
	answered        map[string]bool // responses whose audio reached the caller
	produced        bool            // the model has produced audio (mirrors spoke, without the lock)

	dtmfc chan string
	tasks sync.WaitGroup // tool calls and approvals

	events   chan callevent.Event
	evMu     sync.RWMutex // emit holds it to read; Run to close events
	evClosed bool
	dropped  atomic.Int64

	endOnce   sync.Once
	endc      chan struct{}
	endReason callevent.EndReason
	endErr    error

	began                         time.Time
	lastCallerFrame               atomic.Int64 // unix nanoseconds
	inFrames, inBytes             atomic.Int64 // totals, caller → model
	outFrames, outBytes           atomic.Int64 // totals, model → caller
	turns, interruptions, toolRun atomic.Int64
	lastActivity                  atomic.Int64 // unix ns: speech, keys, or when agent audio will have played
	idlePrompted                  atomic.Bool  // the agent asked whether the caller is still there
	idleEnding                    bool         // watchdog only: the idle goodbye is under way
	playEnd                       time.Time    // model pump only: when the audio sent so far will have played
	reported                      statsMark    // totals at the last callevent.MediaStats (watchdog, then Run)
}

// queuedInput is caller input that arrived before the model was ready.
type queuedInput struct {
	audio  []byte
	digits string
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
		dtmfc:       make(chan string, 64),
		respChanged: make(chan struct{}),
		endc:        make(chan struct{}),
	}
	if o.OnEvent != nil {
		s.events = make(chan callevent.Event, o.EventBuffer)
	}
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
		close(s.endc)
	})
}

// Run relays the call until it ends and returns how it ended. Every goroutine it
// starts has exited and both legs are closed when it returns.
//
// Goroutines of a call: the caller pump (reads Twilio, relays caller audio to the
// model), the model task (dials, configures, then reads the model and relays its
// audio to Twilio), the DTMF collector, the watchdog (idle check, media stats), one
// per running tool call, and the event dispatcher when OnEvent is set.
func (s *Session) Run(ctx context.Context) callevent.CallEnded {
	s.began = s.now()
	s.reported.at = s.began
	s.lastCallerFrame.Store(s.began.UnixNano())
	s.lastActivity.Store(s.began.UnixNano())
	s.ioCtx = context.WithoutCancel(ctx)
	workCtx, cancelWork := context.WithCancel(ctx)
	s.workCtx = workCtx

	var dispatch sync.WaitGroup
	if s.events != nil {
		dispatch.Go(s.dispatch)
	}
	if s.opts.Debug {
		s.caller.SetTrace(s.traceTwilio)
	}
	params := s.start.Start.CustomParameters
	s.emit(callevent.CallStarted{Header: s.hdr(), StreamSID: s.start.StreamSid, AccountSID: s.start.Start.AccountSid,
		From: params["From"], To: params["To"], Parameters: params})

	var wg sync.WaitGroup
	wg.Go(s.callerPump)
	wg.Go(s.modelTask)
	wg.Go(s.dtmfLoop)
	wg.Go(s.watchdog)

	select {
	case <-s.endc:
	case <-ctx.Done():
		s.end(callevent.EndCancelled, context.Cause(ctx))
	}

	s.mu.Lock()
	s.ending = true
	reason, endErr := s.endReason, s.endErr
	model := s.model
	s.mu.Unlock()
	cancelWork()
	s.closeLegs(reason, model)
	wg.Wait()
	s.tasks.Wait()
	s.emitStats() // whatever the watchdog had not reported

	ended := callevent.CallEnded{
		Header: s.hdr(), Reason: reason, Err: endErr, Duration: s.now().Sub(s.began),
		Turns: int(s.turns.Load()), Interruptions: int(s.interruptions.Load()), ToolCalls: int(s.toolRun.Load()),
		InBytes: s.inBytes.Load(), OutBytes: s.outBytes.Load(), DroppedEvents: s.dropped.Load(),
	}
	if s.events != nil {
		s.events <- ended // the dispatcher is still draining: this one is never dropped
		s.evMu.Lock()
		s.evClosed = true // a SetAgent after the end emits nothing
		close(s.events)
		s.evMu.Unlock()
		dispatch.Wait()
	}
	return ended
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

func (s *Session) emit(ev callevent.Event) {
	if s.events == nil {
		return
	}
	s.evMu.RLock()
	defer s.evMu.RUnlock()
	if s.evClosed {
		return
	}
	select {
	case s.events <- ev:
	default:
		s.dropped.Add(1)
	}
}

func (s *Session) dispatch() {
	for ev := range s.events {
		s.opts.OnEvent(ev)
	}
}

func (s *Session) warn(format string, args ...any) {
	if s.events != nil {
		s.emit(callevent.Warning{Header: s.hdr(), Message: fmt.Sprintf(format, args...)})
	}
}

func (s *Session) traceTwilio(sent bool, event string, raw []byte) {
	s.emit(callevent.RawFrame{Header: s.hdr(), Source: callevent.SourceTwilio, Sent: sent, Type: event, Data: append([]byte(nil), raw...)})
}

func (s *Session) traceRealtime(sent bool, typ string, raw []byte) {
	s.emit(callevent.RawFrame{Header: s.hdr(), Source: callevent.SourceRealtime, Sent: sent, Type: typ, Data: append([]byte(nil), raw...)})
}
