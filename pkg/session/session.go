package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callagent/callagent/pkg/realtime"
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
	interrupted  []string // agent items cut off by a barge-in, newest last

	// Owned by the model pump.
	speechStoppedAt time.Time
	awaitingAudio   bool
	answered        map[string]bool // responses whose audio reached the caller
	produced        bool            // the model has produced audio (mirrors spoke, without the lock)

	dtmfc chan string
	tasks sync.WaitGroup // tool calls and approvals

	events  chan Event
	dropped atomic.Int64

	endOnce   sync.Once
	endc      chan struct{}
	endReason EndReason
	endErr    error

	began                         time.Time
	lastCallerFrame               atomic.Int64 // unix nanoseconds
	inFrames, inBytes             atomic.Int64 // totals, caller → model
	outFrames, outBytes           atomic.Int64 // totals, model → caller
	turns, interruptions, toolRun atomic.Int64
	reported                      statsMark // totals at the last MediaStats (watchdog, then Run)
}

type statsMark struct {
	at                   time.Time
	inF, inB, outF, outB int64
}

// queuedInput is caller input that arrived before the model was ready.
type queuedInput struct {
	audio  []byte
	digits string
}

// responseState tracks the model's response so response.create is never sent while
// one is active (the API rejects it with conversation_already_has_active_response).
type responseState struct {
	active      bool
	activeID    string
	requested   bool // response.create sent, response.created not yet seen
	requestedAt time.Time
	pending     bool // a response.create is owed once the active response is done
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
		opts:     o,
		caller:   o.Caller,
		start:    o.Caller.Start(),
		tools:    tools,
		now:      o.Now,
		agent:    o.Agent,
		answered: map[string]bool{},
		dtmfc:    make(chan string, 64),
		endc:     make(chan struct{}),
	}
	if o.OnEvent != nil {
		s.events = make(chan Event, o.EventBuffer)
	}
	return s, nil
}

// SetAgent changes what the model is told mid-call (a handoff, a new set of tools)
// with a session.update, which, like every update, carries audio/pcmu both ways.
// The voice cannot change once the agent has spoken: the previous voice is kept.
// Before the model is connected the new agent is simply what it will be told.
func (s *Session) SetAgent(a Agent) error {
	tools, err := checkTools(a.Tools)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	s.mu.Lock()
	if s.spoke && a.Voice != s.agent.Voice {
		a.Voice = s.agent.Voice
	}
	s.agent, s.tools = a, tools
	s.agentVersion++
	cfg := a.sessionConfig()
	ready := s.ready.Load() && !s.ending
	s.mu.Unlock()
	if !ready {
		return nil
	}
	if err := s.model.Send(s.ioCtx, &realtime.SessionUpdate{Session: cfg}); err != nil {
		return fmt.Errorf("session: update the agent: %w", err)
	}
	return nil
}

// Instruct adds a system message to the conversation and asks the model to respond
// to it (queued behind an active response): for time limits, operator notes and the
// like. Before the model is connected it returns an error.
func (s *Session) Instruct(text string) error {
	if !s.ready.Load() {
		return errors.New("session: the model is not connected yet")
	}
	err := s.model.Send(s.ioCtx, &realtime.ConversationItemCreate{Item: realtime.Item{
		Type: realtime.ItemMessage, Role: "system", Content: []realtime.ContentPart{{Type: "input_text", Text: text}},
	}})
	if err == nil {
		err = s.requestResponse()
	}
	return err
}

// CallSID returns the call's SID from the stream's start message.
func (s *Session) CallSID() string { return s.start.Start.CallSid }

// End ends the call with reason, as if a leg had ended. It returns at once; Run
// returns when the call is torn down.
func (s *Session) End(reason EndReason, err error) { s.end(reason, err) }

