package livebridge

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/realtime"
)

// Defaults of Options.
const (
	DefaultBackendModel = "gpt-5.5"
	DefaultTurnGap      = 400 * time.Millisecond
	DefaultCloseWait    = time.Second
)

// Options configure a Leg.
type Options struct {
	// Dial connects to Live (the API key, base URL, retries).
	Dial live.DialOptions
	// Model is the Live model, gpt-live-* (default live.DefaultModel).
	Model string
	// BackendModel is the Responses model the Live model delegates tasks (and the
	// agent's tools) to (default DefaultBackendModel).
	BackendModel string
	// AcknowledgementDelayMs, when set, is how long the model waits before it
	// acknowledges a delegated task aloud.
	AcknowledgementDelayMs *int
	// TurnGap is how long without output ends a turn of the agent's speech, once
	// the audio sent has played (default DefaultTurnGap).
	TurnGap time.Duration
	// CloseWait bounds how long Close waits for session.closed (the final usage)
	// after session.close before it closes the socket anyway (default
	// DefaultCloseWait).
	CloseWait time.Duration
}

// ErrUnsupported is a Realtime client event the Live engine has no equivalent for.
var ErrUnsupported = errors.New("livebridge: not supported on GPT-Live")

// Leg is a Live connection seen as a session.ModelLeg.
type Leg struct {
	conn  *live.Conn
	opts  Options
	trace atomic.Pointer[realtime.TraceFunc]
	ids   atomic.Uint64

	wake   chan struct{} // an event was queued (capacity 1)
	resume chan struct{} // the audio delta lent to ReadEvent is back (capacity 1)
	done   chan struct{} // Close was called
	exited chan struct{} // the reader returned (closed by it)
	once   sync.Once
	wg     sync.WaitGroup

	sip bool // a SIP call's attach socket (sip.go); set before the reader starts
	// SIP playback (sip.go), under mu: the rate of the output audio, when what was
	// sent so far ends playing, whether output_audio_buffer.started was reported.
	sipRate    int
	sipUntil   time.Time
	sipPlaying bool
	sipTimer   *time.Timer

	mu       sync.Mutex
	started  bool // session.start sent
	closed   bool // Close or CloseNow ran: no reader may start
	reading  bool // the reader was started
	instr    string
	queue    []realtime.ServerEvent
	head     int
	lent     bool
	err      error   // the reader's end, once the queue is drained
	bad      []error // malformed Live events, returned as *realtime.DecodeError in order
	owed     int     // function outputs sent since the last response.create
	audioEv  realtime.ResponseOutputAudioDelta
	timer    *time.Timer
	turns    int
	turn     turnState
	playEnd  time.Time // when the agent audio sent so far ends playing at Twilio
	inItem   string    // the caller transcript item being built
	inText   strings.Builder
	vad      vad
	vadBuf   [512]byte
	said     bool  // speech_started reported for the caller's current speech
	heard    int64 // bytes of caller audio fed to the detector: the audio clock of audio_start_ms/audio_end_ms
	deferred bool  // the caller spoke while the model streamed: the model decides

	usageMu sync.Mutex
	usage   pricing.LegUsage
}

// turnState is the agent's turn of speech being relayed as a response.
type turnState struct {
	open      bool
	respID    string
	itemID    string
	text      strings.Builder
	lastOut   time.Time
	cancelled bool
	audio     bool // SIP: the turn's audio was reported
}

// Dial connects to GPT-Live. The session starts with the first session.update the
// call sends.
func Dial(ctx context.Context, opts Options) (*Leg, error) {
	conn, err := live.Dial(ctx, opts.Dial)
	if err != nil {
		return nil, err
	}
	return New(conn, opts), nil
}

// New wraps a connection whose session has not started.
func New(conn *live.Conn, opts Options) *Leg {
	opts = withDefaults(opts)
	return &Leg{conn: conn, opts: opts, wake: make(chan struct{}, 1), resume: make(chan struct{}, 1),
		done: make(chan struct{}), exited: make(chan struct{}), vad: newVAD(), queue: make([]realtime.ServerEvent, 0, 64)}
}

