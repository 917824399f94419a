package session

import (
	"time"

	"github.com/callagent/callagent/pkg/realtime"
)

// Event is something that happened on a call. Sinks type-switch on the concrete
// types below; Kind names the type in logs ("caller.transcript", "tool.result").
type Event interface {
	EventHeader() Header
	Kind() string
}

// Header is carried by every event.
type Header struct {
	Time    time.Time
	CallSID string
}

// EventHeader returns h; it makes every event type satisfy Event.
func (h Header) EventHeader() Header { return h }

// CallStarted: the stream started and the session is running.
type CallStarted struct {
	Header
	StreamSID  string
	AccountSID string
	From, To   string
	Parameters map[string]string // the stream's custom parameters
}

// ModelConnected: the model session is open and configured. BufferedFrames caller
// frames arrived while it connected and were delivered; DroppedFrames did not fit the
// buffer.
type ModelConnected struct {
	Header
	DialTime       time.Duration
	BufferedFrames int
	DroppedFrames  int
}

// SpeechStarted: the model's voice activity detection heard the caller start speaking.
type SpeechStarted struct {
	Header
	ItemID       string
	AudioStartMs int
}

// SpeechStopped: the caller stopped speaking; the turn's latency is measured from here.
type SpeechStopped struct {
	Header
	ItemID     string
	AudioEndMs int
}

// CallerTranscriptDelta is part of what the caller said.
type CallerTranscriptDelta struct {
	Header
	ItemID string
	Delta  string
}

// CallerTranscript is the final transcript of a caller turn.
type CallerTranscript struct {
	Header
	ItemID string
	Text   string
}

// AgentTranscriptDelta is part of what the agent is saying.
type AgentTranscriptDelta struct {
	Header
	ResponseID string
	ItemID     string
	Delta      string
}

// AgentTranscript is the full transcript of an agent item. Interrupted is true when
// the caller cut it off: they heard only part of it.
type AgentTranscript struct {
	Header
	ResponseID  string
	ItemID      string
	Text        string
	Interrupted bool
}

// Interruption: the caller barged in over the agent. Cleared says Twilio's queue was
// dropped; Cancelled that callagent cancelled the response (the server had not been
// configured to); Truncations say where each unheard item was cut.
type Interruption struct {
	Header
	ResponseID  string
	Cleared     bool
	Cancelled   bool
	HeardMs     int
	Truncations []Truncation
}

// Truncation is one conversation.item.truncate sent after a barge-in.
type Truncation struct {
	ItemID     string
	AudioEndMs int // what the caller heard of the item
	SentMs     int // what had been sent of it
}

// TurnLatency is the time from the caller's speech stopping to the first agent audio
// of the answer being sent to Twilio.
type TurnLatency struct {
	Header
	ResponseID string
	Latency    time.Duration
}

// GuardrailTripped: the agent's transcript broke a rule; its audio was cut off
// (HeardMs is what the caller heard of the item) and the model told to correct itself.
type GuardrailTripped struct {
	Header
	Rule    string
	ItemID  string
	Text    string // the transcript that tripped it
	HeardMs int
}

// AgentChanged: a handoff (SetAgent) switched the agent.
type AgentChanged struct {
	Header
	From, To string
}

// ResponseDone: the model finished a response (completed, cancelled, failed...).
type ResponseDone struct {
	Header
	ResponseID string
	Status     string
	Reason     string
	Usage      *realtime.Usage
}

// ToolCall: the model called a tool.
type ToolCall struct {
	Header
	CallID    string
	Name      string
	Arguments string
}

// ToolApprovalRequested: a tool call waits for approval.
type ToolApprovalRequested struct {
	Header
	CallID    string
	Name      string
	Arguments string
}

// ToolApprovalDecided: a tool call was approved or denied.
type ToolApprovalDecided struct {
	Header
	CallID   string
	Name     string
	Approved bool
	Reason   string
}

// ToolResult: a tool call finished; Output is what the model was given. Err is set
// when the tool failed, timed out, was unknown or was denied.
type ToolResult struct {
	Header
	CallID     string
	Name       string
	Output     string
	Err        error
	Duration   time.Duration
	Background bool
}

// MCPEvent reports progress of hosted MCP tools (listing tools, calls); Type is the
// Realtime event type, e.g. response.mcp_call.completed.
type MCPEvent struct {
	Header
	Type   string
	ItemID string
}

// DTMF: the caller pressed a key.
type DTMF struct {
	Header
	Digit string
}

// ModelError is an error event from the model. The call goes on.
type ModelError struct {
	Header
	Type    string
	Code    string
	Message string
	Param   string
}

// Warning is a problem the call survived: a malformed frame, a full buffer.
type Warning struct {
	Header
	Message string
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
	Source string // SourceTwilio or SourceRealtime
	Sent   bool   // sent by callagent
	Type   string
	Data   []byte
}

// MediaStats counts the audio relayed since the previous MediaStats.
type MediaStats struct {
	Header
	Interval  time.Duration
	InFrames  int // caller → model
	InBytes   int
	OutFrames int // model → caller
	OutBytes  int
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
	EndCancelled          EndReason = "cancelled"           // the context was cancelled (shutdown)
	EndAgentHangup        EndReason = "agent_hangup"        // ended through Session.End by the agent
	EndMaxDuration        EndReason = "max_duration"        // Options.MaxDuration was reached
	EndServerShutdown     EndReason = "server_shutdown"     // the server was shutting down and stopped waiting
	EndIdle               EndReason = "idle"                // the line stayed silent (Options.IdleTimeout)
	EndTransferred        EndReason = "transferred"         // the call was handed to another number
)

// CallEnded is the last event of a call, also returned by Run.
type CallEnded struct {
	Header
	Reason        EndReason
	Err           error // the failure behind the reason, if any
	Duration      time.Duration
	Turns         int // agent responses that produced audio
	Interruptions int
	ToolCalls     int
	InBytes       int64 // caller audio relayed to the model
	OutBytes      int64 // agent audio relayed to the caller
	DroppedEvents int64 // events a slow sink could not take
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
func (MediaStats) Kind() string            { return "media.stats" }
func (CallEnded) Kind() string             { return "call.ended" }