func (s *Session) end(reason EndReason, err error) {
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
func (s *Session) Run(ctx context.Context) CallEnded {
	s.began = s.now()
	s.reported.at = s.began
	s.lastCallerFrame.Store(s.began.UnixNano())
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
	s.emit(CallStarted{Header: s.hdr(), StreamSID: s.start.StreamSid, AccountSID: s.start.Start.AccountSid,
		From: params["From"], To: params["To"], Parameters: params})

	var wg sync.WaitGroup
	wg.Go(s.callerPump)
	wg.Go(s.modelTask)
	wg.Go(s.dtmfLoop)
	wg.Go(s.watchdog)

	select {
	case <-s.endc:
	case <-ctx.Done():
		s.end(EndCancelled, context.Cause(ctx))
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

	ended := CallEnded{
		Header: s.hdr(), Reason: reason, Err: endErr, Duration: s.now().Sub(s.began),
		Turns: int(s.turns.Load()), Interruptions: int(s.interruptions.Load()), ToolCalls: int(s.toolRun.Load()),
		InBytes: s.inBytes.Load(), OutBytes: s.outBytes.Load(), DroppedEvents: s.dropped.Load(),
	}
	if s.events != nil {
		s.events <- ended // the dispatcher is still draining: this one is never dropped
		close(s.events)
		dispatch.Wait()
	}
	return ended
}

// closeLegs closes both legs at once: gracefully where the peer is still there, at
// once where it is gone or stuck.
func (s *Session) closeLegs(reason EndReason, model ModelLeg) {
	var wg sync.WaitGroup
	wg.Go(func() {
		switch reason {
		case EndCallerDisconnected, EndCallerTimeout:
			_ = s.caller.CloseNow()
		default:
			_ = s.caller.Close()
		}
	})
	if model != nil {
		wg.Go(func() {
			if reason == EndModelDisconnected {
				_ = model.CloseNow()
			} else {
				_ = model.Close()
			}
		})
	}
	wg.Wait()
}

func (s *Session) hdr() Header { return Header{Time: s.now(), CallSID: s.start.Start.CallSid} }

func (s *Session) emit(ev Event) {
	if s.events == nil {
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
		s.emit(Warning{Header: s.hdr(), Message: fmt.Sprintf(format, args...)})
	}
}

// callerPump reads the caller leg until it ends.
func (s *Session) callerPump() {
	for {
		f, err := s.caller.ReadFrame(s.ioCtx)
		if err != nil {
			var de *twiliotransport.DecodeError
			if errors.As(err, &de) {
				s.warn("skipped a malformed Twilio frame: %v", err)
				continue
			}
			s.end(EndCallerDisconnected, err)
			return
		}
		s.lastCallerFrame.Store(s.now().UnixNano())
		switch f := f.(type) {
		case *twiliotransport.Media:
			if f.Media.Track == "outbound" {
				continue // only the caller's own audio goes to the model
			}
			s.inFrames.Add(1)
			s.inBytes.Add(int64(f.Size))
			s.relayCallerAudio(f.Media.Payload)
		case *twiliotransport.DTMF:
			s.emit(DTMF{Header: s.hdr(), Digit: f.DTMF.Digit})
			select {
			case s.dtmfc <- f.DTMF.Digit:
			default:
				s.warn("dropped DTMF digit %q: too many queued", f.DTMF.Digit)
			}
		case *twiliotransport.Stop:
			s.end(EndCallerHangup, nil)
			return
		}
	}
}

// relayCallerAudio passes a caller frame to the model, or queues it while the model
// connects. This is the caller→model hot path: one atomic load and one write.
func (s *Session) relayCallerAudio(payload []byte) {
	if s.ready.Load() {
		if err := s.model.AppendAudio(s.ioCtx, payload); err != nil {
			s.end(EndModelDisconnected, err)
		}
		return
	}
	s.mu.Lock()
	if s.ready.Load() { // became ready while we waited for the lock
		s.mu.Unlock()
		s.relayCallerAudio(payload)
		return
	}
	s.queued = append(s.queued, queuedInput{audio: append([]byte(nil), payload...)})
	s.queuedFrames++
	s.queuedBytes += len(payload)
	limit := int(s.opts.MaxBufferedAudio.Milliseconds()) * twiliotransport.BytesPerMs * 4 / 3
	for s.queuedBytes > limit && len(s.queued) > 0 {
		// Keep the newest audio: it is what the caller is saying now.
		s.queuedBytes -= len(s.queued[0].audio)
		s.queued = s.queued[1:]
		s.droppedIn++
	}
	s.mu.Unlock()
}

// modelTask dials the model, configures it, delivers queued caller input, then runs
// the model pump.
func (s *Session) modelTask() {
	t0 := s.now()
	leg, err := s.opts.Dial(s.workCtx)
	if err != nil {
		s.end(EndModelDialFailed, err)
		return
	}
	s.mu.Lock()
	if s.ending {
		s.mu.Unlock()
		_ = leg.CloseNow()
		return
	}
	s.model = leg
	cfg, version := s.agent.sessionConfig(), s.agentVersion
	s.mu.Unlock()
	if s.opts.Debug {
		leg.SetTrace(s.traceRealtime)
	}
	if err := leg.Send(s.ioCtx, &realtime.SessionUpdate{Session: cfg}); err != nil {
		s.end(EndModelDisconnected, err)
		return
	}
	if err := s.flushQueued(leg); err != nil {
		s.end(EndModelDisconnected, err)
		return
	}
	s.mu.Lock()
	buffered, dropped := s.queuedFrames-s.droppedIn, s.droppedIn
	changed := s.agentVersion != version
	cfg = s.agent.sessionConfig()
	s.mu.Unlock()
	if changed { // SetAgent ran while we connected and could not send it
		if err := leg.Send(s.ioCtx, &realtime.SessionUpdate{Session: cfg}); err != nil {
			s.end(EndModelDisconnected, err)
			return
		}
	}
	s.emit(ModelConnected{Header: s.hdr(), DialTime: s.now().Sub(t0), BufferedFrames: buffered, DroppedFrames: dropped})
	if dropped > 0 {
		s.warn("the model took long to connect: %d caller frames did not fit the %s buffer", dropped, s.opts.MaxBufferedAudio)
	}
	s.modelPump(leg)
}

// flushQueued sends the caller input that arrived before the model was ready, in
// order, and then lets the caller pump write directly.
func (s *Session) flushQueued(leg ModelLeg) error {
	for {
		s.mu.Lock()
		batch := s.queued
		s.queued = nil
		if len(batch) == 0 {
			s.ready.Store(true)
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		for _, in := range batch {
			var err error
			if in.audio != nil {
				err = leg.AppendAudio(s.ioCtx, in.audio)
			} else {
				err = s.sendDigits(in.digits)
			}
			if err != nil {
				return err
			}
		}
	}
}

// modelPump reads the model leg until it ends.
func (s *Session) modelPump(leg ModelLeg) {
	for {
		ev, err := leg.ReadEvent(s.ioCtx)
		if err != nil {
			var de *realtime.DecodeError
			if errors.As(err, &de) {
				s.warn("skipped a malformed model event: %v", err)
				continue
			}
			s.end(EndModelDisconnected, err)
			return
		}
		s.handleModelEvent(ev)
	}
}

func (s *Session) handleModelEvent(ev realtime.ServerEvent) {
	switch e := ev.(type) {
	case *realtime.ResponseOutputAudioDelta:
		s.relayAgentAudio(e)
	case *realtime.InputAudioBufferSpeechStarted:
		s.awaitingAudio = false
		s.emit(SpeechStarted{Header: s.hdr(), ItemID: e.ItemID, AudioStartMs: e.AudioStartMs})
		s.bargeIn()
	case *realtime.InputAudioBufferSpeechStopped:
		s.speechStoppedAt, s.awaitingAudio = s.now(), true
		s.emit(SpeechStopped{Header: s.hdr(), ItemID: e.ItemID, AudioEndMs: e.AudioEndMs})
	case *realtime.InputAudioTranscriptionDelta:
		s.emit(CallerTranscriptDelta{Header: s.hdr(), ItemID: e.ItemID, Delta: e.Delta})
	case *realtime.InputAudioTranscriptionCompleted:
		s.emit(CallerTranscript{Header: s.hdr(), ItemID: e.ItemID, Text: e.Transcript})
	case *realtime.InputAudioTranscriptionFailed:
		s.warn("caller speech could not be transcribed: %s", e.Error.Message)
	case *realtime.ResponseOutputAudioTranscriptDelta:
		s.emit(AgentTranscriptDelta{Header: s.hdr(), ResponseID: e.ResponseID, ItemID: e.ItemID, Delta: e.Delta})
	case *realtime.ResponseOutputAudioTranscriptDone:
		s.emit(AgentTranscript{Header: s.hdr(), ResponseID: e.ResponseID, ItemID: e.ItemID, Text: e.Transcript, Interrupted: s.wasInterrupted(e.ItemID)})
	case *realtime.ResponseOutputTextDelta:
		s.emit(AgentTranscriptDelta{Header: s.hdr(), ResponseID: e.ResponseID, ItemID: e.ItemID, Delta: e.Delta})
	case *realtime.ResponseOutputTextDone:
		s.emit(AgentTranscript{Header: s.hdr(), ResponseID: e.ResponseID, ItemID: e.ItemID, Text: e.Text})
	case *realtime.ResponseCreated:
		s.mu.Lock()
		s.resp.active, s.resp.activeID, s.resp.requested = true, e.Response.ID, false
		s.mu.Unlock()
	case *realtime.ResponseDone:
		s.responseDone(e)
	case *realtime.ResponseOutputItemDone:
		s.outputItemDone(e)
	case *realtime.ErrorEvent:
		s.modelError(e)
	case *realtime.MCPCallStatus:
		s.emit(MCPEvent{Header: s.hdr(), Type: e.Type, ItemID: e.ItemID})
	case *realtime.MCPListToolsStatus:
		s.emit(MCPEvent{Header: s.hdr(), Type: e.Type, ItemID: e.ItemID})
	}
}

// relayAgentAudio passes a chunk of agent audio to Twilio. This is the model→caller
// hot path: the delta's base64 goes into a media frame as it is.
func (s *Session) relayAgentAudio(e *realtime.ResponseOutputAudioDelta) {
	if !s.produced {
		// The model has produced audio: from now on its voice cannot change.
		s.produced = true
		s.mu.Lock()
		s.spoke = true
		s.mu.Unlock()
	}
	sent, err := s.caller.SendAudio(s.ioCtx, e.ResponseID, e.ItemID, e.Delta)
	if err != nil {
		if errors.Is(err, twiliotransport.ErrBadPayload) {
			s.warn("skipped agent audio that is not base64 (item %s)", e.ItemID)
			return
		}
		s.end(EndCallerDisconnected, err)
		return
	}
	if !sent {
		return // a late delta of an interrupted response
	}
	s.outFrames.Add(1)
	s.outBytes.Add(int64(decodedLen(e.Delta)))
	if !s.answered[e.ResponseID] {
		s.answered[e.ResponseID] = true
		s.turns.Add(1)
		if s.awaitingAudio {
			s.awaitingAudio = false
			s.emit(TurnLatency{Header: s.hdr(), ResponseID: e.ResponseID, Latency: s.now().Sub(s.speechStoppedAt)})
		}
	}
}

// decodedLen is the byte length of padded base64 text.
func decodedLen(b []byte) int {
	n := len(b) / 4 * 3
	if len(b) > 0 && b[len(b)-1] == '=' {
		n--
		if len(b) > 1 && b[len(b)-2] == '=' {
			n--
		}
	}
	return n
}

// bargeIn handles the caller starting to speak: agent audio queued at Twilio is
// cleared, the response is cancelled if the server will not do it, and each item the
// caller did not hear in full is truncated at what they heard (later queued items at
// 0), so the model's memory matches the call. This runs whether the model is still
// generating or has finished and Twilio is still playing.
func (s *Session) bargeIn() {
	s.mu.Lock()
	activeID := ""
	if s.resp.active {
		activeID = s.resp.activeID
	}
	serverCancels := s.agent.serverInterrupts()
	s.mu.Unlock()

	in, err := s.caller.Interrupt(s.ioCtx, activeID)
	if err != nil {
		s.end(EndCallerDisconnected, err)
		return
	}
	// The event is stamped with the moment the heard audio was measured.
	ev := Interruption{Header: Header{Time: in.At, CallSID: s.CallSID()}, ResponseID: activeID, Cleared: in.Pending,
		HeardMs: int(in.HeardBytes / twiliotransport.BytesPerMs)}
	if activeID != "" && !serverCancels {
		if err := s.model.Send(s.ioCtx, &realtime.ResponseCancel{}); err != nil {
			s.end(EndModelDisconnected, err)
			return
		}
		ev.Cancelled = true
	}
	for _, it := range in.Items {
		// An item heard in full needs no correction, unless its response is still
		// generating: the server may hold audio for it that never reached us.
		if it.FullyHeard() && it.ResponseID != activeID {
			continue
		}
		t := Truncation{ItemID: it.ItemID, AudioEndMs: it.HeardMs(), SentMs: int(it.SentBytes / twiliotransport.BytesPerMs)}
		err := s.model.Send(s.ioCtx, &realtime.ConversationItemTruncate{ItemID: t.ItemID, ContentIndex: 0, AudioEndMs: t.AudioEndMs})
		if err != nil {
			s.end(EndModelDisconnected, err)
			return
		}
		ev.Truncations = append(ev.Truncations, t)
		s.markInterrupted(t.ItemID)
	}
	if activeID == "" && len(ev.Truncations) == 0 {
		// The caller had heard everything (at most the last mark's echo was still on
		// its way, so a clear went out for safety): nothing was interrupted.
		return
	}
	s.interruptions.Add(1)
	s.emit(ev)
}

func (s *Session) markInterrupted(itemID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.interrupted) >= 32 {
		s.interrupted = s.interrupted[1:]
	}
	s.interrupted = append(s.interrupted, itemID)
}

func (s *Session) wasInterrupted(itemID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.interrupted {
		if id == itemID {
			return true
		}
	}
	return false
}

func (s *Session) responseDone(e *realtime.ResponseDone) {
	s.mu.Lock()
	if s.resp.activeID == e.Response.ID || e.Response.ID == "" {
		s.resp.active, s.resp.activeID = false, ""
	}
	owed := s.resp.pending && !s.resp.active
	if owed {
		s.resp.pending = false
		s.resp.requested, s.resp.requestedAt = true, s.now()
	}
	s.mu.Unlock()
	delete(s.answered, e.Response.ID)
	ev := ResponseDone{Header: s.hdr(), ResponseID: e.Response.ID, Status: e.Response.Status, Usage: e.Response.Usage}
	if d := e.Response.StatusDetails; d != nil {
		ev.Reason = d.Reason
	}
	s.emit(ev)
	if owed {
		if err := s.model.Send(s.ioCtx, &realtime.ResponseCreate{}); err != nil {
			s.end(EndModelDisconnected, err)
		}
	}
}

func (s *Session) modelError(e *realtime.ErrorEvent) {
	s.emit(ModelError{Header: s.hdr(), Type: e.Error.Type, Code: e.Error.Code, Message: e.Error.Message, Param: e.Error.Param})
	if e.Error.Code == realtime.CodeActiveResponse {
		// Our response.create met a response the server started itself: ask again
		// when that one is done.
		s.mu.Lock()
		s.resp.requested = false
		s.resp.pending = true
		s.mu.Unlock()
	}
}

// requestResponse asks the model to respond, or owes the request until the active
// response is done.
func (s *Session) requestResponse() error {
	s.mu.Lock()
	now := s.now()
	if s.resp.active || (s.resp.requested && now.Sub(s.resp.requestedAt) < responseRequestDeadline) {
		s.resp.pending = true
		s.mu.Unlock()
		return nil
	}
	s.resp.requested, s.resp.requestedAt = true, now
	s.mu.Unlock()
	return s.model.Send(s.ioCtx, &realtime.ResponseCreate{})
}

func (s *Session) outputItemDone(e *realtime.ResponseOutputItemDone) {
	item := e.Item
	switch item.Type {
	case realtime.ItemFunctionCall:
		// A call cut off with its response is incomplete: running it would act on
		// arguments the model never finished.
		if item.Status != "" && item.Status != realtime.StatusCompleted {
			return
		}
		s.toolRun.Add(1)
		s.tasks.Go(func() { s.runTool(item) })
	case realtime.ItemMCPApprovalRequest:
		s.tasks.Go(func() { s.answerMCPApproval(item) })
	}
}

func (s *Session) runTool(item realtime.Item) {
	s.emit(ToolCall{Header: s.hdr(), CallID: item.CallID, Name: item.Name, Arguments: item.Arguments})
	began := s.now()
	output, background, err := s.execTool(item)
	if err != nil {
		output = "Error: " + err.Error()
	}
	s.emit(ToolResult{Header: s.hdr(), CallID: item.CallID, Name: item.Name, Output: output, Err: err,
		Duration: s.now().Sub(began), Background: background})
	if s.workCtx.Err() != nil {
		return // the call is over
	}
	err = s.model.Send(s.ioCtx, &realtime.ConversationItemCreate{Item: realtime.Item{
		Type: realtime.ItemFunctionCallOutput, CallID: item.CallID, Output: output,
	}})
	if err == nil && !background {
		err = s.requestResponse()
	}
	if err != nil {
		s.end(EndModelDisconnected, err)
	}
}

func (s *Session) execTool(item realtime.Item) (output string, background bool, err error) {
	s.mu.Lock()
	tool, ok := s.tools[item.Name]
	s.mu.Unlock()
	if !ok {
		return "", false, fmt.Errorf("there is no tool named %q", item.Name)
	}
	spec := tool.Spec()
	if spec.NeedsApproval {
		if ok, why := s.approve(item.CallID, item.Name, item.Arguments); !ok {
			return "", spec.Background, fmt.Errorf("the call to %s was %w (%s); tell the caller it could not be done", item.Name, errDenied, why)
		}
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = s.opts.ToolTimeout
	}
	ctx, cancel := context.WithTimeout(s.workCtx, timeout)
	defer cancel()
	args := json.RawMessage(item.Arguments)
	if len(strings.TrimSpace(item.Arguments)) == 0 {
		args = json.RawMessage("{}")
	}
	out, err := callTool(ctx, tool, args)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && s.workCtx.Err() == nil {
		err = fmt.Errorf("%s timed out after %s", item.Name, timeout)
	}
	return out, spec.Background, err
}

// approve asks the approver about a call, bounded by ApprovalTimeout.
func (s *Session) approve(callID, name, args string) (bool, string) {
	s.emit(ToolApprovalRequested{Header: s.hdr(), CallID: callID, Name: name, Arguments: args})
	approved, why := false, "no approver is configured"
	if s.opts.Approver != nil {
		ctx, cancel := context.WithTimeout(s.workCtx, s.opts.ApprovalTimeout)
		ok, err := s.opts.Approver.Approve(ctx, ApprovalRequest{CallSID: s.CallSID(), CallID: callID, Name: name, Arguments: args})
		cancel()
		switch {
		case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			why = "no answer within " + s.opts.ApprovalTimeout.String()
		case err != nil:
			why = err.Error()
		case ok:
			approved, why = true, ""
		default:
			why = "denied"
		}
	}
	s.emit(ToolApprovalDecided{Header: s.hdr(), CallID: callID, Name: name, Approved: approved, Reason: why})
	return approved, why
}

// answerMCPApproval answers a hosted MCP tool's approval request through the same
// approver as function tools.
func (s *Session) answerMCPApproval(item realtime.Item) {
	approved, _ := s.approve(item.ID, item.ServerLabel+"."+item.Name, item.Arguments)
	if s.workCtx.Err() != nil {
		return
	}
	err := s.model.Send(s.ioCtx, &realtime.ConversationItemCreate{Item: realtime.Item{
		Type: realtime.ItemMCPApprovalResponse, ApprovalRequestID: item.ID, Approve: &approved,
	}})
	if err == nil {
		err = s.requestResponse()
	}
	if err != nil {
		s.end(EndModelDisconnected, err)
	}
}

// dtmfLoop collects key presses and delivers them to the model as one short text
// message after DTMFDebounce of quiet, or at once on '#'.
func (s *Session) dtmfLoop() {
	var digits []string
	var quiet <-chan time.Time
	flush := func() {
		if len(digits) > 0 {
			s.deliverDigits(strings.Join(digits, " "))
			digits = digits[:0]
		}
		quiet = nil
	}
	for {
		select {
		case <-s.workCtx.Done():
			return
		case d := <-s.dtmfc:
			digits = append(digits, d)
			if d == "#" || s.opts.DTMFDebounce < 0 {
				flush()
			} else {
				quiet = time.After(s.opts.DTMFDebounce)
			}
		case <-quiet:
			flush()
		}
	}
}

func (s *Session) deliverDigits(digits string) {
	s.mu.Lock()
	if !s.ready.Load() {
		s.queued = append(s.queued, queuedInput{digits: digits})
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if err := s.sendDigits(digits); err != nil {
		s.end(EndModelDisconnected, err)
	}
}

func (s *Session) sendDigits(digits string) error {
	err := s.model.Send(s.ioCtx, &realtime.ConversationItemCreate{Item: realtime.Item{
		Type: realtime.ItemMessage, Role: "user",
		Content: []realtime.ContentPart{{Type: "input_text", Text: "[The caller pressed " + digits + " on the phone keypad.]"}},
	}})
	if err != nil {
		return err
	}
	return s.requestResponse()
}

// watchdog ends a call whose caller leg went silent or that reached MaxDuration
// (telling the agent to wrap up first), and reports media statistics.
func (s *Session) watchdog() {
	interval := statsInterval
	if idle := s.opts.CallerIdleTimeout; idle > 0 && idle/4 < interval {
		interval = max(idle/4, 10*time.Millisecond) // check often enough to end near the limit
	}
	if limit := s.opts.MaxDuration; limit > 0 && limit/20 < interval {
		interval = max(limit/20, 10*time.Millisecond)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	wrapped := false
	for {
		select {
		case <-s.workCtx.Done():
			return
		case <-tick.C:
		}
		now := s.now()
		if now.Sub(s.reported.at) >= statsInterval {
			s.emitStats()
		}
		if idle := s.opts.CallerIdleTimeout; idle > 0 {
			last := time.Unix(0, s.lastCallerFrame.Load())
			if now.Sub(last) > idle {
				s.end(EndCallerTimeout, fmt.Errorf("no frames from Twilio for %s", idle))
				return
			}
		}
		if limit := s.opts.MaxDuration; limit > 0 {
			elapsed := now.Sub(s.began)
			if elapsed >= limit {
				s.end(EndMaxDuration, nil)
				return
			}
			if !wrapped && elapsed >= limit-s.opts.WrapUpBefore && s.ready.Load() {
				wrapped = true
				if err := s.Instruct(s.opts.WrapUpMessage); err != nil {
					s.end(EndModelDisconnected, err)
					return
				}
			}
		}
	}
}

// emitStats reports the audio relayed since the last report, if any.
func (s *Session) emitStats() {
	now := s.now()
	cur := statsMark{at: now, inF: s.inFrames.Load(), inB: s.inBytes.Load(), outF: s.outFrames.Load(), outB: s.outBytes.Load()}
	last := s.reported
	if cur.inF == last.inF && cur.outF == last.outF {
		return
	}
	s.reported = cur
	s.emit(MediaStats{Header: Header{Time: now, CallSID: s.CallSID()}, Interval: now.Sub(last.at),
		InFrames: int(cur.inF - last.inF), InBytes: int(cur.inB - last.inB),
		OutFrames: int(cur.outF - last.outF), OutBytes: int(cur.outB - last.outB)})
}

func (s *Session) traceTwilio(sent bool, event string, raw []byte) {
	s.emit(RawFrame{Header: s.hdr(), Source: SourceTwilio, Sent: sent, Type: event, Data: append([]byte(nil), raw...)})
}

func (s *Session) traceRealtime(sent bool, typ string, raw []byte) {
	s.emit(RawFrame{Header: s.hdr(), Source: SourceRealtime, Sent: sent, Type: typ, Data: append([]byte(nil), raw...)})
}
