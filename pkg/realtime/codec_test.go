package realtime

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct{ base, model, want, err string }{
		{"", "", "wss://api.openai.com/v1/realtime?model=gpt-realtime", ""},
		{"https://api.openai.com/v1/", "gpt-realtime-mini", "wss://api.openai.com/v1/realtime?model=gpt-realtime-mini", ""},
		{"http://127.0.0.1:8080/v1", "m", "ws://127.0.0.1:8080/v1/realtime?model=m", ""},
		{"http://[::1]:9/openai", "a b", "ws://[::1]:9/openai/realtime?model=a+b", ""},
		{"ftp://x/v1", "m", "", "scheme must be http or https"},
		{"https:///v1", "m", "", "has no host"},
		{"://bad", "m", "", "is not a URL"},
	}
	for _, tt := range tests {
		got, err := URL(tt.base, tt.model)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("URL(%q) err = %v, want %q", tt.base, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("URL(%q, %q) = %q, %v; want %q", tt.base, tt.model, got, err, tt.want)
		}
	}
}

func boolPtr(b bool) *bool { return &b }

func TestClientEventsRoundTrip(t *testing.T) {
	events := []ClientEvent{
		&SessionUpdate{Session: SessionConfig{
			Type: "realtime", Model: "gpt-realtime", Instructions: "Be brief.",
			OutputModalities: []string{"audio"},
			Audio: &AudioConfig{
				Input: &AudioInput{
					Format:        &AudioFormat{Type: FormatPCMU},
					Transcription: &Transcription{Model: "gpt-4o-mini-transcribe"},
					TurnDetection: &TurnDetection{Type: ServerVAD, InterruptResponse: boolPtr(true)},
				},
				Output: &AudioOutput{Format: &AudioFormat{Type: FormatPCMU}, Voice: Str("marin")},
			},
			Tools: []Tool{
				{Type: "function", Name: "weather", Description: "Weather", Parameters: json.RawMessage(`{"type":"object"}`)},
				{Type: "mcp", ServerLabel: "docs", ServerURL: "https://mcp.example/", RequireApproval: json.RawMessage(`"always"`)},
			},
		}},
		&InputAudioBufferAppend{Audio: Audio("f39/fw==")},
		&InputAudioBufferAppend{EventID: "e1", Audio: Audio("AAAA")},
		&InputAudioBufferCommit{},
		&InputAudioBufferClear{},
		&ConversationItemCreate{Item: Item{Type: ItemFunctionCallOutput, CallID: "call_1", Output: `{"temp":21}`}},
		&ConversationItemCreate{Item: Item{Type: ItemMCPApprovalResponse, ApprovalRequestID: "apr_1", Approve: boolPtr(false)}},
		&ConversationItemTruncate{ItemID: "item_1", AudioEndMs: 0},
		&ConversationItemDelete{ItemID: "item_2"},
		&ResponseCreate{},
		&ResponseCreate{Response: &ResponseParams{Instructions: "Say hi"}},
		&ResponseCancel{},
	}
	for _, ev := range events {
		data, err := Marshal(ev)
		if err != nil {
			t.Fatalf("Marshal(%T): %v", ev, err)
		}
		if !json.Valid(data) || !bytes.HasPrefix(data, []byte(`{"type":"`+ev.EventType()+`"`)) {
			t.Fatalf("Marshal(%T) = %s: not JSON with type first", ev, data)
		}
		back, err := DecodeClientEvent(data)
		if err != nil {
			t.Fatalf("DecodeClientEvent(%s): %v", data, err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Errorf("round trip of %T:\n got %#v\nwant %#v", ev, back, ev)
		}
	}
	// The audio_end_ms of a truncate to zero must be sent, not omitted.
	data, _ := Marshal(&ConversationItemTruncate{ItemID: "i"})
	if !strings.Contains(string(data), `"audio_end_ms":0`) {
		t.Errorf("truncate to 0 lost its audio_end_ms: %s", data)
	}
}

func TestDecodeServerEvents(t *testing.T) {
	tests := []struct {
		in   string
		want ServerEvent
	}{
		{`{"type":"error","event_id":"e","error":{"type":"invalid_request_error","code":"conversation_already_has_active_response","message":"busy"}}`,
			&ErrorEvent{EventID: "e", Error: ErrorInfo{Type: "invalid_request_error", Code: CodeActiveResponse, Message: "busy"}}},
		{`{"type":"input_audio_buffer.speech_started","audio_start_ms":1200,"item_id":"item_9"}`,
			&InputAudioBufferSpeechStarted{AudioStartMs: 1200, ItemID: "item_9"}},
		{`{"type":"input_audio_buffer.speech_stopped","audio_end_ms":2000,"item_id":"item_9"}`,
			&InputAudioBufferSpeechStopped{AudioEndMs: 2000, ItemID: "item_9"}},
		{`{"type":"conversation.item.input_audio_transcription.completed","item_id":"i","content_index":0,"transcript":"Hello"}`,
			&InputAudioTranscriptionCompleted{ItemID: "i", Transcript: "Hello"}},
		{`{"type":"response.output_audio_transcript.delta","response_id":"r","item_id":"i","delta":"Hi"}`,
			&ResponseOutputAudioTranscriptDelta{ResponseID: "r", ItemID: "i", Delta: "Hi"}},
		{`{"type":"response.output_audio.delta","event_id":"ev","response_id":"r","item_id":"i","output_index":1,"content_index":0,"delta":"AAAA"}`,
			&ResponseOutputAudioDelta{EventID: "ev", ResponseID: "r", ItemID: "i", OutputIndex: 1, Delta: Audio("AAAA")}},
		{`{"type":"response.done","response":{"id":"r","status":"cancelled","status_details":{"type":"cancelled","reason":"turn_detected"},"output":[{"id":"i","type":"function_call","status":"completed","call_id":"c","name":"weather","arguments":"{}"}]}}`,
			&ResponseDone{Response: Response{ID: "r", Status: StatusCancelled, StatusDetails: &StatusDetails{Type: "cancelled", Reason: "turn_detected"},
				Output: []Item{{ID: "i", Type: ItemFunctionCall, Status: StatusCompleted, CallID: "c", Name: "weather", Arguments: "{}"}}}}},
		{`{"type":"response.mcp_call.failed","item_id":"m","output_index":0}`,
			&MCPCallStatus{Type: TypeResponseMCPCallFailed, ItemID: "m"}},
		{`{"type":"mcp_list_tools.completed","item_id":"l"}`,
			&MCPListToolsStatus{Type: TypeMCPListToolsCompleted, ItemID: "l"}},
		// Custom voices, a named tool choice and an MCP tool filter are objects.
		{`{"type":"session.updated","session":{"type":"realtime","audio":{"output":{"voice":{"id":"voice_123"}}},"tool_choice":{"type":"function","name":"weather"},"tools":[{"type":"mcp","server_label":"crm","allowed_tools":{"read_only":true,"tool_names":["find"]}}]}}`,
			&SessionUpdated{Session: SessionConfig{Type: "realtime", Audio: &AudioConfig{Output: &AudioOutput{Voice: StringOrObject{Object: json.RawMessage(`{"id":"voice_123"}`)}}},
				ToolChoice: StringOrObject{Object: json.RawMessage(`{"type":"function","name":"weather"}`)},
				Tools:      []Tool{{Type: "mcp", ServerLabel: "crm", AllowedTools: json.RawMessage(`{"read_only":true,"tool_names":["find"]}`)}}}}},
		{`{"type":"session.created","session":{"type":"realtime","audio":{"output":{"voice":"marin"}},"tool_choice":"auto","tools":[{"type":"mcp","server_label":"crm","allowed_tools":["find"]}]}}`,
			&SessionCreated{Session: SessionConfig{Type: "realtime", Audio: &AudioConfig{Output: &AudioOutput{Voice: Str("marin")}},
				ToolChoice: Str("auto"), Tools: []Tool{{Type: "mcp", ServerLabel: "crm", AllowedTools: json.RawMessage(`["find"]`)}}}}},
		{`{"type":"output_audio_buffer.started","response_id":"r"}`,
			&UnknownEvent{Type: "output_audio_buffer.started", Raw: json.RawMessage(`{"type":"output_audio_buffer.started","response_id":"r"}`)}},
	}
	for _, tt := range tests {
		got, err := DecodeServerEvent([]byte(tt.in))
		if err != nil {
			t.Fatalf("DecodeServerEvent(%s): %v", tt.in, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeServerEvent(%s):\n got %#v\nwant %#v", tt.in, got, tt.want)
		}
		// Every typed event encodes back to something that decodes the same.
		data, err := Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeServerEvent(data)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("re-encode of %s = %s: %#v, %v", tt.in, data, again, err)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"type":1}`, `{"no_type":true}`, `{"type":"response.done","response":[]}`, `{"type":"error"`} {
		ev, err := DecodeServerEvent([]byte(in))
		var de *DecodeError
		if err == nil || !asDecodeError(err, &de) {
			t.Errorf("DecodeServerEvent(%q) = %#v, %v; want a *DecodeError", in, ev, err)
		}
	}
}

func asDecodeError(err error, target **DecodeError) bool {
	de, ok := err.(*DecodeError)
	*target = de
	return ok
}

func deltaMessage(audio []byte) []byte {
	return []byte(`{"type":"response.output_audio.delta","event_id":"event_1","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"` +
		base64.StdEncoding.EncodeToString(audio) + `"}`)
}

func TestFastDeltaDoesNotAllocate(t *testing.T) {
	msg := deltaMessage(bytes.Repeat([]byte{0xff}, 800))
	var d decoder
	if _, err := d.decode(msg); err != nil { // warm the interned IDs
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		ev, err := d.decode(msg)
		if err != nil || ev.(*ResponseOutputAudioDelta).ItemID != "item_1" {
			t.Fatal("bad decode")
		}
	})
	if allocs != 0 {
		t.Fatalf("audio delta decode allocates %.1f times, want 0", allocs)
	}
}

// FuzzDecodeServerEvent: no input panics, and the fast path agrees with encoding/json.
func FuzzDecodeServerEvent(f *testing.F) {
	f.Add(deltaMessage([]byte{1, 2, 3}))
	f.Add([]byte(`{"type":"response.output_audio.delta","item_id":"i\u0031","response_id":"r","delta":"AA\/A"}`))
	f.Add([]byte(`{"type":"response.output_audio.delta","item_id":"i","response_id":"r","delta":"AAAA","output_index":"1"}`))
	f.Add([]byte(`{"type":"error","error":{"message":"x"}}`))
	f.Add([]byte(`{"type":"response.done","response":{"output":[{"type":"message","content":[{"type":"output_audio","transcript":"hi"}]}]}}`))
	f.Add([]byte(`{"type":"session.created","session":{"type":"realtime","audio":{"input":{"format":{"type":"audio/pcmu"}}}}}`))
	f.Add([]byte(`{"type":"session.updated","session":{"audio":{"output":{"voice":{"id":"voice_1"}}},"tool_choice":{"type":"mcp","server_label":"x"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		slow, slowErr := DecodeServerEvent(data)
		var d decoder
		fast, fastErr := d.decode(data)
		if (slowErr == nil) != (fastErr == nil) {
			t.Fatalf("errors differ: slow %v, fast %v", slowErr, fastErr)
		}
		if slowErr != nil {
			return
		}
		if fd, ok := fast.(*ResponseOutputAudioDelta); ok && fd == &d.delta {
			sd, ok := slow.(*ResponseOutputAudioDelta)
			if !ok {
				t.Fatalf("fast path took a %T", slow)
			}
			cp := *fd
			cp.EventID = sd.EventID // the fast path leaves EventID empty by design
			if len(cp.Delta) == 0 && len(sd.Delta) == 0 {
				cp.Delta = sd.Delta
			}
			if !reflect.DeepEqual(&cp, sd) {
				t.Fatalf("fast %#v\nslow %#v", &cp, sd)
			}
			return
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("decoders differ:\nfast %#v\nslow %#v", fast, slow)
		}
	})
}

// FuzzDecodeClientEvent: no input panics; what decodes re-encodes to an equal event.
func FuzzDecodeClientEvent(f *testing.F) {
	f.Add([]byte(`{"type":"input_audio_buffer.append","audio":"AAAA"}`))
	f.Add([]byte(`{"type":"input_audio_buffer.append","audio":"a\"b"}`)) // not base64: escaped on the way out
	f.Add([]byte(`{"type":"conversation.item.truncate","item_id":"i","content_index":0,"audio_end_ms":12}`))
	f.Add([]byte(`{"type":"session.update","session":{"type":"realtime","tools":[{"type":"function","name":"x","parameters":{}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeClientEvent(data)
		if err != nil {
			return
		}
		out, err := Marshal(ev)
		if err != nil {
			return // e.g. a RawMessage member that encoding/json will not re-emit
		}
		again, err := DecodeClientEvent(out)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", out, err)
		}
		if _, unknown := ev.(*UnknownEvent); !unknown && !reflect.DeepEqual(normalize(t, ev), normalize(t, again)) {
			t.Fatalf("round trip differs:\n%#v\n%#v", ev, again)
		}
	})
}

// normalize re-encodes raw JSON members so formatting differences do not count.
func normalize(t *testing.T, ev ClientEvent) string {
	b, err := Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestRedact(t *testing.T) {
	msg := "Incorrect API key provided: sk-proj-****************************abcd. You can find your API key at https://platform.openai.com."
	got := Redact(msg+" sk-live-SECRETSECRET", "sk-live-SECRETSECRET")
	if strings.Contains(got, "abcd") || strings.Contains(got, "SECRET") {
		t.Fatalf("Redact left a key: %q", got)
	}
	if !strings.Contains(got, "Incorrect API key provided") {
		t.Fatalf("Redact lost the message: %q", got)
	}
}

func BenchmarkDecodeAudioDelta(b *testing.B) {
	msg := deltaMessage(bytes.Repeat([]byte{0x7f}, 160))
	var d decoder
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeAppend(b *testing.B) {
	audio := []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x7f}, 160)))
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendAudioAppend(buf[:0], audio)
	}
}

// Items carry the members their type requires even when empty, as OpenAI's types
// declare them: a function call announced before its arguments, a message before
// its content.
func TestItemRequiredMembers(t *testing.T) {
	for _, tc := range []struct {
		item Item
		want string
	}{
		{Item{ID: "i", Type: ItemFunctionCall, CallID: "c"}, `{"id":"i","type":"function_call","call_id":"c","name":"","arguments":""}`},
		{Item{Type: ItemMessage, Role: "assistant"}, `{"type":"message","role":"assistant","content":[]}`},
		{Item{Type: ItemFunctionCallOutput, CallID: "c", Output: "ok"}, `{"type":"function_call_output","call_id":"c","output":"ok"}`},
	} {
		got, err := json.Marshal(tc.item)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %s (%v), want %s", tc.item.Type, got, err, tc.want)
		}
	}
}
