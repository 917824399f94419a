package realtime

// Event is any Realtime event. EventType returns its "type" field.
type Event interface {
	EventType() string
}

// ClientEvent is an event the client sends to the server.
type ClientEvent interface {
	Event
	clientEvent()
}

// Client event types.
const (
	TypeSessionUpdate            = "session.update"
	TypeInputAudioBufferAppend   = "input_audio_buffer.append"
	TypeInputAudioBufferCommit   = "input_audio_buffer.commit"
	TypeInputAudioBufferClear    = "input_audio_buffer.clear"
	TypeConversationItemCreate   = "conversation.item.create"
	TypeConversationItemTruncate = "conversation.item.truncate"
	TypeConversationItemDelete   = "conversation.item.delete"
	TypeResponseCreate           = "response.create"
	TypeResponseCancel           = "response.cancel"
	// TypeOutputAudioBufferClear is WebRTC/SIP only: on a SIP call's sideband it
	// drops the audio OpenAI holds for the caller.
	TypeOutputAudioBufferClear = "output_audio_buffer.clear"
)

// SessionUpdate changes the session configuration.
type SessionUpdate struct {
	EventID string        `json:"event_id,omitempty"`
	Session SessionConfig `json:"session"`
}

// InputAudioBufferAppend adds caller audio to the input buffer.
type InputAudioBufferAppend struct {
	EventID string `json:"event_id,omitempty"`
	Audio   Audio  `json:"audio"`
}

// InputAudioBufferCommit commits the input buffer as a user item (without server VAD).
type InputAudioBufferCommit struct {
	EventID string `json:"event_id,omitempty"`
}

// InputAudioBufferClear discards the uncommitted input audio.
type InputAudioBufferClear struct {
	EventID string `json:"event_id,omitempty"`
}

// ConversationItemCreate adds an item (a message, a function call output, an MCP
// approval response) to the conversation.
type ConversationItemCreate struct {
	EventID        string `json:"event_id,omitempty"`
	PreviousItemID string `json:"previous_item_id,omitempty"`
	Item           Item   `json:"item"`
}

// ConversationItemTruncate cuts an assistant audio item at AudioEndMs, so the model's
// memory matches what the caller heard.
type ConversationItemTruncate struct {
	EventID      string `json:"event_id,omitempty"`
	ItemID       string `json:"item_id"`
	ContentIndex int    `json:"content_index"`
	AudioEndMs   int    `json:"audio_end_ms"`
}

// ConversationItemDelete removes an item.
type ConversationItemDelete struct {
	EventID string `json:"event_id,omitempty"`
	ItemID  string `json:"item_id"`
}

// ResponseCreate asks the model to respond. Response may be nil.
type ResponseCreate struct {
	EventID  string          `json:"event_id,omitempty"`
	Response *ResponseParams `json:"response,omitempty"`
}

// ResponseCancel cancels the in-progress response.
type ResponseCancel struct {
	EventID    string `json:"event_id,omitempty"`
	ResponseID string `json:"response_id,omitempty"`
}

// OutputAudioBufferClear cuts off the audio OpenAI is playing to a WebRTC or SIP
// caller (its output audio buffer); the server answers output_audio_buffer.cleared.
// It should follow a response.cancel, which stops the generation (openai
// resources/realtime OutputAudioBufferClearEvent). Refused on a plain WebSocket
// session, whose client plays the audio itself.
type OutputAudioBufferClear struct {
	EventID string `json:"event_id,omitempty"`
}

func (*SessionUpdate) EventType() string            { return TypeSessionUpdate }
func (*InputAudioBufferAppend) EventType() string   { return TypeInputAudioBufferAppend }
func (*InputAudioBufferCommit) EventType() string   { return TypeInputAudioBufferCommit }
func (*InputAudioBufferClear) EventType() string    { return TypeInputAudioBufferClear }
func (*ConversationItemCreate) EventType() string   { return TypeConversationItemCreate }
func (*ConversationItemTruncate) EventType() string { return TypeConversationItemTruncate }
func (*ConversationItemDelete) EventType() string   { return TypeConversationItemDelete }
func (*ResponseCreate) EventType() string           { return TypeResponseCreate }
func (*ResponseCancel) EventType() string           { return TypeResponseCancel }
func (*OutputAudioBufferClear) EventType() string   { return TypeOutputAudioBufferClear }

func (*SessionUpdate) clientEvent()            {}
func (*InputAudioBufferAppend) clientEvent()   {}
func (*InputAudioBufferCommit) clientEvent()   {}
func (*InputAudioBufferClear) clientEvent()    {}
func (*ConversationItemCreate) clientEvent()   {}
func (*ConversationItemTruncate) clientEvent() {}
func (*ConversationItemDelete) clientEvent()   {}
func (*ResponseCreate) clientEvent()           {}
func (*ResponseCancel) clientEvent()           {}
func (*OutputAudioBufferClear) clientEvent()   {}

// clientEventTypes maps each client event type to a constructor, for decoding.
var clientEventTypes = map[string]func() ClientEvent{
	TypeSessionUpdate:            func() ClientEvent { return new(SessionUpdate) },
	TypeInputAudioBufferAppend:   func() ClientEvent { return new(InputAudioBufferAppend) },
	TypeInputAudioBufferCommit:   func() ClientEvent { return new(InputAudioBufferCommit) },
	TypeInputAudioBufferClear:    func() ClientEvent { return new(InputAudioBufferClear) },
	TypeConversationItemCreate:   func() ClientEvent { return new(ConversationItemCreate) },
	TypeConversationItemTruncate: func() ClientEvent { return new(ConversationItemTruncate) },
	TypeConversationItemDelete:   func() ClientEvent { return new(ConversationItemDelete) },
	TypeResponseCreate:           func() ClientEvent { return new(ResponseCreate) },
	TypeResponseCancel:           func() ClientEvent { return new(ResponseCancel) },
	TypeOutputAudioBufferClear:   func() ClientEvent { return new(OutputAudioBufferClear) },
}
