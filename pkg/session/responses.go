package session

import (
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
)

// responseState tracks the model's response so response.create is never sent while
// one is active (the API rejects it with conversation_already_has_active_response).
type responseState struct {
	active      bool
	activeID    string
	requested   bool // response.create sent, response.created not yet seen
	requestedAt time.Time
	pending     bool   // a response.create is owed once the active response is done
	cutID       string // the response a barge-in already cut off: not cancelled or counted again
}

// respChange wakes WaitPlayed. Caller holds s.mu.
func (s *Session) respChange() {
	close(s.respChanged)
	s.respChanged = make(chan struct{})
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
	s.respChange()
	s.mu.Unlock()
	delete(s.answered, e.Response.ID)
	ev := callevent.ResponseDone{Header: s.hdr(), ResponseID: e.Response.ID, Status: e.Response.Status, Usage: usage(e.Response.Usage)}
	if d := e.Response.StatusDetails; d != nil {
		ev.Reason = d.Reason
	}
	s.emit(ev)
	if owed {
		if err := s.model.Send(s.ioCtx, &realtime.ResponseCreate{}); err != nil {
			s.end(callevent.EndModelDisconnected, err)
		}
	}
}

func (s *Session) modelError(e *realtime.ErrorEvent) {
	s.emit(callevent.ModelError{Header: s.hdr(), Type: e.Error.Type, Code: e.Error.Code, Message: e.Error.Message, Param: e.Error.Param})
	if e.Error.Code == realtime.CodeActiveResponse {
		// Our response.create met a response the server started itself: ask again
		// when that one is done.
		s.mu.Lock()
		s.resp.requested = false
		s.resp.pending = true
		s.respChange()
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

// usage is what the model reported a response consumed, in the call's terms.
func usage(u *realtime.Usage) *callevent.Usage {
	if u == nil {
		return nil
	}
	return &callevent.Usage{TotalTokens: u.TotalTokens, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		InputTokenDetails: u.InputTokenDetails, OutputTokenDetails: u.OutputTokenDetails}
}
