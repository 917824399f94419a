package session

import (
	"encoding/json"
	"fmt"
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
	s.responseUsage(e.Response.Usage)
	if owed {
		if err := s.model.Send(s.ioCtx, &realtime.ResponseCreate{}); err != nil {
			s.end(callevent.EndModelDisconnected, err)
		}
	}
	s.batchResponseDone(e.Response.ID)
}

func (s *Session) modelError(e *realtime.ErrorEvent) {
	failed, _ := realtime.EventIDType(e.Error.EventID)
	if failed == realtime.TypeResponseCancel && e.Error.Code == codeCancelNotActive {
		// Only cutOff sends response.cancel, and only while the response is active
		// as far as we have read. The server had finished it by the time the cancel
		// arrived: an end-of-answer guardrail trip (the usual case for short phone
		// answers) or a barge-in on the last words. Nothing was left to stop, so it
		// is no error; --debug still shows the frame.
		return
	}
	s.emit(callevent.ModelError{Header: s.hdr(), Type: e.Error.Type, Code: e.Error.Code, Message: e.Error.Message, Param: e.Error.Param,
		ClientEvent: failed, ClientEventID: e.Error.EventID})
	if failed == realtime.TypeSessionUpdate && e.Error.Code == codeCannotUpdateVoice {
		// The server had produced audio we had not relayed yet when a handoff asked
		// for a new voice. Not worth ending the call: keep the voice it has and say
		// the rest again.
		s.warn("the model kept its voice: %s", e.Error.Message)
		s.mu.Lock()
		s.spoke = true
		s.agent.Voice = s.serverVoice
		cfg := s.update(&s.agent)
		s.mu.Unlock()
		if err := s.model.Send(s.ioCtx, &realtime.SessionUpdate{Session: cfg}); err != nil {
			s.end(callevent.EndModelDisconnected, err)
		}
		return
	}
	if failed == realtime.TypeSessionUpdate {
		// The whole update was refused: the server keeps what it had, at worst its
		// 24 kHz PCM default, which is noise on a phone line. Better an apology.
		s.end(callevent.EndModelRejected, fmt.Errorf("%w: session.update %s: %s (param %q): %s",
			ErrSessionRejected, e.Error.EventID, e.Error.Code, e.Error.Param, e.Error.Message))
		return
	}
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
	cu := &callevent.Usage{TotalTokens: u.TotalTokens, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens}
	if u.InputTokenDetails != nil {
		cu.InputTokenDetails, _ = json.Marshal(u.InputTokenDetails)
	}
	if u.OutputTokenDetails != nil {
		cu.OutputTokenDetails, _ = json.Marshal(u.OutputTokenDetails)
	}
	return cu
}

// sessionUpdated takes the server's word for the session: its turn detection decides
// who cancels a response on barge-in, and anything but audio/pcmu both ways ends the
// call, since the caller would hear noise.
func (s *Session) sessionUpdated(e *realtime.SessionUpdated) {
	if err := checkPCMU(e.Session); err != nil && !s.opts.SIP {
		s.end(callevent.EndModelRejected, err)
		return
	}
	s.serverNoInterrupt = !serverInterrupts(e.Session)
	s.parts.silence = turnSilence(e.Session)
	if e.Session.Audio != nil && e.Session.Audio.Output != nil { // a SIP session may state no audio
		s.serverVoice = confirmedVoice(e.Session.Audio.Output.Voice)
	}
}

// codeCancelNotActive is the API's answer to a response.cancel that found no
// active response.
const codeCancelNotActive = "response_cancel_not_active"

// codeCannotUpdateVoice is the API's error for a voice change after audio was produced.
const codeCannotUpdateVoice = "cannot_update_voice"
