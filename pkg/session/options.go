package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// CallerLeg is the caller side of a call, as the session needs it.
// *twiliotransport.Stream implements it.
type CallerLeg interface {
	// Start returns the stream's start message (call and stream SIDs, parameters).
	Start() twiliotransport.Start
	// ReadFrame returns the next frame from the caller; *twiliotransport.DecodeError
	// is a skipped frame, any other error the end of the leg.
	ReadFrame(ctx context.Context) (twiliotransport.Frame, error)
	// SendAudio plays a chunk of agent audio (base64) and returns the number of bytes
	// it decodes to; sent false means it was refused as a late delta of an
	// interrupted response.
	SendAudio(ctx context.Context, responseID, itemID string, payload []byte) (n int, sent bool, err error)
	// EndAudio follows the last chunk of an item's or a response's audio: the stream
	// confirms playback only every so much audio, and at the end of a run.
	EndAudio(ctx context.Context) error
	// Interrupt stops agent audio and reports what the caller heard; responseID is the
	// response in progress, whose further audio must be refused.
	Interrupt(ctx context.Context, responseID string) (twiliotransport.Interruption, error)
	// WaitPlayed waits until all agent audio sent has been confirmed played.
	WaitPlayed(ctx context.Context) error
	SetTrace(twiliotransport.TraceFunc)
	Close() error
	CloseNow() error
}

// ModelLeg is the model side of a call. *realtime.Conn implements it.
type ModelLeg interface {
	// ReadEvent returns the next server event; *realtime.DecodeError is a skipped
	// event, any other error the end of the leg.
	ReadEvent(ctx context.Context) (realtime.ServerEvent, error)
	Send(ctx context.Context, ev realtime.ClientEvent) error
	// AppendAudio sends caller audio (base64 text, passed through).
	AppendAudio(ctx context.Context, audio []byte) error
	SetTrace(realtime.TraceFunc)
	Close() error
	CloseNow() error
}

// UsageLeg is a ModelLeg that counts its own usage: the GPT-Live leg, whose
// engine reports billed seconds and the delegated backend's tokens instead of
// Realtime's per-response usage. The session reads it after each response.done,
// on the watchdog's tick (so max_cost holds between turns) and once the leg is
// closed (the final usage), and prices it with Prices.
type UsageLeg interface {
	// Usage is the leg's usage since it was dialed: totals, not increments. It
	// must be safe to call from any goroutine, also after Close. (A type of
	// pkg/pricing, so that legs below this package's floor can implement it.)
	Usage() pricing.LegUsage
}

// Recorder receives a call's audio as it is relayed, to make a recording. Payloads are
// base64 μ-law and valid only during the call. It is called on the audio path: it
// must be quick and must not block.
type Recorder interface {
	// Begin is the call's time zero: Run calls it first, at the time CallEnded's
	// Duration is counted from, so the recording lasts as long as the call.
	Begin(at time.Time)
	// CallerAudio is a frame from the caller, received at at, with its media
	// timestamp (ms since the stream started: the caller's audio clock).
	CallerAudio(at time.Time, mediaMs int64, payload []byte)
	// AgentAudio is agent audio sent to the caller at at; it plays after what is
	// already queued.
	AgentAudio(at time.Time, payload []byte)
	// Cut means the agent's audio was cleared at at: what had not played is dropped.
	Cut(at time.Time)
}

// ModelDialer opens the model leg. It may return a session dialed earlier (the server
// dials while answering the webhook); the session configures it either way.
type ModelDialer func(ctx context.Context) (ModelLeg, error)

