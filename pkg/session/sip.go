package session

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"sync"
	"time"

	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// A SIP call (issue 19) is one OpenAI answers itself: the phone's audio goes
// between the SIP trunk and OpenAI and never reaches callagent, which accepts the
// call with the session and then watches and steers it over the sideband
// WebSocket (the call's model leg). The session runs it with the same machinery
// as a Media Streams call (tools, approvals, guardrails, greeting, handoffs,
// limits, usage) through SIPCall, a caller leg with no audio:
//
//   - nothing is relayed: no caller frames, no marks, no clear, no truncation
//     (OpenAI plays the audio and truncates what the caller did not hear itself);
//   - the caller's speech is known from the sideband's speech and transcription
//     events; the agent's audio from its transcript (the sideband carries the
//     audio deltas only if the API sends them: either way the first transcript
//     delta of an answer stands for its first audio, so turns and their latency
//     are counted as on a Media Streams call, to the sideband's event rather than
//     to a frame written to Twilio);
//   - DTMF arrives on the sideband (input_audio_buffer.dtmf_event_received, SIP
//     only) and becomes the caller leg's dtmf frames, so digits reach the model
//     as they do from Twilio;
//   - the agent's audio has played when the sideband reports
//     output_audio_buffer.stopped (hang_up and transfer wait for it);
//   - OpenAI holds the audio not yet played (its output audio buffer): a
//     cut-off of ours (a guardrail trip, a barge-in the server does not
//     interrupt) sends output_audio_buffer.clear while it plays, after the
//     response.cancel when one goes (the API's order: cancel the generation,
//     then drop what it buffered), so the caller does not hear the rest;
//   - the call ends when the sideband closes (closed normally: the caller hung up)
//     or callagent hangs it up.
//
// The session's first session.update is not sent: the accept stated the same
// session (Session.SIPSession). Later updates (handoffs) are sent without audio
// formats, which the SIP trunk negotiated.

// SIPCall is the caller leg of a SIP call. Make it with NewSIPCall, give it to
// Options.Caller, and wrap the sideband's dialer with Dial.
type SIPCall struct {
	start  twiliotransport.Start
	frames chan twiliotransport.Frame // dtmf, and the stop when the sideband closed
	closed chan struct{}
	once   sync.Once
	stop   sync.Once

	mu           sync.Mutex
	playing      bool          // output_audio_buffer.started, not yet stopped or cleared
	played       chan struct{} // closed and replaced when playing turns false
	ending       bool          // a hang-up or transfer of ours is under way (Session.EndingByRequest)
	model        *sipModel     // the sideband (set by Dial): where output_audio_buffer.clear goes
	clear        bool          // a cut-off waits for its response.cancel to clear the audio
	bargeIn      bool          // the event the session handles is speech_started
	serverClears bool          // the session's turn detection interrupts: OpenAI clears on barge-in
}

// NewSIPCall returns the caller leg of the SIP call id (the OpenAI call id, which
// the session and its events use as the call's SID), from and to as the caller's
// SIP headers gave them, params the call's other facts ({{call.param.NAME}}).
func NewSIPCall(id, from, to string, params map[string]string) *SIPCall {
	p := maps.Clone(params)
	if p == nil {
		p = map[string]string{}
	}
	p["From"], p["To"] = from, to
	return &SIPCall{
		start:  twiliotransport.Start{Start: twiliotransport.StartInfo{CallSid: id, CustomParameters: p}},
		frames: make(chan twiliotransport.Frame, 64),
		closed: make(chan struct{}),
		played: make(chan struct{}),
	}
}

// Start is the call's facts in the shape of a stream's start.
func (c *SIPCall) Start() twiliotransport.Start { return c.start }

