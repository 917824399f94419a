package session

import (
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// bargeIn handles the caller starting to speak: agent audio queued at Twilio is
// cleared, the response is cancelled if the server will not do it, and each item the
// caller did not hear in full is truncated at what they heard (later queued items at
// 0), so the model's memory matches the call. This runs whether the model is still
// generating or has finished and Twilio is still playing.
func (s *Session) bargeIn() {
	// What the server confirmed, not what the agent asks for: an update not yet
	// confirmed (or refused) has not changed what the server does.
	ev, ok := s.cutOff(s.serverNoInterrupt)
	if !ok || (ev.ResponseID == "" && len(ev.Truncations) == 0) {
		// The caller had heard everything (at most the last mark's echo was still on
		// its way, so a clear went out for safety): nothing was interrupted.
		return
	}
	s.stats.interruptions.Add(1)
	s.emit(ev)
}

// cutOff stops the agent's audio where the caller is: it clears Twilio's queue,
// cancels the active response when cancel is set, and truncates every item the
// caller did not hear in full. It reports false when the call is ending.
func (s *Session) cutOff(cancel bool) (callevent.Interruption, bool) {
	s.mu.Lock()
	activeID, again := "", false
	if s.resp.active {
		activeID = s.resp.activeID
		// Server VAD can report speech twice before the cut-off response is done:
		// one barge-in, so one cancel and one interruption.
		again = s.resp.cutID == activeID
		s.resp.cutID = activeID
	}
	s.mu.Unlock()

	s.cancelPlayout() // the echoes a clear brings do not mean the answer played
	in, err := s.caller.Interrupt(s.ioCtx, activeID)
	if err != nil {
		s.end(callevent.EndCallerDisconnected, err)
		return callevent.Interruption{}, false
	}
	s.playEnd = in.At // nothing is playing any more
	if s.opts.Recorder != nil && in.Pending {
		s.opts.Recorder.Cut(in.At)
	}
	// The event is stamped with the moment the heard audio was measured.
	ev := callevent.Interruption{Header: callevent.Header{Time: in.At, CallSID: s.CallSID()}, ResponseID: activeID, Cleared: in.Pending,
		HeardMs: int(in.HeardBytes / twiliotransport.BytesPerMs)}
	if again {
		ev.ResponseID = "" // already cut off (and cancelled if it had to be)
	}
	if ev.ResponseID != "" && cancel {
		if err := s.model.Send(s.ioCtx, &realtime.ResponseCancel{}); err != nil {
			s.end(callevent.EndModelDisconnected, err)
			return ev, false
		}
		ev.Cancelled = true
	}
	for _, it := range in.Items {
		// An item heard in full needs no correction, unless its response is still
		// generating: the server may hold audio for it that never reached us.
		if it.FullyHeard() && it.ResponseID != activeID {
			continue
		}
		t := callevent.Truncation{ItemID: it.ItemID, AudioEndMs: it.HeardMs(), SentMs: int(it.SentBytes / twiliotransport.BytesPerMs)}
		err := s.model.Send(s.ioCtx, &realtime.ConversationItemTruncate{ItemID: t.ItemID, ContentIndex: 0, AudioEndMs: t.AudioEndMs})
		if err != nil {
			s.end(callevent.EndModelDisconnected, err)
			return ev, false
		}
		ev.Truncations = append(ev.Truncations, t)
		s.markInterrupted(t.ItemID)
	}
	return ev, true
}

// checkGuardrail runs the guardrail over an item's transcript so far: every
// guardrailCheckEvery new characters, and at the end (final). A trip cuts the agent
// off before the rest is heard and asks the model to correct itself.
func (s *Session) checkGuardrail(itemID, delta string, final bool) {
	s.mu.Lock()
	guardrail := s.agent.Guardrail
	s.mu.Unlock()
	if guardrail == nil {
		return
	}
	g := &s.guard
	if g.itemID != itemID {
		*g = guardState{itemID: itemID}
	}
	if g.tripped {
		return
	}
	if final {
		g.text = delta // the done event carries the whole transcript
	} else {
		g.text += delta
		if len(g.text)-g.checked < guardrailCheckEvery {
			return
		}
	}
	g.checked = len(g.text)
	rule, tripped := guardrail(g.text)
	if !tripped {
		return
	}
	g.tripped = true
	in, ok := s.cutOff(true)
	if !ok {
		return
	}
	heard := 0
	for _, t := range in.Truncations {
		if t.ItemID == itemID {
			heard = t.AudioEndMs
		}
	}
	s.emit(callevent.GuardrailTripped{Header: s.hdr(), Rule: rule, ItemID: itemID, Text: g.text, HeardMs: heard})
	msg := "Your last answer broke a rule (" + rule + ") and was cut off. Correct yourself briefly and go on without repeating it."
	if err := s.Instruct(msg); err != nil {
		s.end(callevent.EndModelDisconnected, err)
	}
}

// guardState is the guardrail's view of the agent item being spoken.
type guardState struct {
	itemID  string
	text    string
	checked int
	tripped bool
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
