package cmd

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/realtime"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// everyEvent has one of each event type, with text a caller or model could send.
func everyEvent() []callevent.Event {
	h := callevent.Header{Time: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), CallSID: "CA0123"}
	return []callevent.Event{
		callevent.HTTPRequest{Header: h, Method: "POST", Path: "/incoming-call", Status: 200, Answer: "connect to the media stream; dialing the model", Duration: 2 * time.Millisecond},
		callevent.CallStarted{Header: h, StreamSID: "MZ1", From: "+15550100001", To: "+15550100002"},
		callevent.ModelConnected{Header: h, DialTime: 80 * time.Millisecond, BufferedFrames: 3},
		callevent.SpeechStarted{Header: h, AudioStartMs: 1200},
		callevent.SpeechStopped{Header: h, AudioEndMs: 2950},
		callevent.CallerTranscriptDelta{Header: h, Delta: "What's"},
		callevent.CallerTranscript{Header: h, ItemID: "i1", Text: "What's the weather\x1b[2J in Paris?\n"},
		callevent.DTMF{Header: h, Digit: "5"},
		callevent.AgentTranscriptDelta{Header: h, ItemID: "i2", Delta: "It's"},
		callevent.AgentTranscript{Header: h, ItemID: "i2", Text: "It's sunny in Paris."},
		callevent.AgentTranscript{Header: h, ItemID: "i3", Text: "Let me tell you a long story", Interrupted: true},
		callevent.Interruption{Header: h, Cleared: true, HeardMs: 1200, Truncations: []callevent.Truncation{{ItemID: "i3", AudioEndMs: 1200, SentMs: 2800}, {ItemID: "i4", SentMs: 900}}},
		callevent.TurnLatency{Header: h, Latency: 420 * time.Millisecond},
		callevent.TurnLatency{Header: h, Latency: 420 * time.Millisecond, Endpointing: 610 * time.Millisecond, ModelWait: 180 * time.Millisecond,
			Tools: 90 * time.Millisecond, Approval: 5 * time.Second, FirstAudio: 140 * time.Millisecond, Relay: 10 * time.Millisecond,
			Total: 6030 * time.Millisecond},
		callevent.TurnPlayout{Header: h, Playout: 130 * time.Millisecond},
		callevent.ResponseDone{Header: h, Status: "completed", Usage: &callevent.Usage{TotalTokens: 321}},
		callevent.CallUsage{Header: h, Model: "gpt-realtime", Tokens: callevent.TokenCounts{TextIn: 1500, CachedTextIn: 1200, AudioIn: 1234, AudioOut: 2000, TextOut: 150}, CostUSD: &renderCost, MaxCostUSD: 0.5},
		callevent.CallUsage{Header: h, Model: "my-voice\x1b[2J", Tokens: callevent.TokenCounts{AudioIn: 10}},
		callevent.ToolCall{Header: h, CallID: "c1", Name: "weather", Arguments: `{"city":"Paris"}`},
		callevent.ToolApprovalRequested{Header: h, Name: "refund", Arguments: `{"amount":20}`},
		callevent.ToolApprovalDecided{Header: h, Name: "refund", Approved: true},
		callevent.ToolApprovalDecided{Header: h, Name: "refund", Reason: "no answer within 30s"},
		callevent.ToolResult{Header: h, Name: "weather", Output: `{"sky":"sunny"}`, Duration: 12 * time.Millisecond},
		callevent.ToolResult{Header: h, Name: "refund", Output: "Error: the service answered HTTP 500", Err: errors.New("x"), Duration: 1500 * time.Millisecond},
		callevent.MCPEvent{Header: h, Type: realtime.TypeResponseMCPCallCompleted},
		callevent.GuardrailTripped{Header: h, Rule: "guaranteed returns", HeardMs: 300},
		callevent.AgentChanged{Header: h, From: "front-desk", To: "billing"},
		callevent.ModelError{Header: h, Code: "rate_limit_exceeded", Message: "Rate limit reached"},
		callevent.ModelError{Header: h, Code: "unknown_parameter", Message: "Unknown parameter: 'session.x'.", ClientEvent: "session.update", ClientEventID: "ca-7-session.update"},
		callevent.Warning{Header: h, Message: "skipped a malformed Twilio frame"},
		callevent.MediaStats{Header: h, InFrames: 50, InBytes: 8000, OutFrames: 49, OutBytes: 7840},
		callevent.RawFrame{Header: h, Source: callevent.SourceTwilio, Sent: true, Type: "mark", Data: []byte(`{"event":"mark"}`)},
		callevent.CallEnded{Header: h, Reason: callevent.EndModelDisconnected, Duration: 14200 * time.Millisecond, Err: errors.New("realtime connection closed: 1011 server error"), CostUSD: &renderCost},
	}
}

