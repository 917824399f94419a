package live

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Server events as OpenAI's types (openai/resources/live/live.d.ts) define them.
var serverExamples = []string{
	`{"type":"session.started","event_id":"ev_1","client_event_id":"ca-1-session.start","session":{"id":"sess_1","expires_at":1780000000,"model":"gpt-live-1","status":"active","audio":{"format":{"type":"audio/pcmu","rate":8000},"output":{"voice":"marin"}},"delegation":{"type":"responses","responses":{"model":"gpt-5.5","tools":[{"type":"function","name":"lookup","parameters":{"type":"object"}}]}},"instructions":"Be brief."}}`,
	`{"type":"session.updated","event_id":"ev_2","session":{"id":"sess_1","expires_at":1780000000,"model":"gpt-live-1","status":"active","audio":{"output":{"voice":{"id":"voice_123"}}}}}`,
	`{"type":"session.output_audio.delta","delta":"//79/A=="}`,
	`{"type":"session.input_transcript.delta","event_id":"ev_3","delta":"hello","start_ms":120,"end_ms":480}`,
	`{"type":"session.output_transcript.delta","event_id":"ev_4","delta":"Hi there","start_ms":500,"end_ms":900}`,
	`{"type":"session.delegation.created","event_id":"ev_5","offset_ms":950,"delegation":{"id":"del_1","target":"responses","type":"delegation","response_id":"resp_1"}}`,
	`{"type":"response.event","event_id":"ev_6","delegation_id":"del_1","event":{"type":"response.output_item.done","output_index":0,"item":{"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"lookup","arguments":"{\"q\":1}"}}}`,
	`{"type":"session.usage.updated","event_id":"ev_7","usage":{"seconds":12.5},"context_window":{"usage_ratio":0.1}}`,
	`{"type":"error","event_id":"ev_8","client_event_id":"ca-2-session.update","error":{"type":"invalid_request_error","code":"unknown_parameter","message":"Unknown parameter: 'session.voice'.","param":"session.voice","client_event_id":"ca-2-session.update"}}`,
	`{"type":"info","event_id":"ev_9","code":"data_channel_permissions","message":"applied"}`,
	`{"type":"session.closed","event_id":"ev_10","reason":"close_requested","session":{"id":"sess_1","expires_at":1780000000,"model":"gpt-live-1","status":"active"},"usage":{"seconds":61}}`,
	`{"type":"session.commentary.appended","event_id":"ev_11","client_event_id":"ca-3-session.commentary.append","start_ms":1000,"end_ms":1000}`,
	`{"type":"session.thinking.appended","event_id":"ev_12","start_ms":1000,"end_ms":1000}`,
	`{"type":"session.instructions.appended","event_id":"ev_13","start_ms":1000,"end_ms":1000}`,
}

var clientExamples = []string{
	`{"type":"session.start","event_id":"e1","session":{"model":"gpt-live-1","instructions":"Be brief.","audio":{"format":{"type":"audio/pcmu","rate":8000},"output":{"voice":"marin"}},"delegation":{"type":"responses","acknowledgement_delay_ms":0,"responses":{"model":"gpt-5.5","instructions":"Use tools.","parallel_tool_calls":true,"reasoning":{"effort":"low"},"tool_choice":"auto","tools":[{"type":"function","name":"lookup","description":"Look up","parameters":{"type":"object"}},{"type":"web_search"}]}}}}`,
	`{"type":"session.start","session":{"model":"gpt-live-1","audio":{"output":{"voice":{"id":"voice_1"}}},"delegation":{"type":"client"}}}`,
	`{"type":"session.update","event_id":"e2","session":{"delegation":{"type":"responses","responses":{"instructions":"New."}}}}`,
	`{"type":"session.input_audio.append","event_id":"e3","audio":"//79/A=="}`,
	`{"type":"session.commentary.append","event_id":"e4","content":"The order shipped.","delegation_id":null}`,
	`{"type":"session.thinking.append","content":"checking","delegation_id":"del_1"}`,
	`{"type":"session.instructions.append","content":"Say goodbye.","delegation_id":null}`,
	`{"type":"session.close","event_id":"e5"}`,
	`{"type":"response.item.create","event_id":"e6","item":{"type":"function_call_output","call_id":"call_1","output":"{\"ok\":true}"}}`,
	`{"type":"response.create","event_id":"e7"}`,
}

func jsonEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("round trip changed the event:\n got %s\nwant %s", got, want)
	}
}

func TestServerEventsRoundTrip(t *testing.T) {
	for _, ex := range serverExamples {
		ev, err := DecodeServerEvent([]byte(ex))
		if err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		if _, unknown := ev.(*UnknownEvent); unknown {
			t.Errorf("%s decoded as unknown", ev.EventType())
		}
		out, err := Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(out), `{"type":"`+ev.EventType()+`"`) {
			t.Errorf("type not first: %s", out)
		}
		jsonEqual(t, out, []byte(ex))
	}
}

func TestClientEventsRoundTrip(t *testing.T) {
	for _, ex := range clientExamples {
		ev, err := DecodeClientEvent([]byte(ex))
		if err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		if _, unknown := ev.(*UnknownEvent); unknown {
			t.Errorf("%s decoded as unknown", ev.EventType())
		}
		out, err := Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, out, []byte(ex))
	}
}

