package offlinecall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// track is a recording's channel under construction (8 kHz).
type track []int16

// at places v's speech of text at ms into the track.
func (t *track) at(ms int, v Voice, text string) {
	s := audio.DecodeMulaw(v.Speak(text))
	p := ms * 8
	for len(*t) < p+len(s) {
		*t = append(*t, 0)
	}
	copy((*t)[p:], s)
}

func (t *track) pad(ms int) {
	for len(*t) < ms*8 {
		*t = append(*t, 0)
	}
}

// A call as the segmenter sees it: the caller asks, the agent answers; the caller
// says two sentences with a pause between (one turn: the agent did not speak);
// the caller barges in; a key press; a last line after it.
func testCall() (caller, agent track, keys []int) {
	caller.at(500, CallerVoice, "weather in Rome?")
	agent.at(1800, AgentVoice, "It's sunny in Rome.")
	caller.at(3500, CallerVoice, "thanks.")
	caller.at(4200, CallerVoice, "and Paris?") // a 400 ms pause after "thanks."
	agent.at(5500, AgentVoice, "It's cloudy in Paris, twelve degrees, and it may rain later.")
	caller.at(6500, CallerVoice, "stop") // while the agent speaks: a barge-in
	agent.at(8500, AgentVoice, "Okay.")
	caller.at(9000, CallerVoice, "one")
	keys = append(keys, 9600*8) // a key pressed after "one"
	caller.at(10000, CallerVoice, "bye")
	agent.at(10150, AgentVoice, "Bye!") // the agent answers over the caller's word: "ok" is a turn of its own
	caller.at(10600, CallerVoice, "ok")
	caller.pad(11000)
	agent.pad(11000)
	return caller, agent, keys
}

// transcribeWAV reads a turn's file as the runner does and reads its speech back.
func transcribeWAV(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	snd, err := audio.ReadWAV(data)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := Transcribe(audio.ToMulaw8k(snd))
	return text
}

func TestSegmentCaller(t *testing.T) {
	caller, agent, keys := testCall()
	segs := SegmentCaller(caller, agent, keys, SegmentOptions{})
	want := []string{"weather in Rome?", "thanks. and Paris?", "stop", "one", "bye", "ok"}
	if len(segs) != len(want) {
		t.Fatalf("%d segments %+v, want %d", len(segs), segs, len(want))
	}
	for i, s := range segs {
		text, _ := Transcribe(audio.EncodeMulaw(caller[s.Start:s.End]))
		if text != want[i] {
			t.Errorf("segment %d: %q, want %q", i+1, text, want[i])
		}
		if i > 0 && s.Start < segs[i-1].End {
			t.Errorf("segment %d overlaps the one before: %+v", i+1, segs)
		}
	}
	// "stop" came 1 s into the agent's answer (within a frame).
	if b := segs[2].BargeInAfter; b < 980*time.Millisecond || b > 1020*time.Millisecond {
		t.Errorf("barge-in after %v, want about 1s", b)
	}
	for _, i := range []int{0, 1, 3, 4, 5} { // "ok" came after the agent's "Bye!"
		if segs[i].BargeInAfter != 0 {
			t.Errorf("segment %d: barge-in after %v while the agent was quiet", i+1, segs[i].BargeInAfter)
		}
	}
	// A line hum under the caller raises the threshold over it: the turns stay.
	noisy := make([]int16, len(caller))
	for i := range noisy {
		noisy[i] = caller[i]/2 + int16(300*((i/4)%2*2-1))
	}
	if got := SegmentCaller(noisy, agent, keys, SegmentOptions{}); len(got) != len(want) {
		t.Errorf("with a hum: %d segments, want %d", len(got), len(want))
	}
	// Real speech (here a hum with a rise and fall) is cut like simulated speech
	// and said to be real.
	voice := make([]int16, 24000)
	for i := 4000; i < 12000; i++ {
		voice[i] = int16(3000 * float64((i/20)%2*2-1))
	}
	r, err := FromCall(&LoggedCall{CallSID: "CA02"}, voice, make([]int16, len(voice)), t.TempDir())
	if err != nil || r.Turns != 1 || !r.RealSpeech {
		t.Errorf("real speech: %+v %v", r, err)
	}
	if got := SegmentCaller(make([]int16, 8000), nil, nil, SegmentOptions{}); len(got) != 0 {
		t.Errorf("silence: %+v", got)
	}
}