// Agent is what the model is told: instructions, voice, tools, turn detection.
type Agent struct {
	Name         string // for events and handoffs; not sent to the model
	Instructions string
	Voice        string  // cannot change once the agent has spoken
	Speed        float64 // 0 means the API's default, 1.0
	// TurnDetection nil means the API's default: server VAD that interrupts responses
	// itself. Options left nil are sent as the API's defaults for the type.
	TurnDetection *realtime.TurnDetection
	// Transcription turns on caller transcripts; nil leaves them off.
	Transcription  *realtime.Transcription
	NoiseReduction string // "near_field", "far_field" or empty
	Tools          []Tool
	// HostedTools are passed to the API as they are, e.g. hosted MCP servers.
	HostedTools []realtime.Tool
	ToolChoice  string
	// Reasoning and ParallelToolCalls are for reasoning models (gpt-realtime-2 and
	// later; the API refuses them on others). nil leaves them to the server.
	Reasoning         *realtime.Reasoning
	ParallelToolCalls *bool
	// Prompt is a stored prompt (its id, version and variables). A variable's value
	// may name the call: {{call.sid}}, {{call.from}}, {{call.to}} and
	// {{call.param.NAME}} (a <Parameter> of the stream) are replaced when the session
	// is configured. An agent without a prompt clears the previous agent's.
	Prompt *realtime.Prompt
	// Truncation is "auto", "disabled" or a retention-ratio object, as JSON; nil
	// leaves it to the server.
	Truncation json.RawMessage
	// Guardrail checks the agent's transcript as it streams (every ~100 characters
	// and at the end of each item). When it returns a rule, the agent's audio is cut
	// off, its item truncated to what was heard, and the model told to correct itself.
	Guardrail func(transcript string) (rule string, tripped bool)
	// Config describes the agent for the call's log (the CallConfig event sent at
	// the start and at each SetAgent): what the session cannot know itself (each
	// tool's kind, an HTTP tool's method and URL, the approval policy, the
	// guardrails' rules, the handoffs, the configuration file). The session fills
	// in the rest from the agent and Options. nil: the tools are described from
	// their specs alone. It must hold no secret.
	Config *callevent.CallConfig
}

// Options configure a Session.
type Options struct {
	Caller CallerLeg   // required
	Dial   ModelDialer // required
	Agent  Agent

	// Approver decides tool calls that need approval; nil denies them.
	Approver Approver
	// ScrubToolOutput, when set, is applied to what every tool returns (its text, or
	// the words of its error) before the model, the events and the logs see it: it
	// removes the configured secrets an API may echo back, in any encoding.
	ScrubToolOutput func(string) string
	// ToolTimeout bounds a tool call without its own timeout (default 30s).
	ToolTimeout time.Duration
	// ApprovalTimeout bounds waiting for an approval; then the call is denied
	// (default 30s).
	ApprovalTimeout time.Duration
	// DTMFDebounce collects key presses into one message to the model: digits are sent
	// after this much quiet, or at once on '#'. Zero uses the default of 1s; a negative
	// value sends each digit on its own.
	DTMFDebounce time.Duration
	// MaxBufferedAudio bounds caller audio kept while the model connects (default 10s).
	MaxBufferedAudio time.Duration
	// CallerIdleTimeout ends a call when Twilio sends nothing for this long (it streams
	// 50 frames a second for the whole call). Zero uses the default of 30s; negative
	// disables the check.
	CallerIdleTimeout time.Duration
	// MaxDuration ends the call after this long (0: no limit). WrapUpBefore the limit
	// the agent is told to wrap up (default 30s, at most half the limit), with
	// WrapUpMessage (a default is used when empty).
	MaxDuration   time.Duration
	WrapUpBefore  time.Duration
	WrapUpMessage string
	// Model is the voice model's name, as dialed, to price its usage with Prices.
	Model string
	// Prices prices the call's usage (pricing.Defaults, with the configuration's
	// overrides); nil or a table without Model: usage is reported, its cost unknown.
	// The session only reads it: one table may serve every call.
	Prices pricing.Table
	// MaxCost ends the call once its cost passes this many dollars (0: no limit):
	// the agent is told to wrap up (MaxCostMessage, a default when empty), its
	// goodbye plays, then the call ends (reason max_cost). The cost is known after
	// each response, so the goodbye is spent beyond the limit. It needs a price for
	// Model.
	MaxCost        float64
	MaxCostMessage string
	// Greeting, when set, makes the agent speak first: these are the instructions for
	// its opening line (say, "Greet the caller and ask how you can help").
	Greeting string
	// IdleTimeout is how long the line may stay silent (no caller speech, no agent
	// audio) before the agent asks whether the caller is still there (IdlePrompt);
	// after a second such silence the call ends (reason idle). Zero: no check.
	IdleTimeout time.Duration
	IdlePrompt  string

	// Tracing, when set, turns on OpenAI's traces for the call (the first
	// session.update carries it; once on, it cannot change). An empty GroupID is the
	// CallSid, so a call is found in the Traces dashboard by its SID.
	Tracing *realtime.Tracing

	// Recorder, when set, receives the call's audio for a recording.
	Recorder Recorder

	// OnEvent receives every event, in order, on a goroutine of the session's (one at
	// a time, not always the same). It must not block for long: events that do not
	// fit the buffer are dropped and counted.
	OnEvent func(callevent.Event)
	// OnEnd, when set, is told why the call ends as soon as that is decided, before
	// either leg is closed, on the goroutine that runs Run: whatever a peer does
	// after it sees its leg close (Twilio asks the <Connect> action what to say next)
	// can rely on it. It must be quick; CallEnded follows once the call is torn down.
	OnEnd func(callevent.EndReason)
	// EventBuffer is how many events may wait for OnEvent (default 1024); the queue
	// holds only what waits, not a buffer of this size.
	EventBuffer int
	// Debug adds RawFrame events for every non-audio frame.
	Debug bool
	// Now is the clock (default time.Now).
	Now func() time.Time

	// SIP runs a call OpenAI answered over SIP (sip.go): Caller is a *SIPCall and
	// Dial its Dial. The audio formats are the trunk's, so the server's session is
	// not held to audio/pcmu, and there are no caller frames whose silence could
	// end the call (CallerIdleTimeout is off).
	SIP bool
}

