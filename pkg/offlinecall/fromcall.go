package offlinecall

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// Every call becomes a test: a call dev logged and recorded is turned back into a
// Scenario. The caller's turns are cut from the recording's caller channel (the
// left one), the keys the caller pressed and the tools the agent called come from
// the call log, and the replay is expected to call the same tools, in the same
// order, and to end the same way.
//
// Where the caller spoke is found by energy on the caller channel, not from the
// log's speech events: the caller channel holds nothing but the caller, so its
// energy is where the caller spoke, to the frame; the log's speech_started and
// speech_stopped are the model's view (late by its VAD, absent under some turn
// detection settings and engines) on the log's wall clock. Where a turn ends is
// found on the agent channel: the caller's speech up to the agent's next words is
// one turn, with its pauses kept, so the model under test hears the same pauses the
// original one heard.

// LoggedCall is what a call log says about one call, as a replay needs it.
type LoggedCall struct {
	CallSID string
	// Start is when the call started: the recording's time zero.
	Start time.Time
	// Keys are the caller's key presses, in order.
	Keys []LoggedKey
	// Tools are the agent's tool calls, in order.
	Tools []LoggedTool
	// Ended is why the call ended ("" when the log stops before the end); End is when.
	Ended callevent.EndReason
	End   time.Duration
	// BadLines counts the lines of the log that could not be read.
	BadLines int
}

// LoggedKey is a key the caller pressed, At after the call started.
type LoggedKey struct {
	At    time.Duration
	Digit string
}

// LoggedTool is a tool the agent called, At after the call started.
type LoggedTool struct {
	At        time.Duration
	Name      string
	Arguments string
}

// ErrNotStreamed is returned by ReadLoggedCall for a log with no call start: the
// call's media stream never reached callagent, so nothing of it was recorded.
var ErrNotStreamed = errors.New("the log has no call start: the call's media stream never reached callagent, so there is nothing to replay")

// ReadLoggedCall reads a call's log (one call: lines of other calls are passed
// over). The log is untrusted input: bad lines are counted and skipped, digits that
// are not keys and times before the start are dropped.
func ReadLoggedCall(r io.Reader, name string) (*LoggedCall, error) {
	c := &LoggedCall{}
	started := false
	err := calllog.Read(r, name, func(l calllog.Line, ev callevent.Event) {
		if _, ok := ev.(callevent.CallStarted); ok && !started {
			started, c.CallSID, c.Start = true, l.CallSID, l.Time
			return
		}
		if !started || l.CallSID != c.CallSID {
			return // the webhook's lines come before the start; another call's are not this one's
		}
		d := max(0, l.Time.Sub(c.Start))
		switch e := ev.(type) {
		case callevent.DTMF:
			if len(e.Digit) == 1 && strings.Contains("0123456789*#", e.Digit) {
				c.Keys = append(c.Keys, LoggedKey{At: d, Digit: e.Digit})
			}
		case callevent.ToolCall:
			if e.Name != "" {
				c.Tools = append(c.Tools, LoggedTool{At: d, Name: e.Name, Arguments: e.Arguments})
			}
		case callevent.CallEnded:
			if c.Ended == "" {
				c.Ended, c.End = e.Reason, d
			}
		}
	}, func(calllog.BadLine) { c.BadLines++ })
	if err != nil {
		return nil, err
	}
	if !started {
		return nil, ErrNotStreamed
	}
	slices.SortStableFunc(c.Keys, func(a, b LoggedKey) int { return cmp.Compare(a.At, b.At) })
	return c, nil
}

// Segment is one caller turn in a recording, in samples at 8 kHz: [Start, End).
type Segment struct {
	Start, End int
	// BargeInAfter is how far into the agent's speech the caller started speaking;
	// zero when the agent was quiet.
	BargeInAfter time.Duration
}

// SegmentOptions tune the segmenter; the zero value is the default.
type SegmentOptions struct {
	// Threshold is the RMS (16-bit linear) over which a 20 ms frame is speech
	// (default 400, the simulated model's VAD; raised over a noisy line's floor).
	Threshold float64
	// Hangover joins speech across pauses shorter than this (default 300 ms).
	Hangover time.Duration
	// Pad is kept before and after each turn's speech (default 200 ms).
	Pad time.Duration
}

