package callevent

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every event type survives JSON: the call log and `callagent logs` depend on it.
func TestEventJSONRoundTrip(t *testing.T) {
	h := Header{Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), CallSID: "CA1"}
	cost := 0.039488
	events := []Event{
		CallStarted{h, "MZ1", "AC1", "+14155550100", "+14155550199", map[string]string{"k": "v"}},
		ModelConnected{h, 1500 * time.Millisecond, 3, 1},
		SpeechStarted{h, "item1", 120},
		SpeechStopped{h, "item1", 900},
		CallerTranscriptDelta{h, "item1", "hel"},
		CallerTranscript{h, "item1", "hello"},
		AgentTranscriptDelta{h, "resp1", "item2", "Hi"},
		AgentTranscript{h, "resp1", "item2", "Hi there", true},
		Interruption{h, "resp1", true, true, 640, []Truncation{{"item2", 640, 2000}}},
		TurnLatency{h, "resp1", 420 * time.Millisecond, 610 * time.Millisecond, 180 * time.Millisecond, 90 * time.Millisecond,
			5 * time.Second, 140 * time.Millisecond, 10 * time.Millisecond, 6030 * time.Millisecond},
		TurnPlayout{h, "resp1", 130 * time.Millisecond},
		ResponseDone{h, "resp1", "completed", "", &Usage{TotalTokens: 42}},
		GuardrailTripped{h, "no-prices", "item3", "it costs", 300},
		AgentChanged{h, "triage", "billing"},
		ToolCall{h, "call1", "get_weather", `{"city":"Oslo"}`},
		ToolApprovalRequested{h, "call1", "refund", `{}`},
		ToolApprovalDecided{h, "call1", "refund", false, "denied at the terminal"},
		ToolResult{h, "call1", "get_weather", `{"temp":3}`, errors.New("timed out"), 2 * time.Second, true},
		MCPEvent{h, "response.mcp_call.completed", "item4"},
		DTMF{h, "5"},
		ModelError{h, "invalid_request_error", "bad", "nope", "x", "session.update", "ca-1-session.update"},
		Warning{h, "malformed frame", WarnMalformedTwilioFrame, 3},
		RawFrame{h, SourceTwilio, false, "start", []byte(`{"event":"start"}`)},
		RawFrame{h, SourceRealtime, true, "x", []byte("not json")},
		HTTPRequest{h, "POST", "/incoming-call", 200, "connect", 3 * time.Millisecond, "+14155550100", "+14155550199"},
		MediaStats{h, time.Second, 50, 8000, 49, 7840},
		CallEnded{h, EndCallerHangup, errors.New("stream closed"), 90 * time.Second, 3, 1, 2, 100, 200, 0, &cost},
		CallUsage{h, "gpt-realtime", "gpt-4o-mini-transcribe", TokenCounts{TextIn: 120, CachedTextIn: 100, AudioIn: 50, AudioOut: 80, TextOut: 12},
			TokenCounts{AudioIn: 20, TextOut: 5}, "gpt-5.5", TokenCounts{TextIn: 120, CachedTextIn: 20, TextOut: 30}, &cost, 0.5},
		CallConfig{Header: h, Agent: "main", Source: "callagent.yaml", Engine: "realtime", Model: "gpt-realtime", Voice: "marin",
			Instructions: "Help.", Greeting: "Greet.", TurnDetection: json.RawMessage(`{"type":"semantic_vad"}`), Transcription: "gpt-4o-mini-transcribe",
			Tools: []ConfigTool{{Name: "lookup", Kind: "http", Description: "Look up.", NeedsApproval: true, Method: "POST",
				URL: "https://api.example.com/x", Headers: []string{"X-Api-Key"}}}, Approval: "ask", Guardrails: []string{"deny: (?i)price"},
			Handoffs: []string{"billing"}, MaxDuration: 10 * time.Minute, MaxCostUSD: 0.5, Hash: "0123456789ab"},
	}
	seen := map[string]bool{}
	for _, ev := range events {
		seen[ev.Kind()] = true
		data, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("%s: %v", ev.Kind(), err)
		}
		if strings.Contains(string(data), "CA1") || strings.Contains(string(data), `"Header"`) {
			t.Errorf("%s: header inside the fields: %s", ev.Kind(), data)
		}
		back, err := DecodeEvent(ev.Kind(), data, h)
		if err != nil {
			t.Fatalf("%s: %v", ev.Kind(), err)
		}
		if !reflect.DeepEqual(normalize(back), normalize(ev)) {
			t.Errorf("%s: round trip\n got %#v\nwant %#v\njson %s", ev.Kind(), back, ev, data)
		}
	}
	if len(seen) != len(kinds) {
		t.Errorf("tested %d event kinds, %d are registered", len(seen), len(kinds))
	}
	if _, err := DecodeEvent("no.such", nil, h); err == nil {
		t.Error("unknown kind decoded")
	}
	frame, _ := json.Marshal(RawFrame{h, SourceTwilio, false, "start", []byte(`{"event":"start"}`)})
	if !strings.Contains(string(frame), `"data":{"event":"start"}`) {
		t.Errorf("frame not embedded as JSON: %s", frame)
	}
}

// normalize replaces errors by their text, which is what survives JSON.
func normalize(ev Event) any {
	switch e := ev.(type) {
	case CallEnded:
		return []any{e.Header, e.Reason, errText(e.Err), e.Duration, e.Turns, e.Interruptions, e.ToolCalls, e.InBytes, e.OutBytes}
	case ToolResult:
		return []any{e.Header, e.CallID, e.Name, e.Output, errText(e.Err), e.Duration, e.Background}
	}
	return ev
}
