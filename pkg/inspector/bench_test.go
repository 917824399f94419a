package inspector

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// BenchmarkTimeline10MinCall reads a 10-minute call logged as dev logs it
// (raw frames always: a few every 20 ms of speech, media counts each second,
// 100 turns with a tool call each) into its timeline. Issue 17 wants such a
// call open in under a second.
func BenchmarkTimeline10MinCall(b *testing.B) {
	dir := b.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir, Queue: 1 << 16})
	sid := "CA0000000000000000000000000000beef"
	at := func(ms int) callevent.Header {
		return callevent.Header{Time: t0.Add(time.Duration(ms) * time.Millisecond), CallSID: sid}
	}
	w.Event(callevent.CallStarted{Header: at(0), From: "+15550001"})
	frame, _ := json.Marshal(map[string]any{"type": "response.output_audio_transcript.delta", "delta": "some words of the answer", "item_id": "item_x"})
	lines := 1
	for ms := 0; ms < 600_000; ms += 20 {
		if ms%1000 == 0 {
			w.Event(callevent.MediaStats{Header: at(ms), Interval: time.Second, InFrames: 50, OutFrames: 50})
			lines++
		}
		w.Event(callevent.RawFrame{Header: at(ms), Source: callevent.SourceRealtime, Type: "response.output_audio_transcript.delta", Data: frame})
		lines++
		if ms%6000 == 0 {
			turn := ms / 6000
			item, resp := fmt.Sprint("item_", turn), fmt.Sprint("resp_", turn)
			w.Event(callevent.SpeechStarted{Header: at(ms), ItemID: "c" + item})
			w.Event(callevent.SpeechStopped{Header: at(ms + 1500), ItemID: "c" + item})
			w.Event(callevent.CallerTranscript{Header: at(ms + 1600), ItemID: "c" + item, Text: "a question of the caller"})
			w.Event(callevent.ToolCall{Header: at(ms + 1700), CallID: "call" + item, Name: "lookup", Arguments: `{"q":"x"}`})
			w.Event(callevent.ToolResult{Header: at(ms + 1900), CallID: "call" + item, Name: "lookup", Output: `{"a":1}`, Duration: 200 * time.Millisecond})
			w.Event(callevent.TurnLatency{Header: at(ms + 2300), ResponseID: resp, Latency: 800 * time.Millisecond})
			w.Event(callevent.AgentTranscript{Header: at(ms + 4000), ResponseID: resp, ItemID: item, Text: "an answer of the agent, a sentence or two long"})
			lines += 7
		}
	}
	w.Event(callevent.CallEnded{Header: at(600_000), Reason: callevent.EndCallerHangup, Duration: 10 * time.Minute})
	w.Close()
	path, err := calllog.Find(dir, sid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(lines), "lines")
	b.ResetTimer()
	for range b.N {
		tl, _, err := readTimeline(path)
		if err != nil || len(tl.Answers) != 100 {
			b.Fatalf("%v, %d answers", err, len(tl.Answers))
		}
	}
}