const (
	defaultToolTimeout      = 30 * time.Second
	defaultApprovalTimeout  = 30 * time.Second
	defaultDTMFDebounce     = time.Second
	defaultMaxBuffered      = 10 * time.Second
	defaultCallerIdle       = 30 * time.Second
	defaultEventBuffer      = 1024
	statsInterval           = time.Second
	responseRequestDeadline = 10 * time.Second
	defaultWrapUp           = 30 * time.Second
	defaultIdlePrompt       = "The caller has been silent for a while. Briefly ask whether they are still there."
	guardrailCheckEvery     = 100 // characters of new transcript between guardrail checks
	idleGoodbyeLimit        = 15 * time.Second
	defaultMaxCostMessage   = "The call has used up its budget. Wrap up now: briefly close the conversation and say goodbye."
	defaultWrapUpMessage    = "The call is about to reach its time limit. Wrap up now: briefly close the conversation and say goodbye."
)

func (o *Options) withDefaults() (Options, error) {
	c := *o
	if c.Caller == nil {
		return c, errors.New("session: Options.Caller is required")
	}
	if c.Dial == nil {
		return c, errors.New("session: Options.Dial is required")
	}
	if c.ToolTimeout <= 0 {
		c.ToolTimeout = defaultToolTimeout
	}
	if c.ApprovalTimeout <= 0 {
		c.ApprovalTimeout = defaultApprovalTimeout
	}
	if c.DTMFDebounce == 0 {
		c.DTMFDebounce = defaultDTMFDebounce
	}
	if c.MaxBufferedAudio <= 0 {
		c.MaxBufferedAudio = defaultMaxBuffered
	}
	if c.CallerIdleTimeout == 0 {
		c.CallerIdleTimeout = defaultCallerIdle
	}
	if c.SIP {
		c.CallerIdleTimeout = -1
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = defaultEventBuffer
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IdleTimeout > 0 && c.IdlePrompt == "" {
		c.IdlePrompt = defaultIdlePrompt
	}
	if c.MaxCost < 0 {
		return c, fmt.Errorf("session: MaxCost %g is negative", c.MaxCost)
	}
	if c.MaxCost > 0 {
		if _, ok := c.Prices.Lookup(c.Model); !ok {
			return c, fmt.Errorf("session: MaxCost needs a price for the model %q: add it to the prices", c.Model)
		}
		if c.MaxCostMessage == "" {
			c.MaxCostMessage = defaultMaxCostMessage
		}
	}
	if c.MaxDuration > 0 {
		if c.WrapUpBefore <= 0 {
			c.WrapUpBefore = defaultWrapUp
		}
		c.WrapUpBefore = min(c.WrapUpBefore, c.MaxDuration/2)
		if c.WrapUpMessage == "" {
			c.WrapUpMessage = defaultWrapUpMessage
		}
	}
	return c, nil
}

// sessionConfig is the session.update for an agent. It states the whole session,
// because an update merges into what the server has: whatever the agent does not
// have is cleared explicitly (no tools is "tools": [], no transcription or noise
// reduction is null, turn detection is stated in full with the API's defaults, the
// speed and tool choice are stated), so a handoff leaves nothing of the previous
// agent in force. The audio formats are set here and nowhere else, so every update
// carries audio/pcmu both ways: an update without them has given callers static
// noise in other bridges.
func (a *Agent) sessionConfig() realtime.SessionConfig {
	in := &realtime.AudioInput{
		Format:        &realtime.AudioFormat{Type: realtime.FormatPCMU},
		Transcription: a.Transcription,
		TurnDetection: fullTurnDetection(a.TurnDetection),
		Off:           realtime.OffTranscription | realtime.OffNoiseReduction,
	}
	if a.NoiseReduction != "" {
		in.NoiseReduction = &realtime.NoiseReduction{Type: a.NoiseReduction}
	}
	speed := a.Speed
	if speed == 0 {
		speed = defaultSpeed
	}
	choice := a.ToolChoice
	if choice == "" {
		choice = "auto"
	}
	cfg := realtime.SessionConfig{
		Type:             "realtime",
		Instructions:     a.Instructions,
		OutputModalities: []string{"audio"},
		Audio: &realtime.AudioConfig{
			Input: in,
			Output: &realtime.AudioOutput{
				Format: &realtime.AudioFormat{Type: realtime.FormatPCMU},
				Voice:  voiceValue(a.Voice),
				Speed:  speed,
			},
		},
		Tools:      []realtime.Tool{}, // stated even when empty: an update keeps tools it omits
		ToolChoice: realtime.Str(choice),
	}
	for _, t := range a.Tools {
		spec := t.Spec()
		params := spec.Parameters
		if params == nil {
			params = defaultParameters
		}
		cfg.Tools = append(cfg.Tools, realtime.Tool{
			Type: "function", Name: spec.Name, Description: spec.Description, Parameters: params,
		})
	}
	cfg.Tools = append(cfg.Tools, a.HostedTools...)
	cfg.Reasoning, cfg.ParallelToolCalls, cfg.Truncation = a.Reasoning, a.ParallelToolCalls, a.Truncation
	return cfg
}

// CustomVoicePrefix begins the id of a custom voice (voice_1234), which is sent as
// {"id": …}; any other voice is a built-in one's name.
const CustomVoicePrefix = "voice_"

func voiceValue(v string) realtime.StringOrObject {
	if strings.HasPrefix(v, CustomVoicePrefix) {
		b, _ := json.Marshal(struct {
			ID string `json:"id"`
		}{v})
		return realtime.StringOrObject{Object: b}
	}
	return realtime.Str(v)
}

// confirmedVoice is the voice a session the server confirmed has: a name, or a
// custom voice's id.
func confirmedVoice(v realtime.StringOrObject) string {
	if v.String != "" {
		return v.String
	}
	return v.ID()
}

// callVar is a reference to the call in a prompt variable's value.
var callVar = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// CheckCallVars reports the first reference in s that is not one of {{call.sid}},
// {{call.from}}, {{call.to}} or {{call.param.NAME}}.
func CheckCallVars(s string) error {
	for _, m := range callVar.FindAllStringSubmatch(s, -1) {
		if _, ok := callValue(m[1], twiliotransport.Start{}); !ok {
			return fmt.Errorf("%s is not a call variable: use {{call.sid}}, {{call.from}}, {{call.to}} or {{call.param.NAME}}", m[0])
		}
	}
	return nil
}

// callValue is the value of a call variable named ref (call.from, ...) in the call
// that start began.
func callValue(ref string, start twiliotransport.Start) (string, bool) {
	p := start.Start.CustomParameters
	switch ref {
	case "call.sid":
		return start.Start.CallSid, true
	case "call.from":
		return p["From"], true
	case "call.to":
		return p["To"], true
	}
	if name, ok := strings.CutPrefix(ref, "call.param."); ok && name != "" {
		return p[name], true
	}
	return "", false
}

// expandCallVars replaces the call variables of s.
func expandCallVars(s string, start twiliotransport.Start) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return callVar.ReplaceAllStringFunc(s, func(m string) string {
		v, ok := callValue(callVar.FindStringSubmatch(m)[1], start)
		if !ok {
			return m
		}
		return v
	})
}

