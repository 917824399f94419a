package callevent

import (
	"encoding/json"
	"time"
)

// Event is something that happened on a call. Sinks type-switch on the concrete
// types below; Kind names the type in logs ("caller.transcript", "tool.result").
type Event interface {
	EventHeader() Header
	Kind() string
}

// Header is carried by every event.
type Header struct {
	Time    time.Time `json:"-"` // call logs put these two at the top of each line
	CallSID string    `json:"-"`
}

// EventHeader returns h; it makes every event type satisfy Event.
func (h Header) EventHeader() Header { return h }

// CallStarted: the stream started and the session is running.
type CallStarted struct {
	Header
	StreamSID  string            `json:"stream_sid,omitempty"`
	AccountSID string            `json:"account_sid,omitempty"`
	From       string            `json:"from,omitempty"`
	To         string            `json:"to,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"` // the stream's custom parameters
}

// ModelConnected: the model session is open and configured. BufferedFrames caller
// frames arrived while it connected and were delivered; DroppedFrames did not fit the
// buffer.
type ModelConnected struct {
	Header
	DialTime       time.Duration `json:"dial_time_ns"`
	BufferedFrames int           `json:"buffered_frames,omitempty"`
	DroppedFrames  int           `json:"dropped_frames,omitempty"`
}

// SpeechStarted: the model's voice activity detection heard the caller start speaking.
type SpeechStarted struct {
	Header
	ItemID       string `json:"item_id,omitempty"`
	AudioStartMs int    `json:"audio_start_ms,omitempty"`
}

// SpeechStopped: the caller stopped speaking; the turn's latency is measured from here.
type SpeechStopped struct {
	Header
	ItemID     string `json:"item_id,omitempty"`
	AudioEndMs int    `json:"audio_end_ms,omitempty"`
}

// CallerTranscriptDelta is part of what the caller said.
type CallerTranscriptDelta struct {
	Header
	ItemID string `json:"item_id,omitempty"`
	Delta  string `json:"delta,omitempty"`
}

// CallerTranscript is the final transcript of a caller turn.
type CallerTranscript struct {
	Header
	ItemID string `json:"item_id,omitempty"`
	Text   string `json:"text,omitempty"`
}

// AgentTranscriptDelta is part of what the agent is saying.
type AgentTranscriptDelta struct {
	Header
	ResponseID string `json:"response_id,omitempty"`
	ItemID     string `json:"item_id,omitempty"`
	Delta      string `json:"delta,omitempty"`
}

// AgentTranscript is the full transcript of an agent item. Interrupted is true when
// the caller cut it off: they heard only part of it.
type AgentTranscript struct {
	Header
	ResponseID  string `json:"response_id,omitempty"`
	ItemID      string `json:"item_id,omitempty"`
	Text        string `json:"text,omitempty"`
	Interrupted bool   `json:"interrupted,omitempty"`
}

// Interruption: the caller barged in over the agent. Cleared says Twilio's queue was
// dropped; Cancelled that callagent cancelled the response (the server had not been
// configured to); Truncations say where each unheard item was cut.
type Interruption struct {
	Header
	ResponseID  string       `json:"response_id,omitempty"`
	Cleared     bool         `json:"cleared,omitempty"`
	Cancelled   bool         `json:"cancelled,omitempty"`
	HeardMs     int          `json:"heard_ms,omitempty"`
	Truncations []Truncation `json:"truncations,omitempty"`
}

// Truncation is one conversation.item.truncate sent after a barge-in.
type Truncation struct {
	ItemID     string `json:"item_id,omitempty"`
	AudioEndMs int    `json:"audio_end_ms,omitempty"` // what the caller heard of the item
	SentMs     int    `json:"sent_ms,omitempty"`      // what had been sent of it
}

