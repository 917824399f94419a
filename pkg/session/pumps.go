package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// callerPump reads the caller leg until it ends.
func (s *Session) callerPump() {
	for {
		f, err := s.caller.ReadFrame(s.ioCtx)
		if err != nil {
			var de *twiliotransport.DecodeError
			if errors.As(err, &de) {
				if n, now := s.noteWarning(warnTwilioFrame); n > 0 {
					s.emitWarning(warnTwilioFrame, n, now, fmt.Sprintf("skipped a malformed Twilio frame: %v", err))
				}
				continue
			}
			s.end(callevent.EndCallerDisconnected, err)
			return
		}
		now := s.now()
		s.stats.callerFrame(now)
		switch f := f.(type) {
		case *twiliotransport.Media:
			if f.Media.Track == "outbound" {
				continue // only the caller's own audio goes to the model
			}
			s.stats.callerAudio(f.Size)
			if s.opts.Recorder != nil {
				s.opts.Recorder.CallerAudio(now, int64(f.Media.Timestamp), f.Media.Payload)
			}
			s.callerFrame(f, now)
		case *twiliotransport.DTMF:
			s.touch(s.now())
			s.idlePrompted.Store(false)
			s.emit(callevent.DTMF{Header: s.hdr(), Digit: f.DTMF.Digit})
			if !s.queueDigit(f.DTMF.Digit) {
				if n, now := s.noteWarning(warnDTMF); n > 0 {
					s.emitWarning(warnDTMF, n, now, fmt.Sprintf("dropped DTMF digit %q: too many queued", f.DTMF.Digit))
				}
			}
		case *twiliotransport.Mark:
			s.markEchoed(f.Mark.Name, now)
		case *twiliotransport.Stop:
			s.end(callevent.EndCallerHangup, nil)
			return
		}
	}
}

// relayCallerAudio passes a caller frame to the model, or queues it while the model
// connects. This is the caller→model hot path: one atomic load and one write.
func (s *Session) relayCallerAudio(payload []byte) {
	if !s.ready.Load() && s.input.pushAudio(payload) {
		return
	}
	// Ready, or the queue opened while we looked: the model task has delivered
	// everything queued, and set s.model before that.
	if err := s.model.AppendAudio(s.ioCtx, payload); err != nil {
		s.end(callevent.EndModelDisconnected, err)
	}
}

// modelTask dials the model, configures it, delivers queued caller input, then runs
// the model pump.
func (s *Session) modelTask() {
	// The pump runs below a small frame, not below connectModel's: its goroutine,
	// parked in a read most of the call, then needs little enough stack for the
	// garbage collector to shrink it (8 KiB a call instead of 16).
	if leg := s.connectModel(); leg != nil {
		s.modelPump(leg)
	}
}

// connectModel dials the model, configures it, delivers queued caller input and asks
// for the greeting. It returns the leg, or nil when the call ended.
func (s *Session) connectModel() ModelLeg {
	t0 := s.now()
	leg, err := s.opts.Dial(s.workCtx)
	if err != nil {
		s.end(callevent.EndModelDialFailed, err)
		return nil
	}
	s.mu.Lock()
	if s.ending {
		s.mu.Unlock()
		_ = leg.CloseNow()
		return nil
	}
	s.model = leg
	cfg, version := s.update(&s.agent), s.agentVersion
	s.mu.Unlock()
	if s.opts.Debug {
		leg.SetTrace(s.traceRealtime)
	}
	if err := leg.Send(s.ioCtx, &realtime.SessionUpdate{Session: cfg}); err != nil {
		s.end(callevent.EndModelDisconnected, err)
		return nil
	}
	if err := s.flushQueued(leg); err != nil {
		s.end(callevent.EndModelDisconnected, err)
		return nil
	}
	buffered, dropped := s.input.counts()
	s.mu.Lock()
	changed := s.agentVersion != version
	if changed {
		cfg = s.update(&s.agent)
	}
	s.mu.Unlock()
	if changed { // SetAgent ran while we connected and could not send it
		if err := leg.Send(s.ioCtx, &realtime.SessionUpdate{Session: cfg}); err != nil {
			s.end(callevent.EndModelDisconnected, err)
			return nil
		}
	}
	s.emit(callevent.ModelConnected{Header: s.hdr(), DialTime: s.now().Sub(t0), BufferedFrames: buffered, DroppedFrames: dropped})
	if dropped > 0 {
		s.warn("the model took long to connect: %d caller frames did not fit the %s buffer", dropped, s.opts.MaxBufferedAudio)
	}
	if s.opts.Greeting != "" {
		if err := s.greet(leg); err != nil {
			s.end(callevent.EndModelDisconnected, err)
			return nil
		}
	}
	return leg
}