func TestUnknownServerEventIsKept(t *testing.T) {
	raw := `{"type":"transport.dtmf.received","event_id":"ev_1","event":"5"}`
	ev, err := DecodeServerEvent([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	u, ok := ev.(*UnknownEvent)
	if !ok || u.Type != "transport.dtmf.received" || string(u.Raw) != raw {
		t.Fatalf("got %#v", ev)
	}
	for _, bad := range []string{`{}`, `{"type":3}`, `[1]`, `{"type":"error","error":"x"}`} {
		if _, err := DecodeServerEvent([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func TestResponseEventHelpers(t *testing.T) {
	ev, _ := DecodeServerEvent([]byte(serverExamples[6]))
	re := ev.(*ResponseEvent)
	call, ok := re.FunctionCall()
	if !ok || call.CallID != "call_1" || call.Name != "lookup" || call.Arguments != `{"q":1}` || *re.DelegationID != "del_1" {
		t.Errorf("function call %+v %v", call, ok)
	}
	done := &ResponseEvent{Event: json.RawMessage(`{"type":"response.completed","response":{"model":"gpt-5.5","usage":{"input_tokens":10,"output_tokens":5,"total_tokens":15,"input_tokens_details":{"cached_tokens":4}}}}`)}
	if model, u, ok := done.Completed(); !ok || model != "gpt-5.5" || u.InputTokens != 10 || u.InputTokensDetails.CachedTokens != 4 {
		t.Errorf("completed %v %+v %v", model, u, ok)
	}
	if _, ok := done.FunctionCall(); ok {
		t.Error("a completed response read as a function call")
	}
	item := FunctionCallOutput("call_1", "42")
	b, _ := Marshal(&ResponseItemCreate{Item: item})
	jsonEqual(t, b, []byte(`{"type":"response.item.create","item":{"type":"function_call_output","call_id":"call_1","output":"42"}}`))
}

// The fast paths decode what encoding/json decodes, and nothing else.
func TestDecoderFastPathsMatch(t *testing.T) {
	var d Decoder
	for _, ex := range []string{
		`{"type":"session.output_audio.delta","delta":"AAEC"}`,
		`{"delta":"AAEC","type":"session.output_audio.delta"}`,
		`{"type":"session.output_audio.delta","delta":"AAEC","start_ms":1,"end_ms":2}`,
		`{"type":"session.output_audio.delta","delta":"A\u0041EC"}`,
		`{"type":"session.output_audio.delta","Delta":"AAEC"}`,
	} {
		got, err := d.DecodeServer([]byte(ex))
		want, werr := DecodeServerEvent([]byte(ex))
		if (err == nil) != (werr == nil) {
			t.Fatalf("%s: %v vs %v", ex, err, werr)
		}
		if string(got.(*OutputAudioDelta).Delta) != string(want.(*OutputAudioDelta).Delta) {
			t.Errorf("%s: %q vs %q", ex, got.(*OutputAudioDelta).Delta, want.(*OutputAudioDelta).Delta)
		}
	}
	ev, err := d.DecodeClient([]byte(`{"type":"session.input_audio.append","event_id":"ca-1-x","audio":"AAEC"}`))
	if err != nil || string(ev.(*InputAudioAppend).Audio) != "AAEC" {
		t.Errorf("append: %v %v", ev, err)
	}
}

func TestDecoderAudioDoesNotAllocate(t *testing.T) {
	var d Decoder
	delta := []byte(`{"type":"session.output_audio.delta","delta":"` + strings.Repeat("AAEC", 54) + `"}`)
	app := []byte(`{"type":"session.input_audio.append","event_id":"ca-12-session.input_audio.append","audio":"` + strings.Repeat("AAEC", 54) + `"}`)
	if n := testing.AllocsPerRun(100, func() { d.DecodeServer(delta) }); n != 0 {
		t.Errorf("output audio delta: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { d.DecodeClient(app) }); n != 0 {
		t.Errorf("input audio append: %v allocations", n)
	}
}

func FuzzDecodeServerEvent(f *testing.F) {
	for _, ex := range serverExamples {
		f.Add([]byte(ex))
	}
	f.Add([]byte(`{"type":"session.output_audio.delta","delta":"A\"B"}`))
	f.Add([]byte(`{"type":"session.output_audio.delta","delta":"AA","delta":"BB"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		fast, ferr := d.DecodeServer(data)
		slow, serr := DecodeServerEvent(data)
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("%q: fast %v, slow %v", data, ferr, serr)
		}
		if ferr != nil {
			return
		}
		if fast.EventType() != slow.EventType() {
			t.Fatalf("%q: types %s, %s", data, fast.EventType(), slow.EventType())
		}
		if a, ok := fast.(*OutputAudioDelta); ok && !bytes.Equal(a.Delta, slow.(*OutputAudioDelta).Delta) {
			t.Fatalf("%q: delta %q, want %q", data, a.Delta, slow.(*OutputAudioDelta).Delta)
		}
		if _, err := Marshal(fast); err != nil {
			t.Fatalf("%q: re-encode: %v", data, err)
		}
	})
}

func BenchmarkDecodeOutputAudioDelta(b *testing.B) {
	var d Decoder
	data := []byte(`{"type":"session.output_audio.delta","delta":"` + strings.Repeat("AAEC", 54) + `"}`)
	b.ReportAllocs()
	for b.Loop() {
		d.DecodeServer(data)
	}
}
