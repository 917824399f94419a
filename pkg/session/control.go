package session

import (
	"errors"
	"fmt"

	"github.com/callagent/callagent/pkg/realtime"
)

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