// flushQueued sends the caller input that arrived before the model was ready, in
// order, and then lets the caller pump and the DTMF collector write directly.
func (s *Session) flushQueued(leg ModelLeg) error {
	for {
		batch := s.input.take()
		if len(batch) == 0 { // the queue is open
			s.ready.Store(true)
			return nil
		}
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
				if n, now := s.noteWarning(warnModelEvent); n > 0 {
					s.emitWarning(warnModelEvent, n, now, fmt.Sprintf("skipped a malformed model event: %v", err))
				}
				continue
			}
			s.end(callevent.EndModelDisconnected, err)
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
		s.clock.speaking.Store(true)
		s.touch(s.now())
		s.idlePrompted.Store(false)
		s.emit(callevent.SpeechStarted{Header: s.hdr(), ItemID: e.ItemID, AudioStartMs: e.AudioStartMs})
		s.bargeIn()
	case *realtime.InputAudioBufferSpeechStopped:
		s.clock.speaking.Store(false)
		s.speechStoppedAt, s.awaitingAudio = s.now(), true
		s.waitedAtStop = s.human.at(s.speechStoppedAt)
		s.noteSpeechStopped(s.speechStoppedAt, e.AudioEndMs)
		s.touch(s.speechStoppedAt)
		s.emit(callevent.SpeechStopped{Header: s.hdr(), ItemID: e.ItemID, AudioEndMs: e.AudioEndMs})
	case *realtime.InputAudioTranscriptionDelta:
		s.emit(callevent.CallerTranscriptDelta{Header: s.hdr(), ItemID: e.ItemID, Delta: e.Delta})
	case *realtime.InputAudioTranscriptionCompleted:
		s.emit(callevent.CallerTranscript{Header: s.hdr(), ItemID: e.ItemID, Text: e.Transcript})
		s.transcriptionUsage(e.Usage)
	case *realtime.InputAudioTranscriptionFailed:
		s.warn("caller speech could not be transcribed: %s", e.Error.Message)
	case *realtime.ResponseOutputAudioTranscriptDelta:
		s.emit(callevent.AgentTranscriptDelta{Header: s.hdr(), ResponseID: e.ResponseID, ItemID: e.ItemID, Delta: e.Delta})
		s.checkGuardrail(e.ItemID, e.Delta, false)
	case *realtime.ResponseOutputAudioTranscriptDone:
		s.checkGuardrail(e.ItemID, e.Transcript, true)
		s.emit(callevent.AgentTranscript{Header: s.hdr(), ResponseID: e.ResponseID, ItemID: e.ItemID, Text: e.Transcript, Interrupted: s.wasInterrupted(e.ItemID)})
	case *realtime.ResponseOutputTextDelta:
		s.emit(callevent.AgentTranscriptDelta{Header: s.hdr(), ResponseID: e.ResponseID, ItemID: e.ItemID, Delta: e.Delta})
	case *realtime.ResponseOutputTextDone:
		s.emit(callevent.AgentTranscript{Header: s.hdr(), ResponseID: e.ResponseID, ItemID: e.ItemID, Text: e.Text})
	case *realtime.ResponseCreated:
		s.mu.Lock()
		s.resp.active, s.resp.activeID, s.resp.requested = true, e.Response.ID, false
		s.respChange()
		s.mu.Unlock()
		s.noteResponseCreated()
	case *realtime.ResponseOutputAudioDone:
		s.endAgentAudio()
	case *realtime.ResponseDone:
		s.endAgentAudio() // a response cut short may have no output_audio.done
		s.responseDone(e)
	case *realtime.ResponseOutputItemDone:
		s.outputItemDone(e)
	case *realtime.ErrorEvent:
		s.modelError(e)
	case *realtime.SessionCreated:
		if a := e.Session.Audio; a != nil && a.Input != nil {
			s.serverNoInterrupt = !serverInterrupts(e.Session)
			s.parts.silence = turnSilence(e.Session)
		}
		if a := e.Session.Audio; a != nil && a.Output != nil {
			s.serverVoice = confirmedVoice(a.Output.Voice)
		}
	case *realtime.SessionUpdated:
		s.sessionUpdated(e)
	case *realtime.MCPCallStatus:
		s.emit(callevent.MCPEvent{Header: s.hdr(), Type: e.Type, ItemID: e.ItemID})
	case *realtime.MCPListToolsStatus:
		s.emit(callevent.MCPEvent{Header: s.hdr(), Type: e.Type, ItemID: e.ItemID})
	}
}

