package twiliotransport

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/callagent/callagent/internal/jsonscan"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// Messages as Twilio documents them.
const (
	wireConnected = `{"event":"connected","protocol":"Call","version":"1.0.0"}`
	wireStart     = `{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"From":"+15550001111","To":"+15552223333"}},"streamSid":"MZ1"}`
	wireMedia     = `{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"/////w=="},"streamSid":"MZ1"}`
	wireMark      = `{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"0:item_1:160"}}`
	wireDTMF      = `{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}`
	wireStop      = `{"event":"stop","sequenceNumber":"6","stop":{"accountSid":"AC1","callSid":"CA1"},"streamSid":"MZ1"}`
)

func TestDecodeFrames(t *testing.T) {
	tests := []struct {
		in   string
		want Frame
	}{
		{wireConnected, &Connected{Protocol: "Call", Version: "1.0.0"}},
		{wireStart, &Start{SequenceNumber: 1, StreamSid: "MZ1", Start: StartInfo{
			AccountSid: "AC1", StreamSid: "MZ1", CallSid: "CA1", Tracks: []string{"inbound"},
			MediaFormat:      MediaFormat{Encoding: "audio/x-mulaw", SampleRate: 8000, Channels: 1},
			CustomParameters: map[string]string{"From": "+15550001111", "To": "+15552223333"}}}},
		{wireMedia, &Media{SequenceNumber: 3, StreamSid: "MZ1", Media: MediaPayload{Track: "inbound", Chunk: 1, Timestamp: 5, Payload: Payload("/////w==")}}},
		{wireMark, &Mark{SequenceNumber: 4, StreamSid: "MZ1", Mark: MarkInfo{Name: "0:item_1:160"}}},
		{wireDTMF, &DTMF{SequenceNumber: 5, StreamSid: "MZ1", DTMF: DTMFInfo{Track: "inbound_track", Digit: "1"}}},
		{wireStop, &Stop{SequenceNumber: 6, StreamSid: "MZ1", Stop: StopInfo{AccountSid: "AC1", CallSid: "CA1"}}},
		{`{"event":"future","x":1}`, &Unknown{Event: "future", Raw: json.RawMessage(`{"event":"future","x":1}`)}},
	}
	for _, tt := range tests {
		got, err := DecodeFrame([]byte(tt.in))
		if err != nil {
			t.Fatalf("DecodeFrame(%s): %v", tt.in, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeFrame(%s):\n got %#v\nwant %#v", tt.in, got, tt.want)
		}
		out, err := Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeFrame(out)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("round trip of %s via %s: %#v %v", tt.in, out, again, err)
		}
	}
	// A bare number for a counter is accepted too.
	f, err := DecodeFrame([]byte(`{"event":"media","sequenceNumber":7,"media":{"payload":"AAAA"}}`))
	if err != nil || f.(*Media).SequenceNumber != 7 {
		t.Fatalf("numeric counter: %#v %v", f, err)
	}
}

func TestDecodeMalformedFrames(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `{"event":5}`, `{"media":{}}`, `{"event":"start","start":[]}`, `{"event":"media","sequenceNumber":"x"}`} {
		if f, err := DecodeFrame([]byte(in)); err == nil {
			t.Errorf("DecodeFrame(%q) = %#v, want an error", in, f)
		} else if _, ok := err.(*DecodeError); !ok {
			t.Errorf("DecodeFrame(%q) error %T, want *DecodeError", in, err)
		}
	}
}

func TestOutboundFrames(t *testing.T) {
	sid := []byte(`"MZ1"`)
	check := func(raw []byte, want Frame) {
		t.Helper()
		got, err := DecodeFrame(raw)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s decodes to %#v (%v), want %#v", raw, got, err, want)
		}
	}
	check(appendMedia(nil, sid, []byte("AAAA")), &Media{StreamSid: "MZ1", Media: MediaPayload{Payload: Payload("AAAA")}})
	check(appendMark(nil, sid, 2, `it"em`, 320), &Mark{StreamSid: "MZ1", Mark: MarkInfo{Name: `2:it"em:320`}})
	check(appendClear(nil, sid), &Clear{StreamSid: "MZ1"})
}

func TestFastMediaDecodeDoesNotAllocate(t *testing.T) {
	msg := []byte(wireMedia)
	var d mediaDecoder
	d.decode(msg)
	allocs := testing.AllocsPerRun(100, func() {
		m, ok := d.decode(msg)
		if !ok || string(m.Media.Payload) != "/////w==" {
			t.Fatal("bad decode")
		}
	})
	if allocs != 0 {
		t.Fatalf("media decode allocates %.1f times, want 0", allocs)
	}
}

