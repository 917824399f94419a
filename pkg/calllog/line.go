// Package calllog is the record of calls: every session event as one JSON line
// with its time, call SID, namespace, level and type, and the DEBUG-style
// namespace filters that choose which debug events are shown.
//
// A line looks like
//
//	{"time":"2026-11-23T10:00:01.5Z","level":"info","ns":"callagent:session","type":"caller.transcript","call_sid":"CA…","fields":{"item_id":"…","text":"…"}}
//
// and Line.Event turns it back into the session event, so anything that renders
// live events renders logged ones the same way.
package calllog

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/session"
)

// Namespaces, as DEBUG names them.
const (
	NSTwilio    = "callagent:twilio"    // Media Streams frames
	NSRealtime  = "callagent:realtime"  // OpenAI Realtime events
	NSSession   = "callagent:session"   // the call: transcripts, turns, interruptions
	NSTool      = "callagent:tool"      // tool calls, approvals, results
	NSHTTP      = "callagent:http"      // webhook requests
	NSTunnel    = "callagent:tunnel"    // the ngrok session
	NSProvision = "callagent:provision" // the phone number's configuration
)

// Namespaces lists every namespace, for help texts and validation.
var Namespaces = []string{NSTwilio, NSRealtime, NSSession, NSTool, NSHTTP, NSTunnel, NSProvision}

// Line is one logged event.
type Line struct {
	Time    time.Time       `json:"time"`
	Level   string          `json:"level"`
	NS      string          `json:"ns"`
	Type    string          `json:"type"`
	CallSID string          `json:"call_sid,omitempty"`
	Fields  json.RawMessage `json:"fields,omitempty"`
}

// Namespace says which namespace an event belongs to.
func Namespace(ev session.Event) string {
	switch e := ev.(type) {
	case session.RawFrame:
		if e.Source == session.SourceTwilio {
			return NSTwilio
		}
		return NSRealtime
	case session.ToolCall, session.ToolApprovalRequested, session.ToolApprovalDecided, session.ToolResult, session.MCPEvent:
		return NSTool
	case session.HTTPRequest:
		return NSHTTP
	}
	return NSSession
}

// Level says how much an event matters: debug events are shown only when their
// namespace is enabled.
func Level(ev session.Event) slog.Level {
	switch e := ev.(type) {
	case session.RawFrame, session.HTTPRequest, session.MediaStats, session.SpeechStarted, session.SpeechStopped,
		session.CallerTranscriptDelta, session.AgentTranscriptDelta, session.ResponseDone, session.MCPEvent:
		return slog.LevelDebug
	case session.ModelError, session.Warning, session.GuardrailTripped:
		return slog.LevelWarn
	case session.ToolResult:
		if e.Err != nil {
			return slog.LevelWarn
		}
	case session.CallEnded:
		if e.Err != nil {
			return slog.LevelError
		}
	}
	return slog.LevelInfo
}

// IsDebug reports whether ev is a debug event.
func IsDebug(ev session.Event) bool { return Level(ev) == slog.LevelDebug }

// FromEvent makes the line of an event.
func FromEvent(ev session.Event) (Line, error) {
	fields, err := json.Marshal(ev)
	if err != nil {
		return Line{}, fmt.Errorf("%s: %w", ev.Kind(), err)
	}
	h := ev.EventHeader()
	if string(fields) == "{}" {
		fields = nil
	}
	return Line{Time: h.Time.UTC(), Level: levelName(Level(ev)), NS: Namespace(ev), Type: ev.Kind(), CallSID: h.CallSID, Fields: fields}, nil
}

// Marshal encodes an event as one JSON line, without the newline.
func Marshal(ev session.Event) ([]byte, error) {
	l, err := FromEvent(ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(l)
}

// Event rebuilds the session event of a line.
func (l Line) Event() (session.Event, error) {
	return session.DecodeEvent(l.Type, l.Fields, session.Header{Time: l.Time, CallSID: l.CallSID})
}

func levelName(l slog.Level) string { return strings.ToLower(l.String()) }