// relayAgentAudio passes a chunk of agent audio to Twilio. This is the model→caller
// hot path: the delta's base64 goes into a media frame as it is.
func (s *Session) relayAgentAudio(e *realtime.ResponseOutputAudioDelta) {
	var received time.Time
	if s.awaitingAudio { // the turn's answer may start here: p3 of its latency
		received = s.now()
	}
	if !s.produced {
		// The model has produced audio: from now on its voice cannot change.
		s.produced = true
		s.mu.Lock()
		s.spoke = true
		s.mu.Unlock()
	}
	n, sent, err := s.caller.SendAudio(s.ioCtx, e.ResponseID, e.ItemID, e.Delta)
	if err != nil {
		if errors.Is(err, twiliotransport.ErrBadPayload) {
			if n, now := s.noteWarning(warnAgentAudio); n > 0 {
				s.emitWarning(warnAgentAudio, n, now, fmt.Sprintf("skipped agent audio that is not base64 (item %s)", e.ItemID))
			}
			return
		}
		s.end(callevent.EndCallerDisconnected, err)
		return
	}
	if !sent {
		return // a late delta of an interrupted response
	}
	if s.opts.Recorder != nil {
		s.opts.Recorder.AgentAudio(s.now(), e.Delta)
	}
	s.stats.agentAudio(n)
	if now := s.now(); s.playEnd.Before(now) {
		s.playEnd = now
	}
	s.playEnd = s.playEnd.Add(time.Duration(n) * time.Millisecond / twiliotransport.BytesPerMs)
	s.touch(s.playEnd)
	if !s.answered[e.ResponseID] {
		s.answered[e.ResponseID] = true
		if s.awaitingAudio {
			s.awaitingAudio = false
			// A turn is an answer of the agent to the caller (the greeting and
			// a second response after a tool are not): what simulate's min_turns,
			// the summary, dev's end line and the logs' TURNS column all count.
			s.stats.turns.Add(1)
			// From the end of the caller's speech to the answer's first audio, less
			// the time a person took to approve a tool meanwhile, and its parts.
			s.emit(s.turnLatency(e.ResponseID, e.ItemID, int64(n), received, s.now()))
		}
	}
}

// endAgentAudio marks the end of a run of agent audio, so that Twilio confirms when
// its last chunk has played (marks otherwise follow only every 100 ms of audio).
func (s *Session) endAgentAudio() {
	if err := s.caller.EndAudio(s.ioCtx); err != nil {
		s.end(callevent.EndCallerDisconnected, err)
	}
}

// greet makes the agent speak first: a response whose instructions are the agent's
// own followed by the greeting (response instructions replace the session's for that
// response only).
func (s *Session) greet(leg ModelLeg) error {
	s.mu.Lock()
	instructions := s.agent.Instructions
	if s.resp.active || s.resp.requested {
		s.mu.Unlock()
		return nil // the caller spoke first: the model is already answering
	}
	s.resp.requested, s.resp.requestedAt = true, s.now()
	s.mu.Unlock()
	if instructions != "" {
		instructions += "\n\n"
	}
	return leg.Send(s.ioCtx, &realtime.ResponseCreate{Response: &realtime.ResponseParams{
		Instructions: instructions + "Start the call now. " + s.opts.Greeting,
	}})
}
