package session

import (
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

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
