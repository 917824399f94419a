package twiliotransport

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/callagent/callagent/internal/jsonscan"
)

var counterType = reflect.TypeFor[Counter]()

// Marshal encodes f as a Media Streams message with its "event" member first.
func Marshal(f Frame) ([]byte, error) {
	if u, ok := f.(*Unknown); ok {
		return append([]byte(nil), u.Raw...), nil
	}
	out, err := jsonscan.AppendTagged(nil, "event", f.FrameEvent(), f)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", f.FrameEvent(), err)
	}
	return out, nil
}

// DecodeFrame decodes one message. Unknown events become *Unknown; a malformed one
// returns a *DecodeError.
func DecodeFrame(data []byte) (Frame, error) {
	raw, err := jsonscan.Lookup(data, "event")
	if err != nil {
		return nil, &DecodeError{Err: err}
	}
	event, err := jsonscan.Unquote(raw)
	if raw == nil || err != nil {
		return nil, &DecodeError{Err: errNoEvent}
	}
	newFrame, ok := frameTypes[event]
	if !ok {
		return &Unknown{Event: event, Raw: append(json.RawMessage(nil), data...)}, nil
	}
	f := newFrame()
	if err := json.Unmarshal(data, f); err != nil {
		return nil, &DecodeError{Event: event, Err: err}
	}
	return f, nil
}

// mediaDecoder decodes inbound media without allocating (50 frames a second per
// call), and mark echoes with one allocation (one per agent chunk).
type mediaDecoder struct {
	top, inner jsonscan.Object
	media      Media
	mark       Mark
}

// decodeMark decodes data in place when it is a plain mark echo; anything else
// returns false for DecodeFrame.
func (d *mediaDecoder) decodeMark(data []byte) (*Mark, bool) {
	var event, seq, sid, mark []byte
	d.top.Reset(data)
	for d.top.Next() {
		if d.top.KeyEscaped() {
			return nil, false
		}
		switch string(d.top.Key()) {
		case "event":
			event = d.top.Value()
		case "sequenceNumber":
			seq = d.top.Value()
		case "streamSid":
			sid = d.top.Value()
		case "mark":
			mark = d.top.Value()
		default:
			if jsonscan.FoldsTo(d.top.Key(), "event", "sequenceNumber", "streamSid", "mark") {
				return nil, false
			}
		}
	}
	if d.top.Err() != nil || string(event) != `"mark"` || len(mark) == 0 || mark[0] != '{' {
		return nil, false
	}
	m := &d.mark
	m.SequenceNumber = 0
	if seq != nil {
		n, ok := jsonscan.Int(seq)
		if !ok {
			return nil, false
		}
		m.SequenceNumber = Counter(n)
	}
	if sid == nil {
		m.StreamSid = ""
	} else if !plainString(sid, &m.StreamSid) {
		return nil, false
	}
	var name []byte
	d.inner.Reset(mark)
	for d.inner.Next() {
		if d.inner.KeyEscaped() {
			return nil, false
		}
		if string(d.inner.Key()) == "name" {
			name = d.inner.Value()
		} else if jsonscan.FoldsTo(d.inner.Key(), "name") {
			return nil, false
		}
	}
	if d.inner.Err() != nil || name == nil {
		return nil, false
	}
	if !plainString(name, &m.Mark.Name) {
		return nil, false
	}
	return m, true
}

// decode decodes data in place when it is a plain media message (no escapes,
// ASCII strings, integer counters); anything else returns false for DecodeFrame.
func (d *mediaDecoder) decode(data []byte) (*Media, bool) {
	var event, seq, sid, media []byte
	d.top.Reset(data)
	for d.top.Next() {
		if d.top.KeyEscaped() {
			return nil, false
		}
		switch string(d.top.Key()) {
		case "event":
			event = d.top.Value()
		case "sequenceNumber":
			seq = d.top.Value()
		case "streamSid":
			sid = d.top.Value()
		case "media":
			media = d.top.Value()
		default:
			if jsonscan.FoldsTo(d.top.Key(), "event", "sequenceNumber", "streamSid", "media") {
				return nil, false
			}
		}
	}
	if d.top.Err() != nil || string(event) != `"media"` || len(media) == 0 || media[0] != '{' {
		return nil, false
	}
	m := &d.media
	*m = Media{StreamSid: m.StreamSid, Media: MediaPayload{Track: m.Media.Track}}
	if seq != nil {
		n, ok := jsonscan.Int(seq)
		if !ok {
			return nil, false
		}
		m.SequenceNumber = Counter(n)
	}
	if sid != nil {
		if !plainString(sid, &m.StreamSid) {
			return nil, false
		}
	} else {
		m.StreamSid = ""
	}
	var track, chunk, ts, payload []byte
	d.inner.Reset(media)
	for d.inner.Next() {
		if d.inner.KeyEscaped() {
			return nil, false
		}
		switch string(d.inner.Key()) {
		case "track":
			track = d.inner.Value()
		case "chunk":
			chunk = d.inner.Value()
		case "timestamp":
			ts = d.inner.Value()
		case "payload":
			payload = d.inner.Value()
		default:
			if jsonscan.FoldsTo(d.inner.Key(), "track", "chunk", "timestamp", "payload") {
				return nil, false
			}
		}
	}
	if d.inner.Err() != nil {
		return nil, false
	}
	if track != nil {
		if !plainString(track, &m.Media.Track) {
			return nil, false
		}
	} else {
		m.Media.Track = ""
	}
	for _, f := range []struct {
		raw []byte
		dst *Counter
	}{{chunk, &m.Media.Chunk}, {ts, &m.Media.Timestamp}} {
		if f.raw == nil {
			continue
		}
		n, ok := jsonscan.Int(f.raw)
		if !ok {
			return nil, false
		}
		*f.dst = Counter(n)
	}
	if payload != nil {
		c, escaped, ok := jsonscan.String(payload)
		if !ok || escaped || !jsonscan.ASCII(c) {
			return nil, false
		}
		m.Media.Payload = c
	}
	return m, true
}

// plainString sets *dst from a raw JSON string without escapes and with ASCII only,
// reusing *dst when equal. It reports false for anything else.
func plainString(raw []byte, dst *string) bool {
	c, escaped, ok := jsonscan.String(raw)
	if !ok || escaped || !jsonscan.ASCII(c) {
		return false
	}
	if *dst != string(c) {
		*dst = string(c)
	}
	return true
}

// appendMedia appends an outbound media message; sid is the JSON-quoted stream SID
// and payload valid base64.
func appendMedia(dst, sid, payload []byte) []byte {
	dst = append(dst, `{"event":"media","streamSid":`...)
	dst = append(dst, sid...)
	dst = append(dst, `,"media":{"payload":"`...)
	dst = append(dst, payload...)
	return append(dst, `"}}`...)
}

// appendMark appends an outbound mark message named by the playback tracker.
func appendMark(dst, sid []byte, gen uint32, itemID string, offset int64) []byte {
	dst = append(dst, `{"event":"mark","streamSid":`...)
	dst = append(dst, sid...)
	dst = append(dst, `,"mark":{"name":"`...)
	dst = appendMarkName(dst, gen, itemID, offset)
	return append(dst, `"}}`...)
}

// appendClear appends an outbound clear message.
func appendClear(dst, sid []byte) []byte {
	dst = append(dst, `{"event":"clear","streamSid":`...)
	dst = append(dst, sid...)
	return append(dst, '}')
}
