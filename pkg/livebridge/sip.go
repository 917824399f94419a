package livebridge

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/realtime"
)

// A GPT-Live SIP call (issue 19) is one OpenAI answers itself: the trunk carries
// the audio to Live and back, callagent accepts the call with the session
// (AcceptSession) and runs it over the session's attach socket (Attach), a leg in
// SIP mode:
//
//   - the session has started with the accept: no session.start is sent (the
//     attach socket refuses one), and a later session.update (a handoff) is
//     translated as on a Media Streams call;
//   - no audio is relayed either way: AppendAudio refuses, and the audio the
//     attach socket reflects (the caller's as session.input_audio.append, 24 kHz
//     PCM16, and the model's session.output_audio.delta) is not passed on. The
//     first output delta of a turn is reported as an empty
//     response.output_audio.delta (the answer's audio has begun: the session counts
//     the turn and its latency there);
//   - the agent's audio has played (hang_up and transfer wait for it) when as
//     much time as its audio lasts has passed since it began (nothing on the attach
//     socket reports playback): the leg reports output_audio_buffer.started at the
//     first output delta and output_audio_buffer.stopped when the audio sent so far
//     has lasted, at the rate session.started states (24 kHz PCM16 when it states
//     none, the attach socket's reflected audio's);
//   - the caller's key presses (transport.dtmf.received) are reported as the
//     Realtime sideband's input_audio_buffer.dtmf_event_received;
//   - barge-in is OpenAI's: the leg runs no detector and never reports
//     speech_started, so the session neither clears nor truncates anything;
//   - nothing cuts off the audio OpenAI plays to the caller: the attach socket
//     takes no response.cancel and no output_audio_buffer.clear (its client
//     events: openai resources/live/sideband ConnectClientEvent), so the
//     output_audio_buffer.clear the session sends at a guardrail trip is accepted
//     and dropped, and the answer plays out to its end;
//   - session.closed ends the leg as the call's end: close_requested (our hang-up)
//     and remote_hangup (the caller's, or a transfer) as a normal close, which the
//     SIP caller leg (session.SIPCall) reads as the call being over.

// SIPAccept is the session a GPT-Live SIP call is accepted with: the body's
// "session" of POST /live/sessions/{id}/accept (openai resources/live/sessions.d.ts:
// type "live", model, instructions, audio.output.voice, delegation; no
// audio.format, which SIP negotiates).
type SIPAccept struct {
	Type string `json:"type"` // "live"
	live.SessionConfig
}

// AcceptSession is the Live session for the agent's session cfg (what its first
// session.update states; session.Session.SIPSession): the same translation as a
// Media Streams call's session.start, without the audio format. cfg.Model, when a
// gpt-live-* model, overrides opts.Model.
func AcceptSession(cfg realtime.SessionConfig, opts Options) (SIPAccept, error) {
	opts = withDefaults(opts)
	if cfg.Model != "" {
		opts.Model = cfg.Model
	}
	sc, err := startConfig(&cfg, opts)
	if err != nil {
		return SIPAccept{}, err
	}
	return SIPAccept{Type: "live", SessionConfig: sc}, nil
}

// Attach opens the attach socket of the accepted SIP call sessionID (its
// session_id) and returns it as a leg in SIP mode. accepted is the agent's
// session the call was accepted with (its instructions: the greeting's
// response.create is told as what follows them).
func Attach(ctx context.Context, opts Options, sessionID string, accepted realtime.SessionConfig) (*Leg, error) {
	opts.Dial.AttachSessionID = sessionID
	conn, err := live.Dial(ctx, opts.Dial)
	if err != nil {
		return nil, err
	}
	if accepted.Model != "" {
		opts.Model = accepted.Model
	}
	l := New(conn, opts)
	l.sip = true
	l.started, l.instr = true, accepted.Instructions
	l.startReader()
	return l, nil
}

// ErrSIPAudio is AppendAudio on a SIP leg: the audio never crosses callagent.
var ErrSIPAudio = errors.New("livebridge: a SIP call carries no audio through callagent")

// sipClosed is the error that ends a SIP leg at session.closed: the call is over.
func sipClosed(reason string) error {
	switch reason {
	case live.ClosedRequested, live.ClosedRemoteHangup:
		return &realtime.CloseError{Code: 1000, Reason: "live session closed: " + reason}
	}
	return &realtime.CloseError{Code: 1011, Reason: "live session closed: " + reason}
}

// IsModel reports whether model is a GPT-Live model (gpt-live-*), whose calls run
// through this package.
func IsModel(model string) bool { return strings.HasPrefix(model, "gpt-live-") }

// sipFormat takes the output audio's rate in bytes per millisecond from the
// session. Caller holds l.mu.
func (l *Leg) sipFormat(s *live.SessionResource) {
	l.sipRate = 48 // 24 kHz PCM16
	if s.Audio == nil || s.Audio.Format == nil || s.Audio.Format.Rate <= 0 {
		return
	}
	switch f := s.Audio.Format; f.Type {
	case live.FormatPCM:
		l.sipRate = f.Rate * 2 / 1000
	case live.FormatPCMU, live.FormatPCMA:
		l.sipRate = f.Rate / 1000
	}
}

// sipPlayed notes n bytes of output audio played to the caller from now on, and
// reports output_audio_buffer.started when none was playing. Caller holds l.mu.
func (l *Leg) sipPlayed(now time.Time, n int) {
	rate := l.sipRate
	if rate <= 0 {
		rate = 48 // no session.started yet: the attach socket's 24 kHz PCM16
	}
	if l.sipUntil.Before(now) {
		l.sipUntil = now
	}
	l.sipUntil = l.sipUntil.Add(time.Duration(n) * time.Millisecond / time.Duration(rate))
	if !l.sipPlaying {
		l.sipPlaying = true
		l.push(&realtime.UnknownEvent{Type: typeOutputStarted, Raw: json.RawMessage(`{"type":"` + typeOutputStarted + `"}`)})
	}
	if l.sipTimer == nil {
		l.sipTimer = time.AfterFunc(l.sipUntil.Sub(now), l.sipDrained)
	} else {
		l.sipTimer.Reset(l.sipUntil.Sub(now))
	}
}

// sipDrained reports output_audio_buffer.stopped once the audio sent has played.
func (l *Leg) sipDrained() {
	l.mu.Lock()
	now := time.Now()
	if !l.sipPlaying || l.closed {
		l.mu.Unlock()
		return
	}
	if now.Before(l.sipUntil) {
		l.sipTimer.Reset(l.sipUntil.Sub(now))
		l.mu.Unlock()
		return
	}
	l.sipPlaying = false
	l.push(&realtime.UnknownEvent{Type: typeOutputStopped, Raw: json.RawMessage(`{"type":"` + typeOutputStopped + `"}`)})
	l.mu.Unlock()
	l.signal()
}

// The Realtime sideband's playback and key press events (session.SIPCall reads
// them), and Live's key press on the attach socket ({"type":
// "transport.dtmf.received", "event": digit}: delivered only to sideband
// observers).
const (
	typeDTMF          = "input_audio_buffer.dtmf_event_received"
	typeLiveDTMF      = "transport.dtmf.received"
	typeOutputStarted = "output_audio_buffer.started"
	typeOutputStopped = "output_audio_buffer.stopped"
)