// TurnLatency is the time from the caller's speech stopping to the first agent audio
// of the answer being sent to Twilio, less the time spent meanwhile waiting for a
// person to approve a tool call.
//
// The parts say where the time went, in order along the turn. Endpointing comes
// before Latency starts; ModelWait+Tools+FirstAudio+Relay is Latency, and
// Endpointing+ModelWait+Tools+Approval+FirstAudio+Relay is Total, exactly. The
// caller's playout comes later, in its own event (TurnPlayout): the mark that proves
// it is echoed after this event is sent, or never (a barge-in, a hang-up).
type TurnLatency struct {
	Header
	ResponseID string        `json:"response_id,omitempty"`
	Latency    time.Duration `json:"latency_ns"`
	// Endpointing: from the caller's real end of speech (speech_stopped's
	// audio_end_ms, less the server VAD's silence duration it includes, mapped from
	// the caller's audio clock to the wall clock) until speech_stopped reached the
	// bridge: the VAD's silence wait and the network. Zero when unknown.
	Endpointing time.Duration `json:"endpointing_ns,omitempty"`
	// ModelWait: speech_stopped until the model's response.created.
	ModelWait time.Duration `json:"model_wait_ns,omitempty"`
	// Tools: response.created until the last tool result (or MCP approval answer)
	// went to the model, before the audio answer: the model writing the calls and the
	// tools running. Zero for a turn without tools.
	Tools time.Duration `json:"tools_ns,omitempty"`
	// Approval: the time a person took to approve tool calls during the turn (left
	// out of Latency and of every other part).
	Approval time.Duration `json:"approval_ns,omitempty"`
	// FirstAudio: response.created, or the last tool result, until the answer's first
	// audio delta reached the bridge.
	FirstAudio time.Duration `json:"first_audio_ns,omitempty"`
	// Relay: the first delta received until its frame was written to Twilio.
	Relay time.Duration `json:"relay_ns,omitempty"`
	// Total: the caller's real end of speech until the first frame was written,
	// approval included: Endpointing + Latency + Approval.
	Total time.Duration `json:"total_ns,omitempty"`
}

// TurnPlayout: the caller's playout of a turn's answer, from its first frame written
// to Twilio until Twilio echoed that frame's mark as played (the phone leg's network
// and jitter buffer, plus the frame's own length). It follows the TurnLatency of the
// same ResponseID, and is missing when the answer was cut off first.
type TurnPlayout struct {
	Header
	ResponseID string        `json:"response_id,omitempty"`
	Playout    time.Duration `json:"playout_ns"`
}

// GuardrailTripped: the agent's transcript broke a rule; its audio was cut off
// (HeardMs is what the caller heard of the item) and the model told to correct itself.
type GuardrailTripped struct {
	Header
	Rule    string `json:"rule,omitempty"`
	ItemID  string `json:"item_id,omitempty"`
	Text    string `json:"text,omitempty"` // the transcript that tripped it
	HeardMs int    `json:"heard_ms,omitempty"`
}