const segFrame = 160 // 20 ms at 8 kHz

// activity is a run of loud frames: [start, end) in samples.
type activity struct{ start, end int }

// speech finds where a track is loud: runs of loud 20 ms frames joined across
// pauses shorter than hangover; a run of a single frame (a click) is dropped.
func speech(track []int16, threshold float64, hangover int) []activity {
	var runs []activity
	loudFrames := 0
	cur := activity{start: -1}
	flush := func() {
		if cur.start >= 0 && loudFrames >= 2 {
			runs = append(runs, cur)
		}
		cur, loudFrames = activity{start: -1}, 0
	}
	for pos := 0; pos+segFrame <= len(track); pos += segFrame {
		var sum float64
		for _, s := range track[pos : pos+segFrame] {
			sum += float64(s) * float64(s)
		}
		if sum/segFrame <= threshold*threshold {
			continue
		}
		if cur.start >= 0 && pos-cur.end > hangover {
			flush()
		}
		if cur.start < 0 {
			cur.start = pos
		}
		cur.end = pos + segFrame
		loudFrames++
	}
	flush()
	return runs
}

// noiseFloor is the RMS a track is quiet at: the 10th percentile of its frames'.
func noiseFloor(track []int16) float64 {
	var rms []float64
	for pos := 0; pos+segFrame <= len(track); pos += segFrame {
		var sum float64
		for _, s := range track[pos : pos+segFrame] {
			sum += float64(s) * float64(s)
		}
		rms = append(rms, sum/segFrame)
	}
	if len(rms) == 0 {
		return 0
	}
	slices.Sort(rms)
	return math.Sqrt(rms[len(rms)/10])
}

// SegmentCaller finds the caller's turns in a recording's two tracks (8 kHz): the
// caller's speech, joined into one turn until the agent starts to speak or a key is
// pressed (keys, sample positions, split turns too).
func SegmentCaller(caller, agent []int16, keys []int, opts SegmentOptions) []Segment {
	if opts.Threshold <= 0 {
		opts.Threshold = 400
	}
	if opts.Hangover <= 0 {
		opts.Hangover = 300 * time.Millisecond
	}
	if opts.Pad <= 0 {
		opts.Pad = 200 * time.Millisecond
	}
	samples := func(d time.Duration) int { return int(d.Milliseconds() * 8) }
	hang, pad := samples(opts.Hangover), samples(opts.Pad)
	// A noisy line raises the threshold over its floor, within reason: a caller who
	// talks most of the call must not raise it over their own voice.
	threshold := func(track []int16) float64 { return max(opts.Threshold, min(4*noiseFloor(track), 1500)) }
	callerRuns := speech(caller, threshold(caller), hang)
	agentRuns := speech(agent, threshold(agent), hang)

	// splits are the positions where the caller's turn ends: the agent starting to
	// speak, a key press.
	var splits []int
	for _, a := range agentRuns {
		splits = append(splits, a.start)
	}
	splits = append(splits, keys...)
	slices.Sort(splits)
	splitBetween := func(a, b int) bool {
		i, _ := slices.BinarySearch(splits, a)
		return i < len(splits) && splits[i] < b
	}

	var segs []Segment
	for _, r := range callerRuns {
		// The agent started to speak (or a key was pressed) since this turn began,
		// even while the caller still spoke: what follows is a new turn.
		if n := len(segs); n > 0 && !splitBetween(segs[n-1].Start+1, r.start) {
			segs[n-1].End = r.end
			continue
		}
		seg := Segment{Start: r.start, End: r.end}
		for _, a := range agentRuns {
			if a.start <= r.start && r.start < a.end {
				seg.BargeInAfter = max(time.Millisecond, time.Duration(r.start-a.start)*time.Millisecond/8)
				break
			}
		}
		segs = append(segs, seg)
	}
	// Pad each turn with the quiet around it, never into the next one.
	for i := range segs {
		lo, hi := 0, len(caller)
		if i > 0 {
			lo = segs[i-1].End
		}
		if i+1 < len(segs) {
			hi = segs[i+1].Start
		}
		segs[i].Start = max(lo, segs[i].Start-pad)
		segs[i].End = min(hi, segs[i].End+pad)
	}
	return segs
}

