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
		if _, ok := jsonscan.Base64Len(e.Audio); ok && e.EventID == "" {
			return AppendAudioAppend(dst, e.Audio), nil // base64 needs no escaping
		}
	}
	out, err := jsonscan.AppendTagged(dst, "type", ev.EventType(), ev)
	if err != nil {
		return dst, fmt.Errorf("encode %s: %w", ev.EventType(), err)
	}
	return out, nil
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
	return decode(data, serverEventTypes)
}

// DecodeClientEvent decodes one client event, for fake servers and tests.
func DecodeClientEvent(data []byte) (ClientEvent, error) {
	return decode(data, clientEventTypes)
}

// decode reads the "type" member, picks the struct for it from types and decodes
// data into it; E is ServerEvent or ClientEvent, both satisfied by *UnknownEvent.
func decode[E Event](data []byte, types map[string]func() E) (E, error) {
	var zero E
	raw, err := jsonscan.Lookup(data, "type")
	if err != nil {
		return zero, &DecodeError{Err: err}
	}
	typ, err := jsonscan.Unquote(raw)
	if raw == nil || err != nil {
		return zero, &DecodeError{Err: errNoType}
	}
	newEv, ok := types[typ]
	if !ok {
		var unknown Event = &UnknownEvent{Type: typ, Raw: append(json.RawMessage(nil), data...)}
		return unknown.(E), nil
	}
	ev := newEv()
	if err := json.Unmarshal(data, ev); err != nil {
		return zero, &DecodeError{Type: typ, Err: err}
	}
	return ev, nil
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
