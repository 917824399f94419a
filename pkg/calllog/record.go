package calllog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"time"
)

// ServerRecord is a line of a server's log that is not a call event: the server's own
// warnings and errors (a refused Twilio signature, a recording not saved), as
// slog.JSONHandler writes them in serve's output. Its text comes from anyone who
// can reach the server (paths, remote addresses): sanitise it before a terminal.
type ServerRecord struct {
	Time  time.Time
	Level slog.Level
	Msg   string
	// Attrs are the line's other members in their order: a string's text, any
	// other value as its JSON.
	Attrs []Attr
	// Raw is the line itself, compact, its invalid UTF-8 replaced.
	Raw json.RawMessage
}

// Attr is one member of a ServerRecord.
type Attr struct {
	Key, Value string
}

// parseRecord reads a slog JSON line: an object with a string "msg". Anything
// else is not a record.
func parseRecord(data []byte) (ServerRecord, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ServerRecord{}, false
	}
	var r ServerRecord
	hasMsg := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ServerRecord{}, false
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return ServerRecord{}, false
		}
		var s string
		isString := json.Unmarshal(v, &s) == nil
		switch key {
		case slog.TimeKey:
			if isString {
				r.Time, _ = time.Parse(time.RFC3339Nano, s)
				continue
			}
		case slog.LevelKey:
			if isString && r.Level.UnmarshalText([]byte(strings.ToUpper(s))) == nil {
				continue
			}
		case slog.MessageKey:
			if isString && !hasMsg {
				r.Msg, hasMsg = s, true
				continue
			}
		}
		if !isString {
			var b bytes.Buffer
			if json.Compact(&b, v) == nil {
				s = b.String()
			} else {
				s = string(v)
			}
		}
		r.Attrs = append(r.Attrs, Attr{Key: key, Value: s})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') || !hasMsg {
		return ServerRecord{}, false
	}
	if _, err := dec.Token(); err == nil {
		return ServerRecord{}, false // more after the object
	}
	var raw bytes.Buffer
	if json.Compact(&raw, []byte(strings.ToValidUTF8(string(data), "\ufffd"))) != nil {
		return ServerRecord{}, false
	}
	r.Raw = raw.Bytes()
	return r, true
}
