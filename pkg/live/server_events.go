package live

import (
	"encoding/json"
)

// ServerEvent is an event the server sends. Types this package does not know decode
// as *UnknownEvent, with their raw JSON kept.
type ServerEvent interface {
	Event
	serverEvent()
}

// Server event types.
const (
	TypeSessionStarted        = "session.started"
	TypeSessionUpdated        = "session.updated"
	TypeOutputAudioDelta      = "session.output_audio.delta"
	TypeInputTranscriptDelta  = "session.input_transcript.delta"
	TypeOutputTranscriptDelta = "session.output_transcript.delta"
	TypeDelegationCreated     = "session.delegation.created"
	TypeResponseEvent         = "response.event"
	TypeSessionUsageUpdated   = "session.usage.updated"
	TypeError                 = "error"
	TypeInfo                  = "info"
	TypeSessionClosed         = "session.closed"
	TypeCommentaryAppended    = "session.commentary.appended"
	TypeThinkingAppended      = "session.thinking.appended"
	TypeInstructionsAppended  = "session.instructions.appended"
)

// SessionStarted answers session.start with the resolved session.
type SessionStarted struct {
	EventID       string          `json:"event_id"`
	ClientEventID string          `json:"client_event_id,omitempty"`
	Session       SessionResource `json:"session"`
}

// SessionUpdated answers an accepted session.update.
type SessionUpdated SessionStarted

// OutputAudioDelta is a chunk of the model's speech in the session's format. On the
// primary WebSocket it has no event_id and no timestamps (the types' shape).
type OutputAudioDelta struct {
	Delta Audio `json:"delta"`
}

// TranscriptDelta is a fragment of a transcript on the session timeline.
type TranscriptDelta struct {
	EventID       string `json:"event_id"`
	ClientEventID string `json:"client_event_id,omitempty"`
	Delta         string `json:"delta"`
	StartMs       int64  `json:"start_ms"`
	EndMs         int64  `json:"end_ms"`
}

// InputTranscriptDelta is the caller's speech as text.
type InputTranscriptDelta TranscriptDelta

// OutputTranscriptDelta is the model's speech as text.
type OutputTranscriptDelta TranscriptDelta

// DelegationCreated reports that the model delegated a task.
type DelegationCreated struct {
	EventID       string         `json:"event_id"`
	ClientEventID string         `json:"client_event_id,omitempty"`
	OffsetMs      int64          `json:"offset_ms"`
	Delegation    DelegationInfo `json:"delegation"`
}

// ResponseEvent carries one streaming event of the Responses backend (Event, which
// has its own "type"), tied to a delegation when DelegationID is set.
type ResponseEvent struct {
	EventID       string          `json:"event_id"`
	ClientEventID string          `json:"client_event_id,omitempty"`
	DelegationID  *string         `json:"delegation_id,omitempty"`
	Event         json.RawMessage `json:"event"`
}

// SessionUsageUpdated reports the session's cumulative audio seconds.
type SessionUsageUpdated struct {
	EventID       string         `json:"event_id"`
	ClientEventID string         `json:"client_event_id,omitempty"`
	Usage         Usage          `json:"usage"`
	ContextWindow *ContextWindow `json:"context_window,omitempty"`
}

// ErrorEvent reports an error, tied to a client event by Error.ClientEventID.
type ErrorEvent struct {
	EventID       string    `json:"event_id"`
	ClientEventID string    `json:"client_event_id,omitempty"`
	Error         ErrorInfo `json:"error"`
}

// Info is an informational notice.
type Info struct {
	EventID       string `json:"event_id"`
	ClientEventID string `json:"client_event_id,omitempty"`
	Code          string `json:"code"`
	Message       string `json:"message"`
}

// Reasons of session.closed.
const (
	ClosedRequested      = "close_requested"
	ClosedExpired        = "expired"
	ClosedContent        = "content"
	ClosedRemoteHangup   = "remote_hangup"
	ClosedConnectionLost = "connection_lost"
)

// SessionClosed is the last event of a session: why, and the final usage.
type SessionClosed struct {
	EventID       string          `json:"event_id"`
	ClientEventID string          `json:"client_event_id,omitempty"`
	Reason        string          `json:"reason"`
	Session       SessionResource `json:"session"`
	Usage         Usage           `json:"usage"`
}

// Appended acknowledges a commentary, thinking or instructions append on the
// session timeline.
type Appended struct {
	EventID       string `json:"event_id"`
	ClientEventID string `json:"client_event_id,omitempty"`
	StartMs       int64  `json:"start_ms"`
	EndMs         int64  `json:"end_ms"`
}

// CommentaryAppended acknowledges session.commentary.append.
type CommentaryAppended Appended

// ThinkingAppended acknowledges session.thinking.append.
type ThinkingAppended Appended

// InstructionsAppended acknowledges session.instructions.append.
type InstructionsAppended Appended

// UnknownEvent is any event without a typed struct here; Raw is the whole event.
// It is also how a fake server sends an arbitrary event.
type UnknownEvent struct {
	Type string
	Raw  json.RawMessage
}