// Replay is a logged call made into a scenario.
type Replay struct {
	Scenario *Scenario
	// Call is what the log said.
	Call *LoggedCall
	// Turns is the number of caller turns cut from the recording.
	Turns int
	// RealSpeech is set when a caller turn is not simulated speech: a call from a
	// phone, which only the real model understands.
	RealSpeech bool
	// Notes say what the replay cannot check (an ending it does not expect).
	Notes []string
}

// maxRecordingBytes bounds the recording read: two hours of callagent's stereo
// 16-bit 8 kHz WAV (230 MB).
const maxRecordingBytes = 2 * 3600 * 8000 * 4

// ReadRecording reads a callagent recording (stereo WAV: caller left, agent right)
// as two 8 kHz tracks.
func ReadRecording(path string) (caller, agent []int16, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecordingBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxRecordingBytes {
		return nil, nil, fmt.Errorf("%s: over two hours: too long to replay", path)
	}
	caller, agent, err = recordingTracks(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return caller, agent, nil
}

func recordingTracks(data []byte) (caller, agent []int16, err error) {
	rate, chans, err := audio.ReadWAVChannels(data)
	if err != nil {
		return nil, nil, err
	}
	if len(chans) != 2 || rate != 8000 {
		return nil, nil, fmt.Errorf("%d channels at %d Hz: not a callagent recording (two channels at 8 kHz: caller left, agent right)", len(chans), rate)
	}
	return chans[0], chans[1], nil
}

// FromCall makes a replay of a logged call from its recording's tracks (8 kHz),
// writing each caller turn to dir as turn-NN.wav (mono, 16-bit, 8 kHz; readable
// by the owner only: it is the caller's voice). The scenario's audio paths are
// relative to dir.
func FromCall(call *LoggedCall, caller, agent []int16, dir string) (*Replay, error) {
	var keyPos []int
	for _, k := range call.Keys {
		keyPos = append(keyPos, int(k.At.Milliseconds()*8))
	}
	segs := SegmentCaller(caller, agent, keyPos, SegmentOptions{})
	r := &Replay{Call: call, Turns: len(segs)}
	sc := &Scenario{Name: "replay of " + call.CallSID, dir: dir}

	// The turns in the order they happened: caller turns by start, keys by time.
	keys := call.Keys
	pressKeys := func(before int) {
		var digits strings.Builder
		for len(keys) > 0 && int(keys[0].At.Milliseconds()*8) < before {
			digits.WriteString(keys[0].Digit)
			keys = keys[1:]
		}
		if digits.Len() > 0 {
			sc.Turns = append(sc.Turns, Turn{DTMF: digits.String()})
		}
	}
	lastEnd := 0
	for i, s := range segs {
		pressKeys(s.Start)
		name := fmt.Sprintf("turn-%02d.wav", i+1)
		err := writeFile(filepath.Join(dir, name), func(w io.Writer) error { return audio.WriteMonoWAV(w, 8000, caller[s.Start:s.End]) })
		if err != nil {
			return nil, err
		}
		sc.Turns = append(sc.Turns, Turn{Audio: name, BargeInAfter: Duration(s.BargeInAfter)})
		if _, ok := Transcribe(audio.EncodeMulaw(caller[s.Start:s.End])); !ok {
			r.RealSpeech = true
		}
		lastEnd = s.End
	}
	pressKeys(math.MaxInt)

	// The tool calls are expected as they were: the same names in the same order.
	// Arguments are not compared: a model words them differently from run to run
	// (and a date or an amount in them changes), so they would make a replay fail
	// for nothing; the saved scenario lists them for the reader.
	sc.Expect.ToolCalls = []string{} // none made: none expected
	for _, t := range call.Tools {
		sc.Expect.ToolCalls = append(sc.Expect.ToolCalls, t.Name)
	}
	lastAt := time.Duration(lastEnd) * time.Millisecond / 8
	switch call.Ended {
	case callevent.EndCallerHangup, callevent.EndCallerDisconnected, callevent.EndCancelled, callevent.EndServerShutdown, callevent.EndCallerTimeout:
		// The caller (or dev's Ctrl-C) ended it: the replay's caller hangs up once
		// the agent has answered the last turn.
		if call.Ended == callevent.EndCallerHangup {
			sc.Expect.Ended = string(call.Ended)
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("the call ended %s: the replay's caller hangs up after its last turn, and its ending is not compared", call.Ended))
		}
		sc.Turns = append(sc.Turns, Turn{Hangup: true})
	case callevent.EndAgentHangup, callevent.EndTransferred, callevent.EndIdle, callevent.EndMaxDuration, callevent.EndMaxCost:
		// The agent ended it: the caller waits as long as it did, and a little more,
		// then hangs up (an agent that no longer ends the call fails the ending).
		wait := max(0, call.End-lastAt) + 3*time.Second
		sc.Turns = append(sc.Turns, Turn{Wait: Duration(wait)}, Turn{Hangup: true})
		sc.Expect.Ended = string(call.Ended)
	case "":
		r.Notes = append(r.Notes, "the log stops before the call's end: the replay's caller hangs up after its last turn, and the ending is not compared")
		sc.Turns = append(sc.Turns, Turn{Hangup: true})
	default:
		r.Notes = append(r.Notes, fmt.Sprintf("the call ended %s (a failure, not the agent's choice): the ending is not compared", call.Ended))
		sc.Turns = append(sc.Turns, Turn{Hangup: true})
	}
	if len(segs) == 0 && len(call.Keys) == 0 {
		r.Notes = append(r.Notes, "the recording's caller channel is silent: the replay says nothing")
	}
	// The replay takes about as long as the call; twice that and a minute is its bound.
	sc.Timeout = Duration(2*max(call.End, lastAt) + time.Minute)
	r.Scenario = sc
	return r, nil
}