// update is the session.update for agent a in this call: a's session with the
// call's variables in its prompt, the prompt of a previous agent cleared, and
// tracing in the first update only. Caller holds s.mu.
func (s *Session) update(a *Agent) realtime.SessionConfig {
	cfg := a.sessionConfig()
	switch {
	case a.Prompt != nil:
		p := *a.Prompt
		if len(p.Variables) > 0 {
			p.Variables = make(map[string]string, len(a.Prompt.Variables))
			for k, v := range a.Prompt.Variables {
				p.Variables[k] = expandCallVars(v, s.start)
			}
		}
		cfg.Prompt, _ = json.Marshal(p) // strings only: always encodes
		s.promptSet = true
	case s.promptSet:
		cfg.Prompt = json.RawMessage("null")
		s.promptSet = false
	}
	if t := s.opts.Tracing; t != nil && !s.tracingSent {
		tr := *t
		if tr.GroupID == "" {
			tr.GroupID = s.start.Start.CallSid
		}
		cfg.Tracing, _ = json.Marshal(tr)
		s.tracingSent = true
	}
	return cfg
}

// The API's defaults, stated in every update so that none of a previous agent's
// values survive a handoff.
const (
	defaultSpeed             = 1.0
	defaultThreshold         = 0.5
	defaultPrefixPaddingMs   = 300
	defaultSilenceDurationMs = 500
	defaultEagerness         = "auto"
)