func withDefaults(opts Options) Options {
	if opts.Model == "" {
		opts.Model = live.DefaultModel
	}
	if opts.BackendModel == "" {
		opts.BackendModel = DefaultBackendModel
	}
	if opts.TurnGap <= 0 {
		opts.TurnGap = DefaultTurnGap
	}
	if opts.CloseWait <= 0 {
		opts.CloseWait = DefaultCloseWait
	}
	return opts
}

// SetTrace installs a frame observer; it sees the Realtime events the session
// exchanges with the leg (not audio).
func (l *Leg) SetTrace(fn realtime.TraceFunc) {
	if fn == nil {
		l.trace.Store(nil)
		return
	}
	l.trace.Store(&fn)
}

func (l *Leg) traced(sent bool, ev realtime.Event) {
	fn := l.trace.Load()
	if fn == nil {
		return
	}
	raw, err := realtime.Marshal(ev)
	if err == nil {
		(*fn)(sent, ev.EventType(), raw)
	}
}

// Usage is the call's usage so far (session.Usage reads it): Live's cumulative
// seconds (session.usage.updated, then session.closed's final figure) and the
// delegated backend's tokens, summed over its completed responses.
func (l *Leg) Usage() pricing.LegUsage {
	l.usageMu.Lock()
	defer l.usageMu.Unlock()
	return l.usage
}

// Close ends the session with session.close, waits at most Options.CloseWait for
// session.closed (its final usage), then closes the connection and joins the
// reader.
func (l *Leg) Close() error {
	l.closing()
	l.mu.Lock()
	running := l.reading && l.err == nil
	l.mu.Unlock()
	if running {
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.CloseWait)
		if l.conn.Send(ctx, &live.SessionClose{}) == nil {
			select {
			case <-l.exited:
			case <-ctx.Done():
			}
		}
		cancel()
	}
	err := l.conn.Close()
	l.stop()
	return err
}

// CloseNow drops the connection and joins the reader.
func (l *Leg) CloseNow() error {
	l.closing()
	err := l.conn.CloseNow()
	l.stop()
	return err
}

func (l *Leg) closing() {
	l.once.Do(func() { close(l.done) })
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// startReader starts the reader unless the leg is closing.
func (l *Leg) startReader() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.reading = true
	l.wg.Add(1)
	go l.readLoop()
}

func (l *Leg) stop() {
	l.wg.Wait()
	l.mu.Lock()
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.sipTimer != nil {
		l.sipTimer.Stop()
	}
	l.mu.Unlock()
}

