package realtime

import "encoding/json"

// ServerEvent is an event the server sends to the client. Events callagent does not
// know decode as *UnknownEvent, with their raw JSON kept.
type ServerEvent interface {
	Event
	serverEvent()
}

// Server event types.
const (
	TypeError                              = "error"
	TypeSessionCreated                     = "session.created"
	TypeSessionUpdated                     = "session.updated"
	TypeConversationItemAdded              = "conversation.item.added"
	TypeConversationItemDone               = "conversation.item.done"
	TypeConversationItemTruncated          = "conversation.item.truncated"
	TypeConversationItemDeleted            = "conversation.item.deleted"
	TypeInputAudioTranscriptionDelta       = "conversation.item.input_audio_transcription.delta"
	TypeInputAudioTranscriptionCompleted   = "conversation.item.input_audio_transcription.completed"
	TypeInputAudioTranscriptionFailed      = "conversation.item.input_audio_transcription.failed"
	TypeInputAudioBufferCommitted          = "input_audio_buffer.committed"
	TypeInputAudioBufferCleared            = "input_audio_buffer.cleared"
	TypeInputAudioBufferSpeechStarted      = "input_audio_buffer.speech_started"
	TypeInputAudioBufferSpeechStopped      = "input_audio_buffer.speech_stopped"
	TypeInputAudioBufferTimeoutTriggered   = "input_audio_buffer.timeout_triggered"
	TypeResponseCreated                    = "response.created"
	TypeResponseDone                       = "response.done"
	TypeResponseOutputItemAdded            = "response.output_item.added"
	TypeResponseOutputItemDone             = "response.output_item.done"
	TypeResponseContentPartAdded           = "response.content_part.added"
	TypeResponseContentPartDone            = "response.content_part.done"
	TypeResponseOutputAudioDelta           = "response.output_audio.delta"
	TypeResponseOutputAudioDone            = "response.output_audio.done"
	TypeResponseOutputAudioTranscriptDelta = "response.output_audio_transcript.delta"
	TypeResponseOutputAudioTranscriptDone  = "response.output_audio_transcript.done"
	TypeResponseOutputTextDelta            = "response.output_text.delta"
	TypeResponseOutputTextDone             = "response.output_text.done"
	TypeResponseFunctionCallArgumentsDelta = "response.function_call_arguments.delta"
	TypeResponseFunctionCallArgumentsDone  = "response.function_call_arguments.done"
	TypeResponseMCPCallArgumentsDelta      = "response.mcp_call_arguments.delta"
	TypeResponseMCPCallArgumentsDone       = "response.mcp_call_arguments.done"
	TypeResponseMCPCallInProgress          = "response.mcp_call.in_progress"
	TypeResponseMCPCallCompleted           = "response.mcp_call.completed"
	TypeResponseMCPCallFailed              = "response.mcp_call.failed"
	TypeMCPListToolsInProgress             = "mcp_list_tools.in_progress"
	TypeMCPListToolsCompleted              = "mcp_list_tools.completed"
	TypeMCPListToolsFailed                 = "mcp_list_tools.failed"
	TypeRateLimitsUpdated                  = "rate_limits.updated"
)

// ErrorEvent reports a problem with a client event or the session. It is ordinary:
// rate limits, a rejected truncate, an active-response conflict. The call goes on.
type ErrorEvent struct {
	EventID string    `json:"event_id,omitempty"`
	Error   ErrorInfo `json:"error"`
}

// SessionCreated is the first event of a connection.
type SessionCreated struct {
	EventID string        `json:"event_id,omitempty"`
	Session SessionConfig `json:"session"`
}

// SessionUpdated answers session.update.
type SessionUpdated struct {
	EventID string        `json:"event_id,omitempty"`
	Session SessionConfig `json:"session"`
}

// ConversationItemAdded reports an item added to the conversation.
type ConversationItemAdded struct {
	EventID        string `json:"event_id,omitempty"`
	PreviousItemID string `json:"previous_item_id,omitempty"`
	Item           Item   `json:"item"`
}

// ConversationItemDone reports an item whose content is complete.
type ConversationItemDone struct {
	EventID        string `json:"event_id,omitempty"`
	PreviousItemID string `json:"previous_item_id,omitempty"`
	Item           Item   `json:"item"`
}

