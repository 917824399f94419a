// Package calllog is the record of calls: every call event as one JSON line
// with its time, call SID, namespace, level and type, and the DEBUG-style
// namespace filters that choose which debug events are shown.
//
// A line looks like
//
//	{"time":"2026-11-23T10:00:01.5Z","level":"info","ns":"callagent:session","type":"caller.transcript","call_sid":"CA…","fields":{"item_id":"…","text":"…"}}
//
// and Line.Event turns it back into the call event, so anything that renders
// live events renders logged ones the same way.
package calllog

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// Line is one logged event.
type Line struct {
	Time    time.Time       `json:"time"`
	Level   string          `json:"level"`
	NS      string          `json:"ns"`
	Type    string          `json:"type"`
	CallSID string          `json:"call_sid,omitempty"`
	Fields  json.RawMessage `json:"fields,omitempty"`
}

// FromEvent makes the line of an event.
func FromEvent(ev callevent.Event) (Line, error) {
	fields, err := json.Marshal(ev)
	if err != nil {
		return Line{}, fmt.Errorf("%s: %w", ev.Kind(), err)
	}
	h := ev.EventHeader()
	if string(fields) == "{}" {
		fields = nil
	}
	return Line{Time: h.Time.UTC(), Level: levelName(callevent.Level(ev)), NS: callevent.Namespace(ev), Type: ev.Kind(), CallSID: h.CallSID, Fields: fields}, nil
}

// Marshal encodes an event as one JSON line, without the newline.
func Marshal(ev callevent.Event) ([]byte, error) {
	l, err := FromEvent(ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(l)
}

// Event rebuilds the call event of a line.
func (l Line) Event() (callevent.Event, error) {
	return callevent.DecodeEvent(l.Type, l.Fields, callevent.Header{Time: l.Time, CallSID: l.CallSID})
}

func levelName(l slog.Level) string { return strings.ToLower(l.String()) }
