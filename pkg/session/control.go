package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
)

// SetAgent changes what the model is told mid-call (a handoff, a new set of tools)
// with a session.update which, like every update, states the whole session (the API
// merges updates, so whatever the previous agent had and a is without is cleared)
// and carries audio/pcmu both ways. The voice cannot change once the agent has
// spoken: the previous voice is kept. What the server does (who cancels on
// barge-in) changes when it confirms the update, not here.
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
	from := s.agent.Name
	s.agent, s.tools = a, tools
	s.agentVersion++
	ready := s.ready.Load() && !s.ending
	var cfg realtime.SessionConfig
	if ready { // otherwise the dial states a when it connects
		cfg = s.update(&a)
	}
	described := s.callConfig(&a, false)
	s.mu.Unlock()
	if from != a.Name {
		s.emit(callevent.AgentChanged{Header: s.hdr(), From: from, To: a.Name})
	}
	s.emit(described)
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

// Call is the running call as a tool sees it, through CallFrom: tools that hang up,
// transfer or hand off use it.
type Call interface {
	// CallSID is the Twilio call's SID.
	CallSID() string
	// Agent returns the agent the model is following now.
	Agent() Agent
	// SetAgent switches the agent (a handoff); see Session.SetAgent.
	SetAgent(Agent) error
	// Instruct adds a system message and asks the model to respond to it.
	Instruct(text string) error
	// WaitPlayed waits until the response in progress is done and all of its audio
	// has been heard by the caller.
	WaitPlayed(ctx context.Context) error
	// End ends the call (after WaitPlayed, to let a goodbye finish).
	End(reason callevent.EndReason, err error)
}

type callKey struct{}

// CallFrom returns the call a tool runs in.
func CallFrom(ctx context.Context) (Call, bool) {
	c, ok := ctx.Value(callKey{}).(Call)
	return c, ok
}

// WithCall returns ctx carrying c, for tests of tools outside a session.
func WithCall(ctx context.Context, c Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// Agent returns the agent the model is following now.
func (s *Session) Agent() Agent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agent
}

// WaitPlayed waits until no response is in progress and every chunk of agent audio
// sent has been confirmed played by Twilio.
func (s *Session) WaitPlayed(ctx context.Context) error {
	for {
		s.mu.Lock()
		busy := s.resp.active || s.resp.requested && s.now().Sub(s.resp.requestedAt) < responseRequestDeadline
		ch := s.respChanged
		s.mu.Unlock()
		if !busy {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.endc:
			return errCallEnded
		}
	}
	return s.caller.WaitPlayed(ctx)
}

var errCallEnded = errors.New("session: the call has ended")