// ConversationItemTruncated confirms conversation.item.truncate.
type ConversationItemTruncated struct {
	EventID      string `json:"event_id,omitempty"`
	ItemID       string `json:"item_id"`
	ContentIndex int    `json:"content_index"`
	AudioEndMs   int    `json:"audio_end_ms"`
}

// ConversationItemDeleted confirms conversation.item.delete.
type ConversationItemDeleted struct {
	EventID string `json:"event_id,omitempty"`
	ItemID  string `json:"item_id"`
}

// InputAudioTranscriptionDelta is part of the caller's transcript.
type InputAudioTranscriptionDelta struct {
	EventID      string `json:"event_id,omitempty"`
	ItemID       string `json:"item_id"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

// InputAudioTranscriptionCompleted is the caller's final transcript of an item.
type InputAudioTranscriptionCompleted struct {
	EventID      string              `json:"event_id,omitempty"`
	ItemID       string              `json:"item_id"`
	ContentIndex int                 `json:"content_index"`
	Transcript   string              `json:"transcript"`
	Usage        *TranscriptionUsage `json:"usage,omitempty"` // tokens or seconds, as the transcription model bills
}

// InputAudioTranscriptionFailed reports that the caller's speech could not be transcribed.
type InputAudioTranscriptionFailed struct {
	EventID      string    `json:"event_id,omitempty"`
	ItemID       string    `json:"item_id"`
	ContentIndex int       `json:"content_index"`
	Error        ErrorInfo `json:"error"`
}

// InputAudioBufferCommitted reports that input audio became a user item.
type InputAudioBufferCommitted struct {
	EventID        string `json:"event_id,omitempty"`
	PreviousItemID string `json:"previous_item_id,omitempty"`
	ItemID         string `json:"item_id"`
}

// InputAudioBufferCleared confirms input_audio_buffer.clear.
type InputAudioBufferCleared struct {
	EventID string `json:"event_id,omitempty"`
}

// InputAudioBufferSpeechStarted is server VAD detecting the caller starting to speak.
type InputAudioBufferSpeechStarted struct {
	EventID      string `json:"event_id,omitempty"`
	AudioStartMs int    `json:"audio_start_ms"`
	ItemID       string `json:"item_id"`
}

// InputAudioBufferSpeechStopped is server VAD detecting the end of the caller's speech.
type InputAudioBufferSpeechStopped struct {
	EventID    string `json:"event_id,omitempty"`
	AudioEndMs int    `json:"audio_end_ms"`
	ItemID     string `json:"item_id"`
}

// InputAudioBufferTimeoutTriggered reports the VAD idle timeout expiring.
type InputAudioBufferTimeoutTriggered struct {
	EventID      string `json:"event_id,omitempty"`
	AudioStartMs int    `json:"audio_start_ms"`
	AudioEndMs   int    `json:"audio_end_ms"`
	ItemID       string `json:"item_id"`
}

// ResponseCreated reports a new response.
type ResponseCreated struct {
	EventID  string   `json:"event_id,omitempty"`
	Response Response `json:"response"`
}

// ResponseDone reports a finished response (completed, cancelled, failed, incomplete).
type ResponseDone struct {
	EventID  string   `json:"event_id,omitempty"`
	Response Response `json:"response"`
}

// ResponseOutputItemAdded reports a new output item of a response.
type ResponseOutputItemAdded struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	OutputIndex int    `json:"output_index"`
	Item        Item   `json:"item"`
}

// ResponseOutputItemDone reports a finished output item; for a function call it holds
// the name and the complete arguments.
type ResponseOutputItemDone struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	OutputIndex int    `json:"output_index"`
	Item        Item   `json:"item"`
}

// ResponseContentPartAdded reports a new content part of an output item.
type ResponseContentPartAdded struct {
	EventID      string      `json:"event_id,omitempty"`
	ResponseID   string      `json:"response_id"`
	ItemID       string      `json:"item_id"`
	OutputIndex  int         `json:"output_index"`
	ContentIndex int         `json:"content_index"`
	Part         ContentPart `json:"part"`
}

// ResponseContentPartDone reports a finished content part.
type ResponseContentPartDone struct {
	EventID      string      `json:"event_id,omitempty"`
	ResponseID   string      `json:"response_id"`
	ItemID       string      `json:"item_id"`
	OutputIndex  int         `json:"output_index"`
	ContentIndex int         `json:"content_index"`
	Part         ContentPart `json:"part"`
}

// ResponseOutputAudioDelta carries a chunk of the model's audio, base64 as received.
// Conn.ReadEvent returns one reused value whose Delta aliases the read buffer and
// whose EventID is left empty; both are valid until the next ReadEvent.
type ResponseOutputAudioDelta struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        Audio  `json:"delta"`
}

// ResponseOutputAudioDone reports the end of an item's audio.
type ResponseOutputAudioDone struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
}

// ResponseOutputAudioTranscriptDelta is part of the transcript of the model's audio.
type ResponseOutputAudioTranscriptDelta struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

// ResponseOutputAudioTranscriptDone is the whole transcript of an item's audio.
type ResponseOutputAudioTranscriptDone struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Transcript   string `json:"transcript"`
}

// ResponseOutputTextDelta is part of a text-only response.
type ResponseOutputTextDelta struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

// ResponseOutputTextDone is the whole text of a text-only response part.
type ResponseOutputTextDone struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Text         string `json:"text"`
}

// ResponseFunctionCallArgumentsDelta is part of a function call's arguments.
type ResponseFunctionCallArgumentsDelta struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	CallID      string `json:"call_id"`
	Delta       string `json:"delta"`
}

// ResponseFunctionCallArgumentsDone holds a function call's complete arguments. It is
// also sent for responses that were cancelled; callagent runs tools from
// response.output_item.done, where the item's status tells a complete call apart.
type ResponseFunctionCallArgumentsDone struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	CallID      string `json:"call_id"`
	Name        string `json:"name"`
	Arguments   string `json:"arguments"`
}

// ResponseMCPCallArgumentsDelta is part of a hosted MCP call's arguments.
type ResponseMCPCallArgumentsDelta struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Delta       string `json:"delta"`
}

// ResponseMCPCallArgumentsDone holds a hosted MCP call's complete arguments.
type ResponseMCPCallArgumentsDone struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Arguments   string `json:"arguments"`
}

// MCPCallStatus reports the progress of a hosted MCP call; its EventType tells which
// (response.mcp_call.in_progress, .completed or .failed).
type MCPCallStatus struct {
	Type        string `json:"-"`
	EventID     string `json:"event_id,omitempty"`
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
}

// MCPListToolsStatus reports the server listing an MCP server's tools; its EventType
// tells which (mcp_list_tools.in_progress, .completed or .failed).
type MCPListToolsStatus struct {
	Type    string `json:"-"`
	EventID string `json:"event_id,omitempty"`
	ItemID  string `json:"item_id"`
}

// RateLimitsUpdated reports the current rate limits.
type RateLimitsUpdated struct {
	EventID    string      `json:"event_id,omitempty"`
	RateLimits []RateLimit `json:"rate_limits"`
}

// UnknownEvent is any event without a typed struct here; Raw is the whole event.
// It is also how a fake server sends an arbitrary event.
type UnknownEvent struct {
	Type string
	Raw  json.RawMessage
}

func (*ErrorEvent) EventType() string                   { return TypeError }
func (*SessionCreated) EventType() string               { return TypeSessionCreated }
func (*SessionUpdated) EventType() string               { return TypeSessionUpdated }
func (*ConversationItemAdded) EventType() string        { return TypeConversationItemAdded }
func (*ConversationItemDone) EventType() string         { return TypeConversationItemDone }
func (*ConversationItemTruncated) EventType() string    { return TypeConversationItemTruncated }
func (*ConversationItemDeleted) EventType() string      { return TypeConversationItemDeleted }
func (*InputAudioTranscriptionDelta) EventType() string { return TypeInputAudioTranscriptionDelta }
func (*InputAudioTranscriptionCompleted) EventType() string {
	return TypeInputAudioTranscriptionCompleted
}
func (*InputAudioTranscriptionFailed) EventType() string { return TypeInputAudioTranscriptionFailed }
func (*InputAudioBufferCommitted) EventType() string     { return TypeInputAudioBufferCommitted }
func (*InputAudioBufferCleared) EventType() string       { return TypeInputAudioBufferCleared }
func (*InputAudioBufferSpeechStarted) EventType() string { return TypeInputAudioBufferSpeechStarted }
func (*InputAudioBufferSpeechStopped) EventType() string { return TypeInputAudioBufferSpeechStopped }
func (*InputAudioBufferTimeoutTriggered) EventType() string {
	return TypeInputAudioBufferTimeoutTriggered
}
func (*ResponseCreated) EventType() string          { return TypeResponseCreated }
func (*ResponseDone) EventType() string             { return TypeResponseDone }
func (*ResponseOutputItemAdded) EventType() string  { return TypeResponseOutputItemAdded }
func (*ResponseOutputItemDone) EventType() string   { return TypeResponseOutputItemDone }
func (*ResponseContentPartAdded) EventType() string { return TypeResponseContentPartAdded }
func (*ResponseContentPartDone) EventType() string  { return TypeResponseContentPartDone }
func (*ResponseOutputAudioDelta) EventType() string { return TypeResponseOutputAudioDelta }
func (*ResponseOutputAudioDone) EventType() string  { return TypeResponseOutputAudioDone }
func (*ResponseOutputAudioTranscriptDelta) EventType() string {
	return TypeResponseOutputAudioTranscriptDelta
}
func (*ResponseOutputAudioTranscriptDone) EventType() string {
	return TypeResponseOutputAudioTranscriptDone
}
func (*ResponseOutputTextDelta) EventType() string { return TypeResponseOutputTextDelta }
func (*ResponseOutputTextDone) EventType() string  { return TypeResponseOutputTextDone }
func (*ResponseFunctionCallArgumentsDelta) EventType() string {
	return TypeResponseFunctionCallArgumentsDelta
}
func (*ResponseFunctionCallArgumentsDone) EventType() string {
	return TypeResponseFunctionCallArgumentsDone
}
func (*ResponseMCPCallArgumentsDelta) EventType() string { return TypeResponseMCPCallArgumentsDelta }
func (*ResponseMCPCallArgumentsDone) EventType() string  { return TypeResponseMCPCallArgumentsDone }
func (e *MCPCallStatus) EventType() string               { return e.Type }
func (e *MCPListToolsStatus) EventType() string          { return e.Type }
func (*RateLimitsUpdated) EventType() string             { return TypeRateLimitsUpdated }
func (e *UnknownEvent) EventType() string                { return e.Type }

func (*ErrorEvent) serverEvent()                         {}
func (*SessionCreated) serverEvent()                     {}
func (*SessionUpdated) serverEvent()                     {}
func (*ConversationItemAdded) serverEvent()              {}
func (*ConversationItemDone) serverEvent()               {}
func (*ConversationItemTruncated) serverEvent()          {}
func (*ConversationItemDeleted) serverEvent()            {}
func (*InputAudioTranscriptionDelta) serverEvent()       {}
func (*InputAudioTranscriptionCompleted) serverEvent()   {}
func (*InputAudioTranscriptionFailed) serverEvent()      {}
func (*InputAudioBufferCommitted) serverEvent()          {}
func (*InputAudioBufferCleared) serverEvent()            {}
func (*InputAudioBufferSpeechStarted) serverEvent()      {}
func (*InputAudioBufferSpeechStopped) serverEvent()      {}
func (*InputAudioBufferTimeoutTriggered) serverEvent()   {}
func (*ResponseCreated) serverEvent()                    {}
func (*ResponseDone) serverEvent()                       {}
func (*ResponseOutputItemAdded) serverEvent()            {}
func (*ResponseOutputItemDone) serverEvent()             {}
func (*ResponseContentPartAdded) serverEvent()           {}
func (*ResponseContentPartDone) serverEvent()            {}
func (*ResponseOutputAudioDelta) serverEvent()           {}
func (*ResponseOutputAudioDone) serverEvent()            {}
func (*ResponseOutputAudioTranscriptDelta) serverEvent() {}
func (*ResponseOutputAudioTranscriptDone) serverEvent()  {}
func (*ResponseOutputTextDelta) serverEvent()            {}
func (*ResponseOutputTextDone) serverEvent()             {}
func (*ResponseFunctionCallArgumentsDelta) serverEvent() {}
func (*ResponseFunctionCallArgumentsDone) serverEvent()  {}
func (*ResponseMCPCallArgumentsDelta) serverEvent()      {}
func (*ResponseMCPCallArgumentsDone) serverEvent()       {}
func (*MCPCallStatus) serverEvent()                      {}
func (*MCPListToolsStatus) serverEvent()                 {}
func (*RateLimitsUpdated) serverEvent()                  {}
func (*UnknownEvent) serverEvent()                       {}

// UnknownEvent is also a client event, so a fake client can send anything.
func (*UnknownEvent) clientEvent() {}

// serverEventTypes maps each server event type to a constructor, for decoding.
var serverEventTypes = map[string]func() ServerEvent{
	TypeError:                              func() ServerEvent { return new(ErrorEvent) },
	TypeSessionCreated:                     func() ServerEvent { return new(SessionCreated) },
	TypeSessionUpdated:                     func() ServerEvent { return new(SessionUpdated) },
	TypeConversationItemAdded:              func() ServerEvent { return new(ConversationItemAdded) },
	TypeConversationItemDone:               func() ServerEvent { return new(ConversationItemDone) },
	TypeConversationItemTruncated:          func() ServerEvent { return new(ConversationItemTruncated) },
	TypeConversationItemDeleted:            func() ServerEvent { return new(ConversationItemDeleted) },
	TypeInputAudioTranscriptionDelta:       func() ServerEvent { return new(InputAudioTranscriptionDelta) },
	TypeInputAudioTranscriptionCompleted:   func() ServerEvent { return new(InputAudioTranscriptionCompleted) },
	TypeInputAudioTranscriptionFailed:      func() ServerEvent { return new(InputAudioTranscriptionFailed) },
	TypeInputAudioBufferCommitted:          func() ServerEvent { return new(InputAudioBufferCommitted) },
	TypeInputAudioBufferCleared:            func() ServerEvent { return new(InputAudioBufferCleared) },
	TypeInputAudioBufferSpeechStarted:      func() ServerEvent { return new(InputAudioBufferSpeechStarted) },
	TypeInputAudioBufferSpeechStopped:      func() ServerEvent { return new(InputAudioBufferSpeechStopped) },
	TypeInputAudioBufferTimeoutTriggered:   func() ServerEvent { return new(InputAudioBufferTimeoutTriggered) },
	TypeResponseCreated:                    func() ServerEvent { return new(ResponseCreated) },
	TypeResponseDone:                       func() ServerEvent { return new(ResponseDone) },
	TypeResponseOutputItemAdded:            func() ServerEvent { return new(ResponseOutputItemAdded) },
	TypeResponseOutputItemDone:             func() ServerEvent { return new(ResponseOutputItemDone) },
	TypeResponseContentPartAdded:           func() ServerEvent { return new(ResponseContentPartAdded) },
	TypeResponseContentPartDone:            func() ServerEvent { return new(ResponseContentPartDone) },
	TypeResponseOutputAudioDelta:           func() ServerEvent { return new(ResponseOutputAudioDelta) },
	TypeResponseOutputAudioDone:            func() ServerEvent { return new(ResponseOutputAudioDone) },
	TypeResponseOutputAudioTranscriptDelta: func() ServerEvent { return new(ResponseOutputAudioTranscriptDelta) },
	TypeResponseOutputAudioTranscriptDone:  func() ServerEvent { return new(ResponseOutputAudioTranscriptDone) },
	TypeResponseOutputTextDelta:            func() ServerEvent { return new(ResponseOutputTextDelta) },
	TypeResponseOutputTextDone:             func() ServerEvent { return new(ResponseOutputTextDone) },
	TypeResponseFunctionCallArgumentsDelta: func() ServerEvent { return new(ResponseFunctionCallArgumentsDelta) },
	TypeResponseFunctionCallArgumentsDone:  func() ServerEvent { return new(ResponseFunctionCallArgumentsDone) },
	TypeResponseMCPCallArgumentsDelta:      func() ServerEvent { return new(ResponseMCPCallArgumentsDelta) },
	TypeResponseMCPCallArgumentsDone:       func() ServerEvent { return new(ResponseMCPCallArgumentsDone) },
	TypeResponseMCPCallInProgress:          func() ServerEvent { return &MCPCallStatus{Type: TypeResponseMCPCallInProgress} },
	TypeResponseMCPCallCompleted:           func() ServerEvent { return &MCPCallStatus{Type: TypeResponseMCPCallCompleted} },
	TypeResponseMCPCallFailed:              func() ServerEvent { return &MCPCallStatus{Type: TypeResponseMCPCallFailed} },
	TypeMCPListToolsInProgress:             func() ServerEvent { return &MCPListToolsStatus{Type: TypeMCPListToolsInProgress} },
	TypeMCPListToolsCompleted:              func() ServerEvent { return &MCPListToolsStatus{Type: TypeMCPListToolsCompleted} },
	TypeMCPListToolsFailed:                 func() ServerEvent { return &MCPListToolsStatus{Type: TypeMCPListToolsFailed} },
	TypeRateLimitsUpdated:                  func() ServerEvent { return new(RateLimitsUpdated) },
}