// AgentChanged: a handoff (SetAgent) switched the agent.
type AgentChanged struct {
	Header
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// ResponseDone: the model finished a response (completed, cancelled, failed...).
type ResponseDone struct {
	Header
	ResponseID string `json:"response_id,omitempty"`
	Status     string `json:"status,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Usage      *Usage `json:"usage,omitempty"`
}

// Usage is what a response consumed, as the model reported it.
type Usage struct {
	TotalTokens        int             `json:"total_tokens"`
	InputTokens        int             `json:"input_tokens"`
	OutputTokens       int             `json:"output_tokens"`
	InputTokenDetails  json.RawMessage `json:"input_token_details,omitempty"`
	OutputTokenDetails json.RawMessage `json:"output_token_details,omitempty"`
}

// CallUsage is the call's running usage and cost, sent after each response the model
// reported usage for and each billed transcription: totals since the call began,
// for the voice model, the transcription model and (GPT-Live) the delegated
// backend together. CostUSD is nil when a
// model that was used has no known price: the cost is unknown, never guessed.
type CallUsage struct {
	Header
	Model               string      `json:"model,omitempty"`               // the voice model priced
	TranscriptionModel  string      `json:"transcription_model,omitempty"` // the caller's transcription model, when it billed
	Tokens              TokenCounts `json:"tokens"`                        // the voice model's
	TranscriptionTokens TokenCounts `json:"transcription_tokens,omitzero"`
	BackendModel        string      `json:"backend_model,omitempty"` // GPT-Live's delegated Responses model, when it billed
	BackendTokens       TokenCounts `json:"backend_tokens,omitzero"`
	CostUSD             *float64    `json:"cost_usd,omitempty"`
	MaxCostUSD          float64     `json:"max_cost_usd,omitempty"` // the call's limit (0: none)
}

// TokenCounts is usage by kind. Cached counts are part of the input counts of
// their modality; Seconds is billed duration (GPT-Live, duration-billed
// transcription).
type TokenCounts struct {
	TextIn        int64   `json:"text_in,omitempty"`
	CachedTextIn  int64   `json:"cached_text_in,omitempty"`
	AudioIn       int64   `json:"audio_in,omitempty"`
	CachedAudioIn int64   `json:"cached_audio_in,omitempty"`
	ImageIn       int64   `json:"image_in,omitempty"`
	CachedImageIn int64   `json:"cached_image_in,omitempty"`
	TextOut       int64   `json:"text_out,omitempty"`
	AudioOut      int64   `json:"audio_out,omitempty"`
	Seconds       float64 `json:"seconds,omitempty"`
	StandbySecs   float64 `json:"standby_seconds,omitempty"`
}

// ToolCall: the model called a tool.
type ToolCall struct {
	Header
	CallID    string `json:"call_id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
}

// ToolApprovalRequested: a tool call waits for approval.
type ToolApprovalRequested struct {
	Header
	CallID    string `json:"call_id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
}

// ToolApprovalDecided: a tool call was approved or denied.
type ToolApprovalDecided struct {
	Header
	CallID   string `json:"call_id,omitempty"`
	Name     string `json:"name,omitempty"`
	Approved bool   `json:"approved,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// ToolResult: a tool call finished; Output is what the model was given. Err is set
// when the tool failed, timed out, was unknown or was denied.
type ToolResult struct {
	Header
	CallID     string        `json:"call_id,omitempty"`
	Name       string        `json:"name,omitempty"`
	Output     string        `json:"output,omitempty"`
	Err        error         `json:"-"`
	Duration   time.Duration `json:"duration_ns"`
	Background bool          `json:"background,omitempty"`
}

// MCPEvent reports progress of hosted MCP tools (listing tools, calls); Type is the
// Realtime event type, e.g. response.mcp_call.completed.
type MCPEvent struct {
	Header
	Type   string `json:"type,omitempty"`
	ItemID string `json:"item_id,omitempty"`
}

// DTMF: the caller pressed a key.
type DTMF struct {
	Header
	Digit string `json:"digit,omitempty"`
}

// ModelError is an error event from the model. The call goes on, unless the event
// that failed was a session.update (then the call ends with EndModelRejected).
type ModelError struct {
	Header
	Type    string `json:"type,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Param   string `json:"param,omitempty"`
	// ClientEvent is the type of callagent's event that failed, and ClientEventID its
	// event_id, when the error names one.
	ClientEvent   string `json:"client_event,omitempty"`
	ClientEventID string `json:"client_event_id,omitempty"`
}

// Warning is a problem the call survived: a malformed frame, a full buffer.
// A problem that repeats is reported once, then summarised (at most one warning of
// a kind every few seconds, and one at the end of the call for the rest): Count
// says how many occurrences the warning stands for, so that adding the Counts of
// a kind gives the exact number.
type Warning struct {
	Header
	Message string `json:"message,omitempty"`
	// Code is the kind of problem (one of the Warn... constants), empty for others.
	Code string `json:"code,omitempty"`
	// Count is the occurrences this warning reports (0 means 1).
	Count int64 `json:"count,omitempty"`
}

// Warning codes: the kinds of problem a call can meet many times.
const (
	WarnMalformedTwilioFrame = "malformed_twilio_frame" // a Twilio message skipped
	WarnMalformedModelEvent  = "malformed_model_event"  // a Realtime event skipped
	WarnBadAgentAudio        = "bad_agent_audio"        // agent audio that is not base64, skipped
	WarnDTMFDropped          = "dtmf_dropped"           // a key press that did not fit the queue
	WarnStreamError          = "stream_error"           // Twilio reported a stream error
	WarnNoMediaStream        = "no_media_stream"        // a webhook whose stream never came
)

// WarningCodes lists the Warn... codes.
var WarningCodes = []string{WarnMalformedTwilioFrame, WarnMalformedModelEvent, WarnBadAgentAudio, WarnDTMFDropped,
	WarnStreamError, WarnNoMediaStream}

// Occurrences is how many occurrences w reports: Count, or 1.
func (w Warning) Occurrences() int64 { return max(w.Count, 1) }

// HTTPRequest is a request Twilio made about the call to callagent's server (the
// voice webhook, the end of the stream) and what it was answered, for debugging.
type HTTPRequest struct {
	Header
	Method   string        `json:"method,omitempty"`
	Path     string        `json:"path,omitempty"`
	Status   int           `json:"status,omitempty"`
	Answer   string        `json:"answer,omitempty"` // what the TwiML said, in a few words
	Duration time.Duration `json:"duration_ns,omitempty"`
	From     string        `json:"from,omitempty"` // the webhook's caller and called numbers
	To       string        `json:"to,omitempty"`
}

// Frame sources for RawFrame.
const (
	SourceTwilio   = "twilio"
	SourceRealtime = "realtime"
)

// RawFrame is a protocol frame, for debugging (Options.Debug). Audio frames are not
// included: MediaStats counts them.
type RawFrame struct {
	Header
	Source string `json:"source,omitempty"` // SourceTwilio or SourceRealtime
	Sent   bool   `json:"sent,omitempty"`   // sent by callagent
	Type   string `json:"type,omitempty"`
	Data   []byte `json:"data,omitempty"`
}

// MediaStats counts the audio relayed since the previous MediaStats.
type MediaStats struct {
	Header
	Interval  time.Duration `json:"interval_ns"`
	InFrames  int           `json:"in_frames,omitempty"` // caller → model
	InBytes   int           `json:"in_bytes,omitempty"`
	OutFrames int           `json:"out_frames,omitempty"` // model → caller
	OutBytes  int           `json:"out_bytes,omitempty"`
}

// EndReason says why a call ended.
type EndReason string

// End reasons.
const (
	EndCallerHangup       EndReason = "caller_hangup"       // Twilio sent stop
	EndCallerDisconnected EndReason = "caller_disconnected" // the stream closed or failed without stop
	EndCallerTimeout      EndReason = "caller_timeout"      // no frames from Twilio for CallerIdleTimeout
	EndModelDisconnected  EndReason = "model_disconnected"  // the model socket closed or failed
	EndModelDialFailed    EndReason = "model_dial_failed"   // the model could not be reached
	EndModelRejected      EndReason = "model_rejected"      // the model refused the session's configuration
	EndCancelled          EndReason = "cancelled"           // the context was cancelled (shutdown)
	EndAgentHangup        EndReason = "agent_hangup"        // ended through Session.End by the agent
	EndMaxDuration        EndReason = "max_duration"        // Options.MaxDuration was reached
	EndServerShutdown     EndReason = "server_shutdown"     // the server was shutting down and stopped waiting
	EndIdle               EndReason = "idle"                // the line stayed silent (Options.IdleTimeout)
	EndTransferred        EndReason = "transferred"         // the call was handed to another number
	EndMaxCost            EndReason = "max_cost"            // the call's cost passed Options.MaxCost
)

// EndReasons lists every end reason, in the order above (scenario files are checked
// against it before a call starts).
var EndReasons = []EndReason{EndCallerHangup, EndCallerDisconnected, EndCallerTimeout, EndModelDisconnected, EndModelDialFailed,
	EndModelRejected, EndCancelled, EndAgentHangup, EndMaxDuration, EndServerShutdown, EndIdle, EndTransferred, EndMaxCost}

// CallEnded is the last event of a call, also returned by Run.
type CallEnded struct {
	Header
	Reason        EndReason     `json:"reason"`
	Err           error         `json:"-"` // the failure behind the reason, if any
	Duration      time.Duration `json:"duration_ns"`
	Turns         int           `json:"turns,omitempty"` // answers of the agent to the caller (each a TurnLatency; not the greeting)
	Interruptions int           `json:"interruptions,omitempty"`
	ToolCalls     int           `json:"tool_calls,omitempty"`
	InBytes       int64         `json:"in_bytes,omitempty"`       // caller audio relayed to the model
	OutBytes      int64         `json:"out_bytes,omitempty"`      // agent audio relayed to the caller
	DroppedEvents int64         `json:"dropped_events,omitempty"` // events a slow sink could not take
	// CostUSD is what the call cost (the last CallUsage's), nil when unknown or
	// when no usage was reported.
	CostUSD *float64 `json:"cost_usd,omitempty"`
}

func (CallStarted) Kind() string           { return "call.started" }
func (ModelConnected) Kind() string        { return "model.connected" }
func (SpeechStarted) Kind() string         { return "caller.speech_started" }
func (SpeechStopped) Kind() string         { return "caller.speech_stopped" }
func (CallerTranscriptDelta) Kind() string { return "caller.transcript_delta" }
func (CallerTranscript) Kind() string      { return "caller.transcript" }
func (AgentTranscriptDelta) Kind() string  { return "agent.transcript_delta" }
func (AgentTranscript) Kind() string       { return "agent.transcript" }
func (Interruption) Kind() string          { return "agent.interrupted" }
func (TurnLatency) Kind() string           { return "turn.latency" }
func (TurnPlayout) Kind() string           { return "turn.playout" }
func (ResponseDone) Kind() string          { return "response.done" }
func (GuardrailTripped) Kind() string      { return "agent.guardrail_tripped" }
func (AgentChanged) Kind() string          { return "agent.changed" }
func (ToolCall) Kind() string              { return "tool.call" }
func (ToolApprovalRequested) Kind() string { return "tool.approval_requested" }
func (ToolApprovalDecided) Kind() string   { return "tool.approval_decided" }
func (ToolResult) Kind() string            { return "tool.result" }
func (MCPEvent) Kind() string              { return "tool.mcp" }
func (DTMF) Kind() string                  { return "caller.dtmf" }
func (ModelError) Kind() string            { return "model.error" }
func (Warning) Kind() string               { return "call.warning" }
func (RawFrame) Kind() string              { return "debug.frame" }
func (HTTPRequest) Kind() string           { return "debug.http" }
func (MediaStats) Kind() string            { return "media.stats" }
func (CallEnded) Kind() string             { return "call.ended" }
func (CallUsage) Kind() string             { return "call.usage" }

// CallConfig is the agent configuration a call runs with: sent once when the call
// starts and again when a handoff switches the agent, so a call's log says what
// the model was told. It holds no secret: a tool's headers are named, never
// valued, and its URL keeps no credentials or query values. Hash is a short
// digest of everything else, so a replay can tell the configuration changed.
type CallConfig struct {
	Header
	Agent        string `json:"agent"`
	Source       string `json:"source,omitempty"` // the configuration file ("" when built in)
	Engine       string `json:"engine,omitempty"` // realtime or live
	Model        string `json:"model,omitempty"`
	Voice        string `json:"voice,omitempty"`
	Instructions string `json:"instructions,omitempty"`
	Greeting     string `json:"greeting,omitempty"` // the greeting's instructions (the first agent's only)
	// TurnDetection is the agent's turn detection as the API takes it (null:
	// the API's default).
	TurnDetection json.RawMessage `json:"turn_detection,omitempty"`
	Transcription string          `json:"transcription,omitempty"` // the caller transcription model ("": off)
	Tools         []ConfigTool    `json:"tools,omitempty"`
	Approval      string          `json:"approval,omitempty"` // the policy of tools that need approval
	Guardrails    []string        `json:"guardrails,omitempty"`
	Handoffs      []string        `json:"handoffs,omitempty"`
	MaxDuration   time.Duration   `json:"max_duration_ns,omitempty"`
	MaxCostUSD    float64         `json:"max_cost_usd,omitempty"`
	Hash          string          `json:"hash,omitempty"`
}

// ConfigTool is one tool of a CallConfig.
type ConfigTool struct {
	Name          string `json:"name"`
	Kind          string `json:"kind,omitempty"` // http, mcp, builtin, function, handoff
	Description   string `json:"description,omitempty"`
	NeedsApproval bool   `json:"needs_approval,omitempty"`
	Background    bool   `json:"background,omitempty"`
	Method        string `json:"method,omitempty"` // an HTTP tool's
	URL           string `json:"url,omitempty"`    // an HTTP tool's, or an MCP server's, without credentials or query values
	// Headers names the headers a tool sends; their values are never recorded.
	Headers []string `json:"headers,omitempty"`
}

func (CallConfig) Kind() string { return "call.config" }