var renderCost = 0.139968

func renderAll(st Styles, debug bool) string {
	var b strings.Builder
	for _, ev := range everyEvent() {
		b.WriteString(render(ev, st, debug))
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	golden(t, "render_plain.golden", renderAll(newStyles(false), false))
	golden(t, "render_color.golden", renderAll(newStyles(true), false))
	golden(t, "render_debug.golden", renderAll(newStyles(false), true))
	golden(t, "render_color_debug.golden", renderAll(newStyles(true), true))
}

func TestPlainHasNoEscapes(t *testing.T) {
	plain := renderAll(newStyles(false), true)
	if strings.Contains(plain, "\x1b") {
		t.Fatal("plain output contains escape codes")
	}
	colored := renderAll(newStyles(true), false)
	if !strings.Contains(colored, "\x1b[") {
		t.Fatal("colored output has no color")
	}
	// Color changes decoration only: without escapes the text is the same.
	if strip := ansiEscape.ReplaceAllString(colored, ""); strip != renderAll(newStyles(false), false) {
		t.Fatalf("colored text differs from plain:\n%s", strip)
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                     "plain",
		"a\x1b[31mred\x1b[0m":       "ared",
		"title\x1b]0;pwned\x07done": "titledone",
		"bell\x07 nl\n tab\t":       "bell  nl  tab ",
		"c1\u0085control":           "c1 control",
		"csi8\u009b2Jbit":           "csi8bit",
		"osc\x1b]0;t\x1b\\st":       "oscst",
		"osc8\u009d0;t\u009cbit":    "osc8bit",
		"dcs\x1bPq#0\x1b\\end":      "dcsend",
		"apc\x1b_x\x07end":          "apcend",
		"charset\x1b(Bok":           "charsetok",
		"cut\x1b]0;pwned":           "cut",
		"tail esc\x1b":              "tail esc ",
		"bad\xffutf8":               "bad\ufffdutf8",
		"emoji 😀 ok":                "emoji 😀 ok",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUseColor(t *testing.T) {
	env := func(vals map[string]string) *Env {
		return &Env{Getenv: func(k string) string { return vals[k] }, Path: "/nonexistent"}
	}
	if !useColor(true, env(nil)) || useColor(false, env(nil)) {
		t.Fatal("color follows the terminal")
	}
	for _, v := range []string{"1", "0", "false", "yes"} {
		if useColor(true, env(map[string]string{"NO_COLOR": v})) {
			t.Errorf("NO_COLOR=%q left color on", v)
		}
	}
	if useColor(true, env(map[string]string{"TERM": "dumb"})) {
		t.Error("TERM=dumb gets color")
	}
}

// Live, the agent's words stream in and the line is finished by the final transcript;
// piped, only final lines appear.
func TestPrinterLiveAndPiped(t *testing.T) {
	h := callevent.Header{CallSID: "CA1"}
	evs := []callevent.Event{
		callevent.AgentTranscriptDelta{Header: h, ItemID: "a", Delta: "Hello "},
		callevent.AgentTranscriptDelta{Header: h, ItemID: "a", Delta: "there."},
		callevent.AgentTranscript{Header: h, ItemID: "a", Text: "Hello there."},
		callevent.AgentTranscriptDelta{Header: h, ItemID: "b", Delta: "It is"},
		callevent.Interruption{Header: h, Truncations: []callevent.Truncation{{ItemID: "b", AudioEndMs: 200, SentMs: 900}}},
		callevent.AgentTranscript{Header: h, ItemID: "b", Text: "It is raining.", Interrupted: true},
	}
	var live, piped bytes.Buffer
	lp, pp := newPrinter(&live, newStyles(false), true, calllog.Filter{}), newPrinter(&piped, newStyles(false), false, calllog.Filter{})
	for _, ev := range evs {
		lp.print(ev)
		pp.print(ev)
	}
	wantLive := "agent   Hello there.\nagent   It is (cut off)\n        ✂ caller barged in: heard 200ms of 900ms\nagent   It is raining. (cut off)\n"
	wantPiped := "agent   Hello there.\n        ✂ caller barged in: heard 200ms of 900ms\nagent   It is raining. (cut off)\n"
	if live.String() != wantLive {
		t.Errorf("live:\n%q\nwant\n%q", live.String(), wantLive)
	}
	if piped.String() != wantPiped {
		t.Errorf("piped:\n%q\nwant\n%q", piped.String(), wantPiped)
	}
}

// Two calls at once: each line names its call, and words are not streamed.
func TestPrinterTwoCalls(t *testing.T) {
	a, b := callevent.Header{CallSID: "CA00000000000000000000000000aaaaaa"}, callevent.Header{CallSID: "CA00000000000000000000000000bbbbbb"}
	var out bytes.Buffer
	p := newPrinter(&out, newStyles(false), true, calllog.Filter{})
	for _, ev := range []callevent.Event{
		callevent.CallStarted{Header: a, From: "+1"},
		callevent.AgentTranscriptDelta{Header: a, ItemID: "x", Delta: "Hel"},
		callevent.CallStarted{Header: b, From: "+2"},
		callevent.AgentTranscriptDelta{Header: a, ItemID: "x", Delta: "lo"},
		callevent.AgentTranscript{Header: a, ItemID: "x", Text: "Hello"},
		callevent.CallerTranscript{Header: b, Text: "Hi"},
		callevent.CallEnded{Header: a, Reason: callevent.EndCallerHangup},
		callevent.CallerTranscript{Header: b, Text: "Alone now"},
	} {
		p.print(ev)
	}
	want := "● call CA00000000000000000000000000aaaaaa from +1 to unknown\n" +
		"agent   Hel …\n" +
		"[…bbbbbb] ● call CA00000000000000000000000000bbbbbb from +2 to unknown\n" +
		"[…aaaaaa] agent   Hello\n" +
		"[…bbbbbb] caller  Hi\n" +
		"[…aaaaaa] ● call ended after 0ms: the caller hung up\n" +
		"caller  Alone now\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// The caller's words stream too, but only onto a free line: while the agent's line
// is streaming, the caller's transcript waits and is printed whole. A final
// transcript that differs from what streamed is printed whole after the draft.
func TestPrinterStreamsCaller(t *testing.T) {
	h := callevent.Header{CallSID: "CA1"}
	var out bytes.Buffer
	p := newPrinter(&out, newStyles(false), true, calllog.Filter{})
	for _, ev := range []callevent.Event{
		callevent.CallerTranscriptDelta{Header: h, ItemID: "c1", Delta: "Where is "},
		callevent.CallerTranscriptDelta{Header: h, ItemID: "c1", Delta: "my order?"},
		callevent.CallerTranscript{Header: h, ItemID: "c1", Text: "Where is my order? "},
		callevent.CallerTranscriptDelta{Header: h, ItemID: "c2", Delta: "Also"},
		callevent.AgentTranscriptDelta{Header: h, ItemID: "a1", Delta: "Let me "},
		callevent.CallerTranscriptDelta{Header: h, ItemID: "c2", Delta: " the bill."},
		callevent.CallerTranscriptDelta{Header: h, ItemID: "c3", Delta: "Hurry"},
		callevent.AgentTranscriptDelta{Header: h, ItemID: "a1", Delta: "check."},
		callevent.AgentTranscript{Header: h, ItemID: "a1", Text: "Let me check."},
		callevent.CallerTranscript{Header: h, ItemID: "c2", Text: "Also the bill."},
		callevent.CallerTranscript{Header: h, ItemID: "c3", Text: "Hurry up."},
		callevent.CallerTranscriptDelta{Header: h, ItemID: "c4", Delta: "I want to by"},
		callevent.CallerTranscript{Header: h, ItemID: "c4", Text: "I want to buy."},
		callevent.CallerTranscriptDelta{Header: h, ItemID: "c5", Delta: "\x1b[31mred"},
		callevent.CallerTranscript{Header: h, ItemID: "c5", Text: "\x1b[31mred"},
	} {
		p.print(ev)
	}
	want := "caller  Where is my order?\n" +
		"caller  Also …\n" +
		"agent   Let me check.\n" +
		"caller  Also the bill.\n" +
		"caller  Hurry up.\n" +
		"caller  I want to by …\n" +
		"caller  I want to buy.\n" +
		"caller  red\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
	if len(p.skipped) != 0 || p.open != "" {
		t.Errorf("left: open %q, skipped %v", p.open, p.skipped)
	}
}

// A barge-in on a line whose words are all on screen ends it in place: the final
// transcript is not printed a second time.
func TestPrinterCutOffInPlace(t *testing.T) {
	h := callevent.Header{CallSID: "CA1"}
	var out bytes.Buffer
	p := newPrinter(&out, newStyles(false), true, calllog.Filter{})
	for _, ev := range []callevent.Event{
		callevent.AgentTranscriptDelta{Header: h, ItemID: "a", Delta: "It's sunny "},
		callevent.AgentTranscriptDelta{Header: h, ItemID: "a", Delta: "in Paris."},
		callevent.Interruption{Header: h, Truncations: []callevent.Truncation{{ItemID: "a", AudioEndMs: 700, SentMs: 1500}}},
		callevent.AgentTranscript{Header: h, ItemID: "a", Text: "It's sunny in Paris.", Interrupted: true},
		callevent.CallerTranscript{Header: h, ItemID: "c", Text: "And London?"},
	} {
		p.print(ev)
	}
	want := "agent   It's sunny in Paris. (cut off)\n        ✂ caller barged in: heard 700ms of 1.5s\ncaller  And London?\n"
	if out.String() != want || len(p.cut) != 0 {
		t.Errorf("got\n%q\nwant\n%q (cut %v)", out.String(), want, p.cut)
	}
}

// A Live call's usage line names its seconds and its backend; an unknown cost
// names the model that has no price (the backend here), not the voice model.
func TestUsageWordsLive(t *testing.T) {
	usd := 0.0754275
	e := callevent.CallUsage{Model: "gpt-live-1", Tokens: callevent.TokenCounts{Seconds: 90},
		BackendModel: "gpt-5.5", BackendTokens: callevent.TokenCounts{TextIn: 120, CachedTextIn: 20, TextOut: 30}, CostUSD: &usd}
	if got, want := usageWords(e), "cost $0.0754 so far (90s, gpt-live-1; 150 tokens, gpt-5.5)"; got != want {
		t.Errorf("usage %q, want %q", got, want)
	}
	e.CostUSD = nil
	if got := usageWords(e); !strings.HasPrefix(got, "cost unknown so far: no price for gpt-5.5 (") {
		t.Errorf("unknown cost %q", got)
	}
}