// ReadFrame returns the caller's key presses and, once the sideband has closed, a
// stop; after Close, net.ErrClosed.
func (c *SIPCall) ReadFrame(ctx context.Context) (twiliotransport.Frame, error) {
	select {
	case f := <-c.frames:
		return f, nil
	case <-c.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// SendAudio counts the audio the sideband reported (none when it carries no
// deltas): OpenAI plays it, not callagent.
func (c *SIPCall) SendAudio(_ context.Context, _, _ string, payload []byte) (int, bool, error) {
	return base64.StdEncoding.DecodedLen(len(payload)), true, nil
}

// EndAudio does nothing: there is no playback to confirm.
func (c *SIPCall) EndAudio(context.Context) error { return nil }

// Interrupt reports nothing to truncate: OpenAI truncates the item at what was
// played. Audio OpenAI still plays is cleared (output_audio_buffer.clear): at
// once when no response is generating (responseID ""), else right after the
// session's response.cancel (sipModel.Send), which the API wants first. A
// barge-in the server interrupts is the server's to clear (it does, and says
// output_audio_buffer.cleared): none is sent for it.
func (c *SIPCall) Interrupt(ctx context.Context, responseID string) (twiliotransport.Interruption, error) {
	in := twiliotransport.Interruption{At: time.Now()}
	c.mu.Lock()
	now := c.playing && responseID == "" && c.model != nil && !(c.bargeIn && c.serverClears)
	c.clear = c.playing && responseID != ""
	model := c.model
	c.mu.Unlock()
	if now {
		return in, model.Send(ctx, &realtime.OutputAudioBufferClear{})
	}
	return in, nil
}

// takeClear reports whether a cut-off waits for its clear, and forgets it.
func (c *SIPCall) takeClear() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.clear && c.playing
	c.clear = false
	return w
}

// WaitPlayed waits until OpenAI reports its output audio buffer drained (at once
// when it reported no audio playing).
func (c *SIPCall) WaitPlayed(ctx context.Context) error {
	c.mu.Lock()
	playing, ch := c.playing, c.played
	c.mu.Unlock()
	if !playing {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-c.closed:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetTrace does nothing: no frames cross this leg.
func (c *SIPCall) SetTrace(twiliotransport.TraceFunc) {}

// Close ends the leg (the call itself is hung up through the call-control API).
func (c *SIPCall) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// CloseNow is Close.
func (c *SIPCall) CloseNow() error { return c.Close() }

func (c *SIPCall) setPlaying(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.playing && !on {
		close(c.played)
		c.played = make(chan struct{})
		c.clear = false // nothing left to clear
	}
	c.playing = on
}

// push queues a frame for the caller pump; a full queue drops key presses (64
// waiting is a stuck pump), never the stop.
func (c *SIPCall) push(f twiliotransport.Frame) {
	select {
	case c.frames <- f:
	default:
	}
}

// endingGrace is how long a sideband closed while a hang-up or transfer of ours is
// under way waits for the tool to end the call with its own reason.
const endingGrace = 5 * time.Second

// hangup tells the caller pump the call is over (the sideband closed normally).
// When a hang-up or transfer of ours closed it, the tool ends the call with its
// reason (agent_hangup, transferred) as soon as its request returns: that is
// waited for, bounded, so the call is not taken for the caller's hang-up.
func (c *SIPCall) hangup() {
	c.mu.Lock()
	ending := c.ending
	c.mu.Unlock()
	if ending {
		t := time.NewTimer(endingGrace)
		defer t.Stop()
		select {
		case <-c.closed:
			return
		case <-t.C:
		}
	}
	c.stop.Do(func() {
		select {
		case c.frames <- &twiliotransport.Stop{}:
		case <-c.closed:
		}
	})
}

// Dial wraps the sideband's dialer: the leg it returns is the call's model leg.
func (c *SIPCall) Dial(d ModelDialer) ModelDialer {
	return func(ctx context.Context) (ModelLeg, error) {
		leg, err := d(ctx)
		if err != nil {
			return nil, err
		}
		m := &sipModel{ModelLeg: leg, call: c, audio: map[string]bool{}, readEnd: make(chan struct{})}
		c.mu.Lock()
		c.model = m
		c.mu.Unlock()
		if ul, ok := leg.(UsageLeg); ok {
			return &sipUsageModel{sipModel: m, usage: ul}, nil // GPT-Live's attach socket counts its own usage
		}
		return m, nil
	}
}

// sipUsageModel is the sideband of a leg that counts its own usage (GPT-Live).
type sipUsageModel struct {
	*sipModel
	usage UsageLeg
}

// Usage is the leg's.
func (m *sipUsageModel) Usage() pricing.LegUsage { return m.usage.Usage() }

// Sideband events the realtime package does not type (SIP and WebRTC only).
const (
	typeDTMF          = "input_audio_buffer.dtmf_event_received"
	typeOutputStarted = "output_audio_buffer.started"
	typeOutputStopped = "output_audio_buffer.stopped"
	typeOutputCleared = "output_audio_buffer.cleared"
)

// sipModel is the sideband as the session's model leg.
type sipModel struct {
	ModelLeg
	call    *SIPCall
	updated bool                 // the first session.update was dropped
	pending realtime.ServerEvent // returned by the next ReadEvent
	audio   map[string]bool      // items whose audio (real or stood for) the session has seen

	readEnd   chan struct{} // closed when the sideband's reading ended
	endOnce   sync.Once
	normalEnd bool // set before readEnd is closed: the sideband was closed normally (the call ended)
}

// sendCloseWait bounds how long a failed send waits to learn whether the sideband
// was closed normally at the same moment (the caller hung up while we wrote).
const sendCloseWait = time.Second

// ReadEvent returns the sideband's next event for the session. When the sideband
// closes normally (the call ended) the caller leg reports a hang-up and this waits
// for the session to close it, so the call ends as the caller's. What the session
// is about to handle tells the caller leg whether a cut-off is a barge-in the
// server clears itself (Interrupt).
func (m *sipModel) ReadEvent(ctx context.Context) (realtime.ServerEvent, error) {
	ev, err := m.readEvent(ctx)
	c := m.call
	c.mu.Lock()
	_, c.bargeIn = ev.(*realtime.InputAudioBufferSpeechStarted)
	switch e := ev.(type) {
	case *realtime.SessionCreated:
		if a := e.Session.Audio; a != nil && a.Input != nil {
			c.serverClears = serverInterrupts(e.Session)
		}
	case *realtime.SessionUpdated:
		c.serverClears = serverInterrupts(e.Session)
	}
	c.mu.Unlock()
	return ev, err
}

func (m *sipModel) readEvent(ctx context.Context) (realtime.ServerEvent, error) {
	if ev := m.pending; ev != nil {
		m.pending = nil
		return ev, nil
	}
	for {
		ev, err := m.ModelLeg.ReadEvent(ctx)
		if err != nil {
			var ce *realtime.CloseError
			normal := errors.As(err, &ce) && ce.Normal()
			m.endOnce.Do(func() {
				m.normalEnd = normal
				close(m.readEnd)
			})
			if normal {
				m.call.hangup()
				<-m.call.closed
			}
			return nil, err
		}
		switch e := ev.(type) {
		case *realtime.UnknownEvent:
			switch e.Type {
			case typeDTMF:
				var d struct {
					Event string `json:"event"`
				}
				if json.Unmarshal(e.Raw, &d) == nil && d.Event != "" {
					m.call.push(&twiliotransport.DTMF{DTMF: twiliotransport.DTMFInfo{Digit: d.Event}})
				}
				continue
			case typeOutputStarted:
				m.call.setPlaying(true)
				continue
			case typeOutputStopped, typeOutputCleared:
				m.call.setPlaying(false)
				continue
			}
		case *realtime.ResponseOutputAudioDelta:
			m.audio[e.ItemID] = true
		case *realtime.ResponseOutputAudioTranscriptDelta:
			if !m.audio[e.ItemID] {
				// The answer's audio has begun: the session counts the turn here.
				m.audio[e.ItemID] = true
				m.pending = e
				return &realtime.ResponseOutputAudioDelta{ResponseID: e.ResponseID, ItemID: e.ItemID}, nil
			}
		case *realtime.ResponseOutputAudioTranscriptDone:
			if !m.audio[e.ItemID] { // a transcript that came whole
				m.audio[e.ItemID] = true
				m.pending = e
				return &realtime.ResponseOutputAudioDelta{ResponseID: e.ResponseID, ItemID: e.ItemID}, nil
			}
		case *realtime.ResponseDone:
			for _, it := range e.Response.Output {
				delete(m.audio, it.ID)
			}
		}
		return ev, nil
	}
}

// Send drops the first session.update (the accept stated it) and sends the
// others without audio formats.
func (m *sipModel) Send(ctx context.Context, ev realtime.ClientEvent) error {
	if u, ok := ev.(*realtime.SessionUpdate); ok {
		if !m.updated {
			m.updated = true
			return nil
		}
		u2 := *u
		u2.Session = withoutFormats(u.Session)
		ev = &u2
	}
	err := m.ModelLeg.Send(ctx, ev)
	if _, cancel := ev.(*realtime.ResponseCancel); cancel && err == nil && m.call.takeClear() {
		err = m.ModelLeg.Send(ctx, &realtime.OutputAudioBufferClear{})
	}
	if err != nil && m.endedNormally() {
		return nil // the call ended (the caller hung up) as we wrote: the hang-up ends it, not this
	}
	return err
}

// endedNormally waits, bounded, for the sideband's reading to end and reports
// whether the sideband was closed normally.
func (m *sipModel) endedNormally() bool {
	t := time.NewTimer(sendCloseWait)
	defer t.Stop()
	select {
	case <-m.readEnd:
		return m.normalEnd
	case <-t.C:
		return false
	}
}

// AppendAudio refuses: no audio crosses callagent on a SIP call.
func (m *sipModel) AppendAudio(context.Context, []byte) error {
	return errors.New("session: a SIP call carries no audio through callagent")
}

// withoutFormats is cfg without audio formats (a copy: cfg is not changed).
func withoutFormats(cfg realtime.SessionConfig) realtime.SessionConfig {
	if cfg.Audio == nil {
		return cfg
	}
	a := *cfg.Audio
	if a.Input != nil {
		in := *a.Input
		in.Format = nil
		a.Input = &in
	}
	if a.Output != nil {
		out := *a.Output
		out.Format = nil
		a.Output = &out
	}
	cfg.Audio = &a
	return cfg
}

// acceptConfig is the first session as the accept states it: without audio formats,
// and without the nulls that turn transcription and noise reduction off — a new
// session starts with both off, and the accept's published type (CallAcceptParams in
// the openai package) does not allow null there, unlike session.update's docs. A null
// turn_detection stays: the default is server VAD.
func acceptConfig(cfg realtime.SessionConfig) realtime.SessionConfig {
	cfg = withoutFormats(cfg) // a copy of Audio and Input
	if cfg.Audio != nil && cfg.Audio.Input != nil {
		cfg.Audio.Input.Off &^= realtime.OffTranscription | realtime.OffNoiseReduction
	}
	return cfg
}

// EndingByRequest says a request of ours that ends the call (a hang-up or a
// transfer through the call-control API) is about to be sent (on true), or failed
// (false): on a SIP call the sideband closes as it does when the caller hangs up,
// and the call must end with the request's reason instead. A no-op on other calls.
func (s *Session) EndingByRequest(on bool) {
	if c, ok := s.caller.(*SIPCall); ok {
		c.mu.Lock()
		c.ending = on
		c.mu.Unlock()
	}
}

// SIPSession is the session a SIP call is accepted with: what the first
// session.update would state (the agent's instructions, voice, tools, turn
// detection, transcription, prompt, tracing), with the model and without audio
// formats, which the SIP trunk negotiates. Call it once, before Run.
func (s *Session) SIPSession() realtime.SessionConfig {
	s.mu.Lock()
	cfg := s.update(&s.agent)
	s.mu.Unlock()
	cfg = acceptConfig(cfg)
	cfg.Model = s.opts.Model
	return cfg
}
