package inspector

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// A call's timeline and its recording's peaks are computed once per version of
// the file (its size and modification time), not on every request: a 10-minute
// call's log takes half a second to decode and its recording is megabytes
// (issue 17: such a call opens in under a second). The files are rewritten
// with other content of the same size and their time put back: the answers must
// not change (they were not read again); once the time moves they must.
func TestFaultPeaksAndTimelineCachedPerFileVersion(t *testing.T) {
	s := start(t, nil)
	wav := filepath.Join(s.h.opts.RecordDir, sidTool+".wav")
	logPath, err := calllog.Find(s.h.opts.LogDir, sidTool)
	if err != nil {
		t.Fatal(err)
	}
	peaksURL, callURL := "/api/calls/"+sidTool+"/peaks?n=50", "/api/calls/"+sidTool
	get := func(path string) string {
		t.Helper()
		res := s.get(t, path, s.token, nil)
		b := body(t, res)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
		return b
	}
	// rewrite changes the file's content, keeping its size, and sets its time.
	rewrite := func(path string, change func([]byte) []byte, mod time.Time) {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, change(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	mtime := func(path string) time.Time {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	silent := func(b []byte) []byte { // the WAV's samples zeroed, its header kept
		out := bytes.Clone(b)
		clear(out[44:])
		return out
	}
	renumber := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("+15550001"), []byte("+15550009")) }

	peaks1, call1 := get(peaksURL), get(callURL)
	if !bytes.Contains([]byte(call1), []byte("+15550001")) {
		t.Fatalf("the fixture's caller is not in the call: %s", call1)
	}
	wavTime, logTime := mtime(wav), mtime(logPath)
	rewrite(wav, silent, wavTime)
	rewrite(logPath, renumber, logTime)
	if peaks2 := get(peaksURL); peaks2 != peaks1 {
		t.Errorf("the peaks were computed again although the recording's size and time did not change:\n%s\nthen\n%s", peaks1, peaks2)
	}
	if call2 := get(callURL); call2 != call1 {
		t.Errorf("the call's log was read again although its size and time did not change")
	}

	// A new version of each file: read again.
	rewrite(wav, func(b []byte) []byte { return b }, wavTime.Add(time.Second))
	rewrite(logPath, func(b []byte) []byte { return b }, logTime.Add(time.Second))
	if peaks3 := get(peaksURL); peaks3 == peaks1 {
		t.Errorf("the recording changed (its time moved) but its old peaks were served: %s", peaks3)
	}
	if call3 := get(callURL); !bytes.Contains([]byte(call3), []byte("+15550009")) {
		t.Errorf("the call's log changed (its time moved) but its old timeline was served: %s", call3)
	}
}

// The timeline gives each turn's latency parts in order, with the playout that
// came in its own event, and none for a turn logged before parts existed.
func TestTimelineLatencyParts(t *testing.T) {
	logDir := t.TempDir()
	_, path, _ := writeLongCall(t, logDir, "", 12_000)
	tl, _, err := decodeTimeline(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Latencies) != 2 {
		t.Fatalf("%d latencies, want 2", len(tl.Latencies))
	}
	l := tl.Latencies[0]
	want := []LatencyPart{{"endpointing", 550}, {"model", 150}, {"tools", 400}, {"first_audio", 240}, {"relay", 10}, {"playout", 120}}
	if len(l.Parts) != len(want) {
		t.Fatalf("parts %v, want %v", l.Parts, want)
	}
	for i := range want {
		if l.Parts[i] != want[i] {
			t.Errorf("part %d: %v, want %v", i, l.Parts[i], want[i])
		}
	}
	if l.TotalMs != 1350 || l.LatencyMs != 800 {
		t.Errorf("total %d ms, latency %d ms; want 1350 and 800", l.TotalMs, l.LatencyMs)
	}
}

// Passing debug frames over before decoding them changes nothing the page
// shows: the summary is calllog's, its last line a frame's, and a frame-shaped
// text inside another event's fields is not mistaken for one.
func TestTimelineSkipsFramesLikeTheSummary(t *testing.T) {
	dir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir})
	sid := "CA00000000000000000000000000000777"
	at := func(ms int) callevent.Header {
		return callevent.Header{Time: t0.Add(time.Duration(ms) * time.Millisecond), CallSID: sid}
	}
	w.Event(callevent.CallStarted{Header: at(0), From: "+15550001"})
	w.Event(callevent.RawFrame{Header: at(10), Source: callevent.SourceTwilio, Type: "start", Data: []byte(`{"event":"start"}`)})
	w.Event(callevent.CallerTranscript{Header: at(900), ItemID: "i1", Text: `"type":"debug.frame" said the caller`})
	w.Event(callevent.RawFrame{Header: at(1500), Source: callevent.SourceRealtime, Type: "x", Data: []byte(`{"type":"debug.frame"}`)})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path, err := calllog.Find(dir, sid)
	if err != nil {
		t.Fatal(err)
	}
	tl, c, err := decodeTimeline(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := calllog.Summarize(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("summary\n%+v\nwant calllog's\n%+v", c, want)
	}
	if len(tl.Transcript) != 1 || tl.Transcript[0].Text != `"type":"debug.frame" said the caller` {
		t.Errorf("transcript %+v", tl.Transcript)
	}
}

// reset empties the cache: a test that times a cold opening after a warm one.
func (c *timelineCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.next = [8]timelineEntry{}, 0
}

func (c *peaksCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.next = [8]peaksEntry{}, 0
}

// Reading the list computes its newest ended calls ahead (timeline, and the
// peaks the call page asks for), in the background, so that a click on one is
// answered from the cache.
func TestListComputesNewestCallsAhead(t *testing.T) {
	s := start(t, nil)
	ResetCaches()
	wav := filepath.Join(s.h.opts.RecordDir, sidTool+".wav")
	logPath, err := calllog.Find(s.h.opts.LogDir, sidTool)
	if err != nil {
		t.Fatal(err)
	}
	res := s.get(t, "/api/calls", s.token, nil)
	if b := body(t, res); res.StatusCode != 200 {
		t.Fatalf("list: %d %s", res.StatusCode, b)
	}
	lfi, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	wfi, err := os.Stat(wav)
	if err != nil {
		t.Fatal(err)
	}
	s.h.Wait()
	_, _, tlOK := timelines.get(keyOf(logPath, lfi))
	_, pkOK := peakCache.get(peaksKey{keyOf(wav, wfi), pagePeaks})
	if !tlOK || !pkOK {
		t.Fatalf("after the list: timeline cached %v, page's peaks cached %v", tlOK, pkOK)
	}
}