// writeFile writes a file only its owner reads.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ToolCalls are the names of the tools called in events, in order.
func ToolCalls(events []callevent.Event) []string {
	var names []string
	for _, ev := range events {
		if t, ok := ev.(callevent.ToolCall); ok {
			names = append(names, t.Name)
		}
	}
	return names
}

func nameList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// scenarioFile is how a replay is saved: the fields of a Scenario it uses, with
// durations written as a scenario file reads them.
type scenarioFile struct {
	Name    string     `yaml:"name"`
	Timeout string     `yaml:"timeout,omitempty"`
	Turns   []turnFile `yaml:"turns"`
	Expect  expectFile `yaml:"expect"`
}

type turnFile struct {
	Audio        string `yaml:"audio,omitempty"`
	BargeInAfter string `yaml:"barge_in_after,omitempty"`
	DTMF         string `yaml:"dtmf,omitempty"`
	Wait         string `yaml:"wait,omitempty"`
	Hangup       bool   `yaml:"hangup,omitempty"`
}

type expectFile struct {
	ToolCalls []string `yaml:"tool_calls"` // [] when none: none expected
	Ended     string   `yaml:"ended,omitempty"`
}

func durationText(d Duration) string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).Round(time.Millisecond).String()
}

// ScenarioFileName is the name Save gives the scenario in its directory.
const ScenarioFileName = "scenario.yaml"

// Save writes the replay's scenario to its directory as scenario.yaml, beside the
// turns' WAV files, so the directory can be committed as a test and run with
// `callagent simulate --scenario DIR/scenario.yaml`.
func (r *Replay) Save() (string, error) {
	sc := r.Scenario
	f := scenarioFile{Name: sc.Name, Timeout: durationText(sc.Timeout),
		Expect: expectFile{ToolCalls: append([]string{}, sc.Expect.ToolCalls...), Ended: sc.Expect.Ended}}
	for _, t := range sc.Turns {
		f.Turns = append(f.Turns, turnFile{Audio: t.Audio, BargeInAfter: durationText(t.BargeInAfter), DTMF: t.DTMF,
			Wait: durationText(t.Wait), Hangup: t.Hangup})
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# A replay of call %s, made by callagent simulate --from-call.\n", oneLine(r.Call.CallSID))
	b.WriteString("# The audio files are the caller's own voice: personal data. Commit them only with the caller's consent.\n")
	b.WriteString("# Tool calls of the original call (arguments are not compared):\n")
	for _, t := range r.Call.Tools {
		fmt.Fprintf(&b, "#   %s %s\n", oneLine(t.Name), oneLine(t.Arguments))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "# Note: %s\n", oneLine(n))
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return "", err
	}
	path := filepath.Join(sc.dir, ScenarioFileName)
	return path, writeFile(path, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err })
}

// oneLine keeps a logged string on one comment line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