// ReadEvent returns the next Realtime event. An audio delta is a reused value
// valid until the next call.
func (l *Leg) ReadEvent(ctx context.Context) (realtime.ServerEvent, error) {
	for {
		l.mu.Lock()
		if l.lent {
			l.lent = false
			select {
			case l.resume <- struct{}{}:
			default:
			}
		}
		if len(l.bad) > 0 && l.head == len(l.queue) {
			err := l.bad[0]
			l.bad = l.bad[1:]
			l.mu.Unlock()
			return nil, err
		}
		if l.head < len(l.queue) {
			ev := l.queue[l.head]
			l.queue[l.head] = nil
			l.head++
			if l.head == len(l.queue) {
				l.queue, l.head = l.queue[:0], 0
			}
			if ev == &l.audioEv {
				l.lent = true
			}
			l.mu.Unlock()
			if ev != &l.audioEv {
				l.traced(false, ev)
			}
			return ev, nil
		}
		if err := l.err; err != nil {
			l.mu.Unlock()
			return nil, err
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-ctx.Done():
			_ = l.conn.CloseNow()
			return nil, ctx.Err()
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
}

// push queues an event for ReadEvent. Caller holds l.mu.
func (l *Leg) push(ev realtime.ServerEvent) {
	l.queue = append(l.queue, ev)
}

func (l *Leg) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// readLoop reads Live until the connection ends.
func (l *Leg) readLoop() {
	defer l.wg.Done()
	defer close(l.exited)
	ctx := context.Background()
	for {
		ev, err := l.conn.ReadEvent(ctx)
		if err != nil {
			var de *live.DecodeError
			if errors.As(err, &de) {
				// Skipped and warned about by the session, as a malformed Realtime event is.
				l.mu.Lock()
				l.bad = append(l.bad, &realtime.DecodeError{Type: de.Type, Err: de.Err})
				l.mu.Unlock()
				l.signal()
				continue
			}
			l.fail(err)
			return
		}
		l.mu.Lock()
		audioLent := l.translate(ev)
		l.mu.Unlock()
		l.signal()
		if audioLent {
			select {
			case <-l.resume:
			case <-l.done:
				return
			}
		}
		if closed, ok := ev.(*live.SessionClosed); ok {
			if l.sip {
				l.fail(sipClosed(closed.Reason))
				return
			}
			l.fail(fmt.Errorf("live session closed: %s", closed.Reason))
			return
		}
	}
}

// fail ends the leg: what is queued is read first, then err.
func (l *Leg) fail(err error) {
	l.mu.Lock()
	l.endTurn(false)
	l.flushInput()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	l.signal()
}

// translate turns a Live event into Realtime events; it reports whether the
// reused audio delta was queued. Caller holds l.mu.
func (l *Leg) translate(ev live.ServerEvent) bool {
	now := time.Now()
	switch e := ev.(type) {
	case *live.SessionStarted:
		if l.sip {
			l.sipFormat(&e.Session)
		}
		l.push(&realtime.SessionUpdated{EventID: e.EventID, Session: l.resolved(&e.Session)})
	case *live.SessionUpdated:
		l.push(&realtime.SessionUpdated{EventID: e.EventID, Session: l.resolved(&e.Session)})
	case *live.OutputAudioDelta:
		if l.sip {
			// OpenAI plays it to the caller: only its beginning is reported.
			first := !l.turn.open || !l.turn.audio
			l.openTurn(now)
			if first {
				l.turn.audio = true
				l.push(&realtime.ResponseOutputAudioDelta{ResponseID: l.turn.respID, ItemID: l.turn.itemID})
			}
			l.sipPlayed(now, base64.StdEncoding.DecodedLen(len(e.Delta)))
			return false
		}
		l.openTurn(now)
		l.audioEv = realtime.ResponseOutputAudioDelta{ResponseID: l.turn.respID, ItemID: l.turn.itemID, Delta: realtime.Audio(e.Delta)}
		l.push(&l.audioEv)
		n := base64.StdEncoding.DecodedLen(len(e.Delta))
		if l.playEnd.Before(now) {
			l.playEnd = now
		}
		l.playEnd = l.playEnd.Add(time.Duration(n) * time.Millisecond / 8)
		return true
	case *live.OutputTranscriptDelta:
		l.openTurn(now)
		l.turn.text.WriteString(e.Delta)
		l.push(&realtime.ResponseOutputAudioTranscriptDelta{EventID: e.EventID, ResponseID: l.turn.respID, ItemID: l.turn.itemID, Delta: e.Delta})
	case *live.InputTranscriptDelta:
		if l.inItem == "" {
			l.inItem = "item_live_in_" + l.nextID()
		}
		l.inText.WriteString(e.Delta)
		l.push(&realtime.InputAudioTranscriptionDelta{EventID: e.EventID, ItemID: l.inItem, Delta: e.Delta})
		if !l.said && !l.streaming(now) && l.playEnd.After(now) {
			l.endTurn(false) // the model had stopped: its turn is over
			l.speechStarted()
		}
	case *live.SessionUsageUpdated:
		l.setSeconds(e.Usage.Seconds)
	case *live.ResponseEvent:
		if model, u, ok := e.Completed(); ok {
			l.addBackend(model, u)
			return false
		}
		call, ok := e.FunctionCall()
		if !ok {
			return false
		}
		l.endTurn(false)
		l.flushInput()
		respID := "resp_live_" + l.nextID()
		l.push(&realtime.ResponseCreated{Response: realtime.Response{ID: respID, Object: "realtime.response", Status: realtime.StatusInProgress}})
		item := realtime.Item{ID: call.ID, Type: realtime.ItemFunctionCall, Status: realtime.StatusCompleted, CallID: call.CallID, Name: call.Name, Arguments: call.Arguments}
		l.push(&realtime.ResponseOutputItemDone{EventID: e.EventID, ResponseID: respID, Item: item})
		l.push(&realtime.ResponseDone{Response: realtime.Response{ID: respID, Object: "realtime.response", Status: realtime.StatusCompleted, Output: []realtime.Item{item}}})
	case *live.ErrorEvent:
		id := e.Error.ClientEventID
		if id == "" {
			id = e.ClientEventID
		}
		l.push(&realtime.ErrorEvent{EventID: e.EventID, Error: realtime.ErrorInfo{Type: e.Error.Type, Code: e.Error.Code,
			Message: e.Error.Message, Param: e.Error.Param, EventID: id}})
	case *live.UnknownEvent:
		if l.sip && e.Type == typeLiveDTMF {
			// A key press, as the Realtime sideband reports one (session.SIPCall
			// reads its "event": the digit).
			l.push(&realtime.UnknownEvent{Type: typeDTMF, Raw: e.Raw})
		}
	case *live.SessionClosed:
		l.setSeconds(e.Usage.Seconds)
		l.endTurn(false)
		l.flushInput()
	}
	return false
}

// setSeconds takes Live's cumulative billed seconds (a total: never summed).
func (l *Leg) setSeconds(secs float64) {
	l.usageMu.Lock()
	l.usage.Voice.Seconds = max(l.usage.Voice.Seconds, secs)
	l.usageMu.Unlock()
}

// addBackend adds a completed backend response's tokens: the Responses API's
// input (of which cached) and output tokens are text tokens.
func (l *Leg) addBackend(model string, u live.BackendUsage) {
	if model == "" {
		model = l.opts.BackendModel
	}
	l.usageMu.Lock()
	l.usage.Backend = l.usage.Backend.Add(pricing.Tokens{TextIn: u.InputTokens, CachedTextIn: u.InputTokensDetails.CachedTokens, TextOut: u.OutputTokens})
	l.usage.BackendModel = model
	l.usageMu.Unlock()
}

// resolved is the session Live confirmed, as the session.updated the call expects:
// the audio format both ways, the voice, and turn detection that interrupts by
// itself (the model owns barge-in).
func (l *Leg) resolved(s *live.SessionResource) realtime.SessionConfig {
	format := ""
	if s.Audio != nil && s.Audio.Format != nil {
		format = s.Audio.Format.Type
		if format == live.FormatPCMU && s.Audio.Format.Rate != 8000 {
			format += "@" + strconv.Itoa(s.Audio.Format.Rate)
		}
	}
	var voice realtime.StringOrObject
	if s.Audio != nil && s.Audio.Output != nil && s.Audio.Output.Voice != nil {
		voice = realtimeVoice(*s.Audio.Output.Voice)
	}
	interrupt := true
	silence := vadQuietMs // the bridge's detector: speech_stopped's audio_end_ms includes it
	cfg := realtime.SessionConfig{Type: "realtime", ID: s.ID, Model: s.Model, OutputModalities: []string{"audio"},
		Audio: &realtime.AudioConfig{
			Input: &realtime.AudioInput{Format: &realtime.AudioFormat{Type: format},
				TurnDetection: &realtime.TurnDetection{Type: realtime.ServerVAD, InterruptResponse: &interrupt, SilenceDurationMs: &silence}},
			Output: &realtime.AudioOutput{Format: &realtime.AudioFormat{Type: format}, Voice: voice},
		}}
	if s.Instructions != nil {
		cfg.Instructions = *s.Instructions
	}
	return cfg
}

func (l *Leg) nextID() string { return strconv.FormatUint(l.ids.Add(1), 10) }

// streaming reports whether the model sent output within the turn gap (its turn
// may still be open while the audio it sent plays: see gap). Caller
// holds l.mu.
func (l *Leg) streaming(now time.Time) bool {
	return l.turn.open && now.Sub(l.turn.lastOut) < l.opts.TurnGap
}

// openTurn starts a response for the agent's speech if none is open, and notes the
// output. Caller holds l.mu.
func (l *Leg) openTurn(now time.Time) {
	l.turn.lastOut = now
	if l.timer == nil {
		l.timer = time.AfterFunc(l.opts.TurnGap, l.gap)
	} else {
		l.timer.Reset(l.opts.TurnGap)
	}
	if l.turn.open {
		return
	}
	l.flushInput()
	l.turns++
	n := l.nextID()
	l.turn.open, l.turn.cancelled, l.turn.audio = true, false, false
	l.turn.respID, l.turn.itemID = "resp_live_"+n, "item_live_"+n
	l.turn.text.Reset()
	l.push(&realtime.ResponseCreated{Response: realtime.Response{ID: l.turn.respID, Object: "realtime.response", Status: realtime.StatusInProgress}})
	l.push(&realtime.ResponseOutputItemAdded{ResponseID: l.turn.respID, Item: realtime.Item{ID: l.turn.itemID, Type: realtime.ItemMessage,
		Object: "realtime.item", Status: realtime.StatusInProgress, Role: "assistant"}})
}

// gap runs TurnGap after the last output: the model stopped. The turn is over
// then if the caller is barging in; otherwise once the audio sent so far has
// played too (the timer is set again for then).
//
// Live has no end-of-turn event: a pause in the model's output is the only sign.
// Waiting for the audio to play as well is what makes that sign robust: Live (and
// its twin) send audio at least as fast as it plays, so a stall of the stream (the
// network, a loaded machine) shorter than the audio already queued at Twilio is
// not taken for the end of the answer, and the caller hears one turn as one
// response. A stall longer than that is a pause the caller hears.
func (l *Leg) gap() {
	l.mu.Lock()
	now := time.Now()
	if !l.turn.open || now.Sub(l.turn.lastOut) < l.opts.TurnGap {
		l.mu.Unlock()
		return
	}
	switch {
	case l.deferred && l.vad.speaking && l.playEnd.After(now):
		// The model stopped while the caller speaks: a barge-in it owns; what it had
		// sent may still be playing at Twilio.
		l.speechStarted()
		l.endTurn(true)
	case l.playEnd.After(now):
		// Still playing: the turn ends when it has played, unless output resumes
		// (openTurn resets the timer) or the caller speaks (hear ends it).
		l.deferred = false
		l.timer.Reset(l.playEnd.Sub(now))
		l.mu.Unlock()
		return
	default:
		l.endTurn(false)
	}
	l.deferred = false
	l.mu.Unlock()
	l.signal()
}

// endTurn closes the open turn: transcript done, item done, response.done. Caller
// holds l.mu.
func (l *Leg) endTurn(cancelled bool) {
	if !l.turn.open {
		return
	}
	l.turn.open = false
	cancelled = cancelled || l.turn.cancelled
	text := l.turn.text.String()
	if text != "" {
		l.push(&realtime.ResponseOutputAudioTranscriptDone{ResponseID: l.turn.respID, ItemID: l.turn.itemID, Transcript: text})
	}
	status, itemStatus := realtime.StatusCompleted, realtime.StatusCompleted
	var details *realtime.StatusDetails
	if cancelled {
		status, itemStatus = realtime.StatusCancelled, realtime.StatusIncomplete
		details = &realtime.StatusDetails{Type: realtime.StatusCancelled, Reason: "turn_detected"}
	}
	item := realtime.Item{ID: l.turn.itemID, Type: realtime.ItemMessage, Object: "realtime.item", Status: itemStatus, Role: "assistant",
		Content: []realtime.ContentPart{{Type: "output_audio", Transcript: text}}}
	l.push(&realtime.ResponseOutputItemDone{ResponseID: l.turn.respID, Item: item})
	l.push(&realtime.ResponseDone{Response: realtime.Response{ID: l.turn.respID, Object: "realtime.response", Status: status,
		StatusDetails: details, Output: []realtime.Item{item}}})
}

// flushInput completes the caller transcript item being built. Caller holds l.mu.
func (l *Leg) flushInput() {
	if l.inItem == "" {
		return
	}
	l.push(&realtime.InputAudioTranscriptionCompleted{ItemID: l.inItem, Transcript: l.inText.String()})
	l.inItem = ""
	l.inText.Reset()
}

// speechStarted reports the caller's speech. Caller holds l.mu.
func (l *Leg) speechStarted() {
	l.said = true
	// On the caller's audio clock as the Realtime API reports it, so turn latency's
	// endpointing works on Live too: where the loud run began.
	l.push(&realtime.InputAudioBufferSpeechStarted{ItemID: "item_live_speech_" + l.nextID(),
		AudioStartMs: int(max(l.heard-int64(l.vad.loud), 0) / 8)})
}

// AppendAudio sends caller audio (base64 μ-law) to Live and runs the barge-in
// detector on it. It does not allocate.
func (l *Leg) AppendAudio(ctx context.Context, b64 []byte) error {
	if l.sip {
		return ErrSIPAudio
	}
	l.hear(b64)
	return l.conn.AppendAudio(ctx, b64)
}

func (l *Leg) hear(b64 []byte) {
	l.mu.Lock()
	queued := false
	for len(b64) > 0 {
		n := min(len(b64), len(l.vadBuf)/3*4)
		m, err := base64.StdEncoding.Decode(l.vadBuf[:], b64[:n])
		if err != nil {
			break
		}
		b64 = b64[n:]
		l.heard += int64(m)
		started, stopped := l.vad.feed(l.vadBuf[:m])
		now := time.Now()
		switch {
		case started && l.streaming(now):
			l.deferred = true // the model decides: see gap
		case started:
			l.endTurn(false) // the model had stopped (see gap): its turn is over
			l.speechStarted()
			queued = true
		case stopped:
			l.deferred = false
			if l.said {
				l.said = false
				// The end of the audio heard, its 500 ms of quiet included, as the
				// Realtime API's audio_end_ms includes its silence duration.
				l.push(&realtime.InputAudioBufferSpeechStopped{AudioEndMs: int(l.heard / 8)})
				queued = true
			}
		}
	}
	l.mu.Unlock()
	if queued {
		l.signal()
	}
}

// vad is energy-based voice activity detection on μ-law: speech starts after two
// loud 20 ms frames and stops after 500 ms of quiet (the twin's detector).
type vad struct {
	threshold float64
	loud      int // loud bytes in a row
	quietMs   int
	speaking  bool
}

func newVAD() vad { return vad{threshold: 400} }

// vadQuietMs is the quiet that ends the caller's speech.
const vadQuietMs = 500

func (v *vad) feed(frame []byte) (started, stopped bool) {
	if len(frame) == 0 {
		return false, false
	}
	var sum float64
	for _, b := range frame {
		s := float64(audio.MulawToLinear(b))
		sum += s * s
	}
	if math.Sqrt(sum/float64(len(frame))) > v.threshold {
		v.loud += len(frame)
		v.quietMs = 0
	} else {
		v.loud = 0
		v.quietMs += len(frame) / 8
	}
	switch {
	case !v.speaking && v.loud >= 320:
		v.speaking = true
		return true, false
	case v.speaking && v.quietMs >= vadQuietMs:
		v.speaking = false
		return false, true
	}
	return false, false
}
