package live

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
	case *InputAudioAppend:
		if _, ok := jsonscan.Base64Len(e.Audio); ok && e.EventID == "" {
			return appendAudioEvent(dst, TypeInputAudioAppend, "audio", e.Audio), nil
		}
	case *OutputAudioDelta:
		if _, ok := jsonscan.Base64Len(e.Delta); ok {
			return appendAudioEvent(dst, TypeOutputAudioDelta, "delta", e.Delta), nil
		}
	}
	out, err := jsonscan.AppendTagged(dst, "type", ev.EventType(), ev)
	if err != nil {
		return dst, fmt.Errorf("encode %s: %w", ev.EventType(), err)
	}
	return out, nil
}

// appendAudioEvent appends {"type":TYP,"KEY":"AUDIO"}; audio is base64 text, which
// needs no escaping.
func appendAudioEvent(dst []byte, typ, key string, audio []byte) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","`...)
	dst = append(dst, key...)
	dst = append(dst, `":"`...)
	dst = append(dst, audio...)
	return append(dst, `"}`...)
}

// DecodeServerEvent decodes one server event. Unknown types become *UnknownEvent.
func DecodeServerEvent(data []byte) (ServerEvent, error) {
	return decode(data, serverEventTypes)
}

// DecodeClientEvent decodes one client event, for fake servers and tests. Unknown
// types become *UnknownEvent.
func DecodeClientEvent(data []byte) (ClientEvent, error) {
	return decode(data, clientEventTypes)
}

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

// Decoder decodes events with an allocation-free path for the audio frames, which
// arrive fifty times a second: a server output audio delta (ReadServer) and a client
// input audio append (ReadClient, for the twin). The audio event returned is reused
// and valid until the next call. A Decoder is used by one goroutine.
type Decoder struct {
	obj    jsonscan.Object
	delta  OutputAudioDelta
	append InputAudioAppend
}

// DecodeServer decodes a server event.
func (d *Decoder) DecodeServer(data []byte) (ServerEvent, error) {
	if audio, ok := d.audio(data, TypeOutputAudioDelta, "delta", ""); ok {
		d.delta.Delta = audio
		return &d.delta, nil
	}
	return DecodeServerEvent(data)
}

// DecodeClient decodes a client event.
func (d *Decoder) DecodeClient(data []byte) (ClientEvent, error) {
	if audio, ok := d.audio(data, TypeInputAudioAppend, "audio", "event_id"); ok {
		d.append.Audio = audio
		return &d.append, nil
	}
	return DecodeClientEvent(data)
}

// audio returns the audio of data when it is an event of type typ whose members are
// type, key and (when not "") optional, without escapes in what it reads, its audio
// plain ASCII. Anything else returns false and goes through encoding/json, which also
// reports errors precisely. The event_id of an append is checked to be a string
// and not kept: nothing on the audio path reads it.
func (d *Decoder) audio(data []byte, typ, key, optional string) ([]byte, bool) {
	var t, a []byte
	d.obj.Reset(data)
	for d.obj.Next() {
		if d.obj.KeyEscaped() {
			return nil, false
		}
		switch k := d.obj.Key(); {
		case string(k) == "type":
			t = d.obj.Value()
		case string(k) == key:
			a = d.obj.Value()
		case optional != "" && string(k) == optional:
			if _, esc, ok := jsonscan.String(d.obj.Value()); !ok || esc {
				return nil, false
			}
		default:
			// Another member (timestamps of a sideband delta), or a key
			// encoding/json would fold onto one of ours: the slow path decides.
			return nil, false
		}
	}
	if d.obj.Err() != nil || len(t) != len(typ)+2 || string(t[1:len(t)-1]) != typ || t[0] != '"' {
		return nil, false
	}
	b, esc, ok := jsonscan.String(a)
	if !ok || esc || !jsonscan.ASCII(b) {
		return nil, false
	}
	return b, true
}