func (*SessionStarted) EventType() string        { return TypeSessionStarted }
func (*SessionUpdated) EventType() string        { return TypeSessionUpdated }
func (*OutputAudioDelta) EventType() string      { return TypeOutputAudioDelta }
func (*InputTranscriptDelta) EventType() string  { return TypeInputTranscriptDelta }
func (*OutputTranscriptDelta) EventType() string { return TypeOutputTranscriptDelta }
func (*DelegationCreated) EventType() string     { return TypeDelegationCreated }
func (*ResponseEvent) EventType() string         { return TypeResponseEvent }
func (*SessionUsageUpdated) EventType() string   { return TypeSessionUsageUpdated }
func (*ErrorEvent) EventType() string            { return TypeError }
func (*Info) EventType() string                  { return TypeInfo }
func (*SessionClosed) EventType() string         { return TypeSessionClosed }
func (*CommentaryAppended) EventType() string    { return TypeCommentaryAppended }
func (*ThinkingAppended) EventType() string      { return TypeThinkingAppended }
func (*InstructionsAppended) EventType() string  { return TypeInstructionsAppended }
func (e *UnknownEvent) EventType() string        { return e.Type }

func (*SessionStarted) serverEvent()        {}
func (*SessionUpdated) serverEvent()        {}
func (*OutputAudioDelta) serverEvent()      {}
func (*InputTranscriptDelta) serverEvent()  {}
func (*OutputTranscriptDelta) serverEvent() {}
func (*DelegationCreated) serverEvent()     {}
func (*ResponseEvent) serverEvent()         {}
func (*SessionUsageUpdated) serverEvent()   {}
func (*ErrorEvent) serverEvent()            {}
func (*Info) serverEvent()                  {}
func (*SessionClosed) serverEvent()         {}
func (*CommentaryAppended) serverEvent()    {}
func (*ThinkingAppended) serverEvent()      {}
func (*InstructionsAppended) serverEvent()  {}
func (*UnknownEvent) serverEvent()          {}
func (*UnknownEvent) clientEvent()          {}

var serverEventTypes = map[string]func() ServerEvent{
	TypeSessionStarted:        func() ServerEvent { return new(SessionStarted) },
	TypeSessionUpdated:        func() ServerEvent { return new(SessionUpdated) },
	TypeOutputAudioDelta:      func() ServerEvent { return new(OutputAudioDelta) },
	TypeInputTranscriptDelta:  func() ServerEvent { return new(InputTranscriptDelta) },
	TypeOutputTranscriptDelta: func() ServerEvent { return new(OutputTranscriptDelta) },
	TypeDelegationCreated:     func() ServerEvent { return new(DelegationCreated) },
	TypeResponseEvent:         func() ServerEvent { return new(ResponseEvent) },
	TypeSessionUsageUpdated:   func() ServerEvent { return new(SessionUsageUpdated) },
	TypeError:                 func() ServerEvent { return new(ErrorEvent) },
	TypeInfo:                  func() ServerEvent { return new(Info) },
	TypeSessionClosed:         func() ServerEvent { return new(SessionClosed) },
	TypeCommentaryAppended:    func() ServerEvent { return new(CommentaryAppended) },
	TypeThinkingAppended:      func() ServerEvent { return new(ThinkingAppended) },
	TypeInstructionsAppended:  func() ServerEvent { return new(InstructionsAppended) },
}

// FunctionCall is a function tool call of the Responses backend.
type FunctionCall struct {
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	ID        string `json:"id,omitempty"`
}

// NestedType is the type of the Responses event inside, "" when unreadable.
func (e *ResponseEvent) NestedType() string {
	var head struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(e.Event, &head)
	return head.Type
}

// FunctionCall returns the backend's function call when the nested event is a
// response.output_item.done with a function_call item: the moment the call is
// complete. The application runs it and answers with ResponseItemCreate of
// FunctionCallOutput(call.CallID, result), then ResponseCreate.
func (e *ResponseEvent) FunctionCall() (FunctionCall, bool) {
	var ev struct {
		Type string `json:"type"`
		Item struct {
			Type string `json:"type"`
			FunctionCall
		} `json:"item"`
	}
	if json.Unmarshal(e.Event, &ev) != nil || ev.Type != "response.output_item.done" ||
		ev.Item.Type != "function_call" || ev.Item.CallID == "" || ev.Item.Name == "" {
		return FunctionCall{}, false
	}
	return ev.Item.FunctionCall, true
}

// BackendUsage is the token usage of a finished backend response.
type BackendUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	TotalTokens        int64 `json:"total_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
}

// Completed returns the backend model and its usage when the nested event is a
// response.completed (delegated Responses usage is reported this way, not in
// session.usage.updated).
func (e *ResponseEvent) Completed() (model string, usage BackendUsage, ok bool) {
	var ev struct {
		Type     string `json:"type"`
		Response struct {
			Model string        `json:"model"`
			Usage *BackendUsage `json:"usage"`
		} `json:"response"`
	}
	if json.Unmarshal(e.Event, &ev) != nil || ev.Type != "response.completed" || ev.Response.Usage == nil {
		return "", BackendUsage{}, false
	}
	return ev.Response.Model, *ev.Response.Usage, true
}
