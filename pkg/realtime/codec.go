package realtime

import (
	"encoding/json"
	"fmt"

	"github.com/callagent/callagent/internal/jsonscan"
)

// Marshal encodes ev as a JSON object with its "type" member first.
func Marshal(ev Event) ([]byte, error) {
	return AppendEvent(nil, ev)
}

// AppendEvent appends the JSON encoding of ev to dst.
func AppendEvent(dst []byte, ev Event) ([]byte, error) {
	switch e := ev.(type) {
	case *UnknownEvent:
		return append(dst, e.Raw...), nil
	case *InputAudioBufferAppend:
		if e.EventID == "" {
			return AppendAudioAppend(dst, e.Audio), nil
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return dst, fmt.Errorf("encode %s: %w", ev.EventType(), err)
	}
	dst = append(dst, `{"type":`...)
	dst = jsonscan.AppendString(dst, ev.EventType())
	if len(body) > 2 {
		dst = append(dst, ',')
		dst = append(dst, body[1:]...)
	} else {
		dst = append(dst, '}')
	}
	return dst, nil
}

// AppendAudioAppend appends an input_audio_buffer.append event carrying audio, which
// must be base64 text (it is written as is, not escaped).
func AppendAudioAppend(dst []byte, audio []byte) []byte {
	dst = append(dst, `{"type":"input_audio_buffer.append","audio":"`...)
	dst = append(dst, audio...)
	return append(dst, `"}`...)
}

// DecodeServerEvent decodes one server event. Unknown types become *UnknownEvent.
func DecodeServerEvent(data []byte) (ServerEvent, error) {
	typ, err := eventType(data)
	if err != nil {
		return nil, err
	}
	newEv, ok := serverEventTypes[typ]
	if !ok {
		return &UnknownEvent{Type: typ, Raw: append(json.RawMessage(nil), data...)}, nil
	}
	ev := newEv()
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, &DecodeError{Type: typ, Err: err}
	}
	return ev, nil
}

// DecodeClientEvent decodes one client event, for fake servers and tests.
func DecodeClientEvent(data []byte) (ClientEvent, error) {
	typ, err := eventType(data)
	if err != nil {
		return nil, err
	}
	newEv, ok := clientEventTypes[typ]
	if !ok {
		return &UnknownEvent{Type: typ, Raw: append(json.RawMessage(nil), data...)}, nil
	}
	ev := newEv()
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, &DecodeError{Type: typ, Err: err}
	}
	return ev, nil
}

// eventType validates data as a JSON object and returns its "type" member.
func eventType(data []byte) (string, error) {
	var o jsonscan.Object
	o.Reset(data)
	var raw []byte
	for o.Next() {
		if o.KeyIs("type") {
			raw = o.Value()
		}
	}
	if err := o.Err(); err != nil {
		return "", &DecodeError{Err: err}
	}
	if raw == nil {
		return "", &DecodeError{Err: errNoType}
	}
	typ, err := jsonscan.Unquote(raw)
	if err != nil {
		return "", &DecodeError{Err: errNoType}
	}
	return typ, nil
}

// decoder decodes server events for Conn.ReadEvent with a fast path for audio deltas,
// which arrive many times a second and must not allocate.
type decoder struct {
	obj   jsonscan.Object
	delta ResponseOutputAudioDelta
}

func (d *decoder) decode(data []byte) (ServerEvent, error) {
	if ev, ok := d.decodeDelta(data); ok {
		return ev, nil
	}
	return DecodeServerEvent(data)
}

// decodeDelta decodes data in place if it is an audio delta without escapes in the
// fields it reads. Anything else (other types, escapes, odd shapes) returns false and
// goes through encoding/json, which also reports errors precisely.
func (d *decoder) decodeDelta(data []byte) (ServerEvent, bool) {
	var typ, item, resp, delta, outIdx, contIdx []byte
	d.obj.Reset(data)
	for d.obj.Next() {
		if d.obj.KeyEscaped() {
			return nil, false
		}
		switch k := d.obj.Key(); string(k) {
		case "type":
			typ = d.obj.Value()
		case "item_id":
			item = d.obj.Value()
		case "response_id":
			resp = d.obj.Value()
		case "delta":
			delta = d.obj.Value()
		case "output_index":
			outIdx = d.obj.Value()
		case "content_index":
			contIdx = d.obj.Value()
		default:
			if jsonscan.FoldsTo(k, "type", "event_id", "item_id", "response_id", "delta", "output_index", "content_index") {
				return nil, false
			}
		}
	}
	if d.obj.Err() != nil || string(typ) != `"`+TypeResponseOutputAudioDelta+`"` {
		return nil, false
	}
	deltaB, esc1, ok1 := jsonscan.String(delta)
	itemB, esc2, ok2 := jsonscan.String(item)
	respB, esc3, ok3 := jsonscan.String(resp)
	if !ok1 || !ok2 || !ok3 || esc1 || esc2 || esc3 ||
		!jsonscan.ASCII(deltaB) || !jsonscan.ASCII(itemB) || !jsonscan.ASCII(respB) {
		return nil, false
	}
	e := &d.delta
	e.Delta = deltaB
	intern(&e.ItemID, itemB)
	intern(&e.ResponseID, respB)
	e.OutputIndex, e.ContentIndex = 0, 0
	if outIdx != nil {
		n, ok := jsonscan.Int(outIdx)
		if !ok || outIdx[0] == '"' {
			return nil, false
		}
		e.OutputIndex = int(n)
	}
	if contIdx != nil {
		n, ok := jsonscan.Int(contIdx)
		if !ok || contIdx[0] == '"' {
			return nil, false
		}
		e.ContentIndex = int(n)
	}
	return e, true
}

// intern sets *s to b, reusing the current string when it is equal: item and
// response IDs repeat for every delta of a response.
func intern(s *string, b []byte) {
	if *s != string(b) {
		*s = string(b)
	}
}