func logLines(t testing.TB, start time.Time, sid string, evs ...any) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(evs); i += 2 {
		ev := evs[i+1].(callevent.Event)
		line, err := calllog.FromEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		line.Time, line.CallSID = start.Add(time.Duration(evs[i].(int))*time.Millisecond), sid
		data, _ := json.Marshal(line)
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestReadLoggedCall(t *testing.T) {
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	const sid = "CA01"
	log := logLines(t, start, sid,
		-50, callevent.HTTPRequest{Path: "/incoming-call"},
		0, callevent.CallStarted{},
		1000, callevent.ToolCall{Name: "weather", Arguments: `{"city":"Rome"}`},
		9700, callevent.DTMF{Digit: "5"},
		9800, callevent.DTMF{Digit: "x"}, // not a key: dropped
		10500, callevent.ToolCall{Name: "hang_up"},
		11000, callevent.CallEnded{Reason: callevent.EndAgentHangup},
	) + "not json\n" + logLines(t, start, "CA02", 9000, callevent.DTMF{Digit: "1"})
	c, err := ReadLoggedCall(strings.NewReader(log), "log")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s keys=%v tools=%v ended=%s at %v bad=%d", c.CallSID, c.Keys, c.Tools, c.Ended, c.End, c.BadLines)
	want := `CA01 keys=[{9.7s 5}] tools=[{1s weather {"city":"Rome"}} {10.5s hang_up }] ended=agent_hangup at 11s bad=1`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := ReadLoggedCall(strings.NewReader(logLines(t, start, sid, 0, callevent.HTTPRequest{})), "log"); err != ErrNotStreamed {
		t.Fatalf("a log without a stream: %v", err)
	}
}

// FromCall cuts the turns, orders the key press among them, expects the ending,
// and its saved scenario loads as a scenario file.
func TestFromCallScenario(t *testing.T) {
	caller, agent, _ := testCall()
	call := &LoggedCall{CallSID: "CA01", Keys: []LoggedKey{{At: 9600 * time.Millisecond, Digit: "5"}, {At: 9700 * time.Millisecond, Digit: "#"}},
		Tools: []LoggedTool{{Name: "weather", Arguments: `{"city":"Rome"}`}, {Name: "hang_up"}},
		Ended: callevent.EndAgentHangup, End: 11 * time.Second}
	dir := t.TempDir()
	r, err := FromCall(call, caller, agent, dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, turn := range r.Scenario.Turns {
		switch {
		case turn.Audio != "":
			s := transcribeWAV(t, filepath.Join(dir, turn.Audio))
			if turn.BargeInAfter > 0 {
				s += " (barge-in)"
			}
			got = append(got, s)
		case turn.DTMF != "":
			got = append(got, "dtmf "+turn.DTMF)
		case turn.Wait > 0:
			got = append(got, "wait "+turn.Wait.D().Round(100*time.Millisecond).String())
		case turn.Hangup:
			got = append(got, "hangup")
		}
	}
	want := "weather in Rome? | thanks. and Paris? | stop (barge-in) | one | dtmf 5# | bye | ok | wait 3s | hangup"
	if strings.Join(got, " | ") != want {
		t.Fatalf("turns\n got %s\nwant %s", strings.Join(got, " | "), want)
	}
	if r.RealSpeech {
		t.Error("simulated speech taken for real speech")
	}
	if r.Scenario.Expect.Ended != "agent_hangup" {
		t.Errorf("ended %q", r.Scenario.Expect.Ended)
	}
	if fi, err := os.Stat(filepath.Join(dir, "turn-01.wav")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("turn file: %v %v", fi, err)
	}

	// The tool calls are expected by name, in order (tool_calls).
	ev := func(names ...string) []callevent.Event {
		var evs []callevent.Event
		for _, n := range names {
			evs = append(evs, callevent.ToolCall{Name: n, Arguments: `{"other":"args"}`})
		}
		return evs
	}
	toolFailures := func(f []string) []string {
		var out []string
		for _, s := range f {
			if strings.Contains(s, "tool calls") {
				out = append(out, s)
			}
		}
		return out
	}
	if f := toolFailures(r.Scenario.Expect.Check(ev("weather", "hang_up"))); f != nil {
		t.Errorf("same tools, other arguments: %v", f)
	}
	for _, names := range [][]string{{"hang_up", "weather"}, {"weather"}, {"weather", "hang_up", "hang_up"}} {
		if f := toolFailures(r.Scenario.Expect.Check(ev(names...))); len(f) != 1 || !strings.Contains(f[0], "in order: weather, hang_up; the call made: "+strings.Join(names, ", ")) {
			t.Errorf("%v: %v", names, f)
		}
	}

	path, err := r.Save()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadScenario(path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(loaded.Turns) != fmt.Sprint(r.Scenario.Turns) || loaded.Timeout != r.Scenario.Timeout.round() ||
		strings.Join(loaded.Expect.ToolCalls, ",") != "weather,hang_up" || loaded.Expect.Ended != "agent_hangup" {
		t.Fatalf("saved:\n%+v\nmade:\n%+v", loaded, r.Scenario)
	}
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte(`#   weather {"city":"Rome"}`)) {
		t.Errorf("the saved file does not list the tool calls' arguments:\n%s", data)
	}
}

func (d Duration) round() Duration { return Duration(d.D().Round(time.Millisecond)) }

// Log lines from disk are untrusted: nothing in them panics the reader, keys are
// keys, in order.
func FuzzReadLoggedCall(f *testing.F) {
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	f.Add([]byte(logLines(f, start, "CA01", 0, callevent.CallStarted{}, 100, callevent.DTMF{Digit: "1"},
		200, callevent.ToolCall{Name: "x"}, 300, callevent.CallEnded{Reason: "agent_hangup"})))
	f.Add([]byte(`{"time":"2026-11-29T10:00:00Z","type":"caller.dtmf","call_sid":"CA","fields":{"digit":"12"}}`))
	f.Add([]byte("{\"type\":\"call.started\"}\n{\"time\":\"0001-01-01T00:00:00Z\",\"type\":\"caller.dtmf\",\"fields\":{\"digit\":\"#\"}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadLoggedCall(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for i, k := range c.Keys {
			if len(k.Digit) != 1 || !strings.Contains("0123456789*#", k.Digit) || k.At < 0 || i > 0 && k.At < c.Keys[i-1].At {
				t.Fatalf("keys %+v", c.Keys)
			}
		}
		for _, tool := range c.Tools {
			if tool.Name == "" || tool.At < 0 {
				t.Fatalf("tools %+v", c.Tools)
			}
		}
	})
}

// A recording from disk is untrusted: any WAV gives turns inside the recording,
// in order, or an error.
func FuzzRecordingTurns(f *testing.F) {
	caller, agent, _ := testCall()
	var wav bytes.Buffer
	audio.WriteStereoWAV(&wav, 8000, caller[3600:7200], agent[3600:7200]) // small: the fuzzer mutates it fast
	f.Add(wav.Bytes())
	var mono bytes.Buffer
	audio.WriteMonoWAV(&mono, 16000, caller[:400])
	f.Add(mono.Bytes())
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt "))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, a, err := recordingTracks(data)
		if err != nil {
			return
		}
		segs := SegmentCaller(c, a, []int{-5, 3, len(c) * 2}, SegmentOptions{})
		for i, s := range segs {
			if s.Start < 0 || s.End > len(c) || s.Start >= s.End || i > 0 && s.Start < segs[i-1].End || s.BargeInAfter < 0 {
				t.Fatalf("segments %+v of %d samples", segs, len(c))
			}
		}
	})
}
