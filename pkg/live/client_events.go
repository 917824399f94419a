package live

// Event is any Live event. EventType returns its "type" member.
type Event interface {
	EventType() string
}

// ClientEvent is an event the client sends.
type ClientEvent interface {
	Event
	clientEvent()
}

// Client event types.
const (
	TypeSessionStart       = "session.start"
	TypeSessionUpdate      = "session.update"
	TypeInputAudioAppend   = "session.input_audio.append"
	TypeCommentaryAppend   = "session.commentary.append"
	TypeThinkingAppend     = "session.thinking.append"
	TypeInstructionsAppend = "session.instructions.append"
	TypeSessionClose       = "session.close"
	TypeResponseItemCreate = "response.item.create"
	TypeResponseCreate     = "response.create"
)

// SessionStart is the first message of a connection: the session's configuration.
type SessionStart struct {
	EventID string        `json:"event_id,omitempty"`
	Session SessionConfig `json:"session"`
}

// SessionUpdate changes the delegation settings of a running session.
type SessionUpdate struct {
	EventID string              `json:"event_id,omitempty"`
	Session SessionUpdateConfig `json:"session"`
}

// InputAudioAppend sends caller audio in the session's format. It is never
// acknowledged.
type InputAudioAppend struct {
	EventID string `json:"event_id,omitempty"`
	Audio   Audio  `json:"audio"`
}

// ContextAppend is what session.commentary.append (speakable context: a result the
// model should say), session.thinking.append (silent context) and
// session.instructions.append (developer instructions kept in the history) carry.
// DelegationID is required and nullable: nil for general context, or the ID of a
// client delegation this answers (not accepted with Responses delegation).
type ContextAppend struct {
	EventID      string  `json:"event_id,omitempty"`
	Content      string  `json:"content"`
	DelegationID *string `json:"delegation_id"`
}

// CommentaryAppend is session.commentary.append.
type CommentaryAppend ContextAppend

// ThinkingAppend is session.thinking.append.
type ThinkingAppend ContextAppend

// InstructionsAppend is session.instructions.append.
type InstructionsAppend ContextAppend

// SessionClose asks the server to finish the session; session.closed follows with
// the final usage.
type SessionClose struct {
	EventID string `json:"event_id,omitempty"`
}

// ResponseItemCreate adds an input item (a function call's output) to the Responses
// backend's conversation. Requires Responses delegation.
type ResponseItemCreate struct {
	EventID string    `json:"event_id,omitempty"`
	Item    InputItem `json:"item"`
}

// ResponseCreate asks the Responses backend to respond, or continues a delegated
// response waiting for tool results. Requires Responses delegation.
type ResponseCreate struct {
	EventID string `json:"event_id,omitempty"`
}

func (*SessionStart) EventType() string       { return TypeSessionStart }
func (*SessionUpdate) EventType() string      { return TypeSessionUpdate }
func (*InputAudioAppend) EventType() string   { return TypeInputAudioAppend }
func (*CommentaryAppend) EventType() string   { return TypeCommentaryAppend }
func (*ThinkingAppend) EventType() string     { return TypeThinkingAppend }
func (*InstructionsAppend) EventType() string { return TypeInstructionsAppend }
func (*SessionClose) EventType() string       { return TypeSessionClose }
func (*ResponseItemCreate) EventType() string { return TypeResponseItemCreate }
func (*ResponseCreate) EventType() string     { return TypeResponseCreate }

func (*SessionStart) clientEvent()       {}
func (*SessionUpdate) clientEvent()      {}
func (*InputAudioAppend) clientEvent()   {}
func (*CommentaryAppend) clientEvent()   {}
func (*ThinkingAppend) clientEvent()     {}
func (*InstructionsAppend) clientEvent() {}
func (*SessionClose) clientEvent()       {}
func (*ResponseItemCreate) clientEvent() {}
func (*ResponseCreate) clientEvent()     {}

var clientEventTypes = map[string]func() ClientEvent{
	TypeSessionStart:       func() ClientEvent { return new(SessionStart) },
	TypeSessionUpdate:      func() ClientEvent { return new(SessionUpdate) },
	TypeInputAudioAppend:   func() ClientEvent { return new(InputAudioAppend) },
	TypeCommentaryAppend:   func() ClientEvent { return new(CommentaryAppend) },
	TypeThinkingAppend:     func() ClientEvent { return new(ThinkingAppend) },
	TypeInstructionsAppend: func() ClientEvent { return new(InstructionsAppend) },
	TypeSessionClose:       func() ClientEvent { return new(SessionClose) },
	TypeResponseItemCreate: func() ClientEvent { return new(ResponseItemCreate) },
	TypeResponseCreate:     func() ClientEvent { return new(ResponseCreate) },
}