// fullTurnDetection states every option of td's type, the API's default where td has
// none (nil td is server VAD); options the type does not have are left out, as the
// API refuses them. idle_timeout_ms is left to the server unless set.
func fullTurnDetection(td *realtime.TurnDetection) *realtime.TurnDetection {
	var out realtime.TurnDetection
	if td != nil {
		out = *td
	}
	if out.Type == "" {
		out.Type = realtime.ServerVAD
	}
	yes := true
	if out.CreateResponse == nil {
		out.CreateResponse = &yes
	}
	if out.InterruptResponse == nil {
		out.InterruptResponse = &yes
	}
	switch out.Type {
	case realtime.SemanticVAD:
		if out.Eagerness == "" {
			out.Eagerness = defaultEagerness
		}
	case realtime.ServerVAD:
		if out.Threshold == nil {
			v := defaultThreshold
			out.Threshold = &v
		}
		if out.PrefixPaddingMs == nil {
			v := defaultPrefixPaddingMs
			out.PrefixPaddingMs = &v
		}
		if out.SilenceDurationMs == nil {
			v := defaultSilenceDurationMs
			out.SilenceDurationMs = &v
		}
	}
	return &out
}

// serverInterrupts reports whether a session as the server confirmed it cancels a
// response itself when the caller starts speaking: turn detection on, with
// interrupt_response true (the API's default).
func serverInterrupts(cfg realtime.SessionConfig) bool {
	if cfg.Audio == nil || cfg.Audio.Input == nil || cfg.Audio.Input.TurnDetection == nil {
		return false
	}
	td := cfg.Audio.Input.TurnDetection
	return td.InterruptResponse == nil || *td.InterruptResponse
}

// checkPCMU says what is wrong when a session the server confirmed is not on
// audio/pcmu both ways: a phone line would hear noise.
func checkPCMU(cfg realtime.SessionConfig) error {
	var in, out string
	if a := cfg.Audio; a != nil {
		if a.Input != nil && a.Input.Format != nil {
			in = a.Input.Format.Type
		}
		if a.Output != nil && a.Output.Format != nil {
			out = a.Output.Format.Type
		}
	}
	if in != realtime.FormatPCMU || out != realtime.FormatPCMU {
		return fmt.Errorf("%w: the model confirmed input %q and output %q, not %s both ways", ErrSessionRejected, in, out, realtime.FormatPCMU)
	}
	return nil
}
