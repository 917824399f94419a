package inspector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// WriteLongCall is writeLongCall for the browser tests (package inspector_test).
var WriteLongCall = writeLongCall

// writeLongCall logs a call of durMs as dev logs it (raw frames always: a few
// every 20 ms of speech, media counts each second, a turn every 6 s with a tool
// call each and its latency in parts) into logDir, and when recDir is not ""
// records it there: stereo 16-bit WAV at 8 kHz, the caller speaking the first
// 1.5 s of each turn and the agent answering from 2.3 s to 4 s. It returns the
// call's SID, its log's path and the number of lines.
func writeLongCall(tb testing.TB, logDir, recDir string, durMs int) (sid, path string, lines int) {
	tb.Helper()
	w := calllog.NewWriter(calllog.Options{Dir: logDir, Queue: 1 << 16})
	sid = "CA0000000000000000000000000000beef"
	at := func(ms int) callevent.Header {
		return callevent.Header{Time: t0.Add(time.Duration(ms) * time.Millisecond), CallSID: sid}
	}
	w.Event(callevent.CallStarted{Header: at(0), From: "+15550001"})
	frame, _ := json.Marshal(map[string]any{"type": "response.output_audio_transcript.delta", "delta": "some words of the answer", "item_id": "item_x"})
	lines = 1
	for ms := 0; ms < durMs; ms += 20 {
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
			w.Event(callevent.TurnLatency{Header: at(ms + 2300), ResponseID: resp, Latency: 800 * time.Millisecond,
				Endpointing: 550 * time.Millisecond, ModelWait: 150 * time.Millisecond, Tools: 400 * time.Millisecond,
				FirstAudio: 240 * time.Millisecond, Relay: 10 * time.Millisecond, Total: 1350 * time.Millisecond})
			w.Event(callevent.TurnPlayout{Header: at(ms + 2420), ResponseID: resp, Playout: 120 * time.Millisecond})
			w.Event(callevent.AgentTranscript{Header: at(ms + 4000), ResponseID: resp, ItemID: item, Text: "an answer of the agent, a sentence or two long"})
			lines += 8
		}
	}
	w.Event(callevent.CallEnded{Header: at(durMs), Reason: callevent.EndCallerHangup, Duration: time.Duration(durMs) * time.Millisecond})
	w.Close()
	path, err := calllog.Find(logDir, sid)
	if err != nil {
		tb.Fatal(err)
	}
	if recDir != "" {
		n := durMs * 8
		left, right := make([]int16, n), make([]int16, n)
		for i := range n {
			ms := i / 8 % 6000
			v := int16((i*37)%16000 - 8000)
			if ms < 1500 {
				left[i] = v
			}
			if ms >= 2300 && ms < 4000 {
				right[i] = v / 2
			}
		}
		var b bytes.Buffer
		if err := audio.WriteStereoWAV(&b, 8000, left, right); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(recDir, sid+".wav"), b.Bytes(), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return sid, path, lines
}

// BenchmarkTimeline10MinCall decodes a 10-minute call's log into its timeline
// (the cache left out): what the first opening of its page costs. Issue 17
// wants such a call open in under a second.
func BenchmarkTimeline10MinCall(b *testing.B) {
	_, path, lines := writeLongCall(b, b.TempDir(), "", 600_000)
	b.ReportMetric(float64(lines), "lines")
	b.ResetTimer()
	for range b.N {
		tl, _, err := decodeTimeline(path)
		if err != nil || len(tl.Answers) != 100 {
			b.Fatalf("%v, %d answers", err, len(tl.Answers))
		}
	}
}

// benchHandler serves a 10-minute call and its recording; get asks for path as
// the page does and checks the answer is 200.
func benchHandler(b *testing.B) (get func(path string) int, sid string) {
	logDir, recDir := b.TempDir(), b.TempDir()
	sid, _, _ = writeLongCall(b, logDir, recDir, 600_000)
	token, _ := NewToken()
	h, err := New(Options{LogDir: logDir, RecordDir: recDir, Token: token, Port: 4040})
	if err != nil {
		b.Fatal(err)
	}
	return func(path string) int {
		req := httptest.NewRequest("GET", "http://127.0.0.1:4040"+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.Len()
	}, sid
}

// resetCaches forgets every timeline and peaks computed.
func resetCaches() {
	timelines.mu.Lock()
	timelines.entries, timelines.next = [len(timelines.entries)]timelineEntry{}, 0
	timelines.mu.Unlock()
	peakCache.mu.Lock()
	peakCache.entries, peakCache.next = [len(peakCache.entries)]peaksEntry{}, 0
	peakCache.mu.Unlock()
}

// BenchmarkCallJSON10MinCall is GET /api/calls/{sid} of a 10-minute call:
// cold (its log decoded, the first opening) and cached (a reload, or another
// browser).
func BenchmarkCallJSON10MinCall(b *testing.B) {
	get, sid := benchHandler(b)
	for _, cold := range []bool{true, false} {
		name := map[bool]string{true: "cold", false: "cached"}[cold]
		b.Run(name, func(b *testing.B) {
			resetCaches()
			get("/api/calls/" + sid)
			size := 0
			b.ResetTimer()
			for range b.N {
				if cold {
					resetCaches()
				}
				size = get("/api/calls/" + sid)
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// BenchmarkPeaks10MinCall is GET /api/calls/{sid}/peaks of a 10-minute stereo
// recording (9.6 MB of WAV), cold and cached.
func BenchmarkPeaks10MinCall(b *testing.B) {
	get, sid := benchHandler(b)
	for _, cold := range []bool{true, false} {
		name := map[bool]string{true: "cold", false: "cached"}[cold]
		b.Run(name, func(b *testing.B) {
			resetCaches()
			get("/api/calls/" + sid + "/peaks")
			size := 0
			b.ResetTimer()
			for range b.N {
				if cold {
					resetCaches()
				}
				size = get("/api/calls/" + sid + "/peaks")
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