func TestFastMarkDecode(t *testing.T) {
	msg := []byte(wireMark)
	var d mediaDecoder
	if _, ok := d.decode(msg); ok {
		t.Fatal("a mark taken for media")
	}
	m, ok := d.decodeMark(msg)
	slow, err := DecodeFrame(msg)
	if !ok || err != nil || !reflect.DeepEqual(m, slow) {
		t.Fatalf("fast %+v %v, slow %+v %v", m, ok, slow, err)
	}
	if _, ok := d.decodeMark([]byte(wireMedia)); ok {
		t.Fatal("media taken for a mark")
	}
	// One allocation: the name, which differs from one echo to the next.
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := d.decodeMark(msg); !ok {
			t.Fatal("bad decode")
		}
	})
	if allocs > 1 {
		t.Fatalf("mark decode allocates %.1f times, want at most 1", allocs)
	}
}

// FuzzDecodeFrame: no input panics, the media and mark fast paths agree with
// encoding/json, and whatever decodes re-encodes to an equal frame.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{wireConnected, wireStart, wireMedia, wireMark, wireDTMF, wireStop,
		`{"event":"media","media":{"payload":"AA\/A","track":"in\u0062ound"}}`,
		`{"event":"media","media":{"chunk":1,"timestamp":"-3"},"streamSid":null}`,
		`{"event":"mark","mark":{"name":"1:a\u003ab:0","Name":"x"}}`,
		`{"event":"mark","mark":{},"sequenceNumber":7}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		slow, err := DecodeFrame(data)
		var md mediaDecoder
		if fast, ok := md.decodeMark(data); ok {
			if err != nil {
				t.Fatalf("mark fast path accepted what encoding/json rejects: %v", err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("fast %#v\nslow %#v", fast, slow)
			}
		}
		var d mediaDecoder
		if fast, ok := d.decode(data); ok {
			if err != nil {
				t.Fatalf("fast path accepted what encoding/json rejects: %v", err)
			}
			sm, isMedia := slow.(*Media)
			if !isMedia {
				t.Fatalf("fast path took a %T", slow)
			}
			fm := *fast
			if len(fm.Media.Payload) == 0 && len(sm.Media.Payload) == 0 {
				fm.Media.Payload = sm.Media.Payload
			}
			if !reflect.DeepEqual(&fm, sm) {
				t.Fatalf("fast %#v\nslow %#v", &fm, sm)
			}
		}
		if err != nil {
			return
		}
		out, err := Marshal(slow)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", slow, err)
		}
		again, err := DecodeFrame(out)
		if err != nil {
			t.Fatalf("re-encoded %s: %v", out, err)
		}
		// Encoding is stable: what decodes from an encoding encodes the same again
		// (nil and empty maps or payloads both encode as empty).
		if out2, err := Marshal(again); err != nil || string(out2) != string(out) {
			t.Fatalf("round trip:\n%s\n%s", out, out2)
		}
	})
}

func TestStartParametersEscape(t *testing.T) {
	st := &Start{StreamSid: "MZ1", Start: StartInfo{CustomParameters: map[string]string{"From": `"+1555"<x>`}}}
	out, err := Marshal(st)
	if err != nil || !strings.Contains(string(out), `\"+1555\"`) {
		t.Fatalf("Marshal: %s %v", out, err)
	}
}

// BenchmarkInboundMedia is the CPU cost of an inbound frame: decode and payload check.
func BenchmarkInboundMedia(b *testing.B) {
	msg := []byte(`{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"20","payload":"` +
		strings.Repeat("f3//", 54) + `"},"streamSid":"MZ1"}`)
	var d mediaDecoder
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		m, ok := d.decode(msg)
		if !ok {
			b.Fatal("not decoded")
		}
		if _, ok := jsonscan.Base64Len(m.Media.Payload); !ok {
			b.Fatal("bad payload")
		}
	}
}

// BenchmarkInboundMark is a mark echo, one per agent chunk: decoded and applied to
// the playback tracker.
func BenchmarkInboundMark(b *testing.B) {
	msg := []byte(`{"event":"mark","sequenceNumber":"44","streamSid":"MZ18ead00428bd1da5","mark":{"name":"3:item_CrDq9lZg6mBGZqA2E7hVd:48000"}}`)
	var d mediaDecoder
	p := NewPlayback(nil)
	b.ReportAllocs()
	for b.Loop() {
		m, ok := d.decodeMark(msg)
		if !ok {
			b.Fatal("not decoded")
		}
		p.Ack(m.Mark.Name)
	}
}

// BenchmarkOutboundAudio is the CPU cost of an agent chunk: payload check, tracker,
// media frame, and a mark frame when one is due (one chunk in five).
func BenchmarkOutboundAudio(b *testing.B) {
	payload := []byte(strings.Repeat("f3//", 54))
	sid := []byte(`"MZ1"`)
	p := NewPlayback(nil)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		n, ok := jsonscan.Base64Len(payload)
		if !ok {
			b.Fatal("bad payload")
		}
		ref, _ := p.Enqueue("resp_1", "item_1", n)
		buf = appendMedia(buf[:0], sid, payload)
		if ref.Due {
			buf = appendMark(buf[:0], sid, ref.Gen, ref.ItemID, ref.Offset)
		}
	}
}
