package inspector

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// Timeline is one call on one time axis: every offset (…Ms) is milliseconds
// from the call's start (its call.started line, or its first line when the
// media stream never came).
type Timeline struct {
	Call         *Call       `json:"call,omitempty"`
	Start        time.Time   `json:"start"`
	DurationMs   int64       `json:"duration_ms"`
	CallerSpeech []Span      `json:"caller_speech"`
	Answers      []Answer    `json:"answers"`
	Tools        []Tool      `json:"tools"`
	Guardrails   []Guardrail `json:"guardrails"`
	DTMF         []Key       `json:"dtmf"`
	Latencies    []Latency   `json:"latencies"`
	Transcript   []Utterance `json:"transcript"`
	Notes        []Note      `json:"notes"`
	End          *End        `json:"end,omitempty"`
}

// Span is a stretch of the caller's speech, as the model's voice activity
// detection heard it (speech started to speech stopped).
type Span struct {
	StartMs int64  `json:"start_ms"`
	EndMs   int64  `json:"end_ms"`
	ItemID  string `json:"item_id,omitempty"`
	Open    bool   `json:"open,omitempty"` // no speech stopped was logged: it ends with the call
}

// Answer is one agent item. An answer cut off at a barge-in has Cut set, with
// what the caller heard of its audio (HeardMs) and what had been sent
// (SentMs); Heard and Unheard split its transcript in that proportion at a
// word boundary (an estimate: the transcript does not carry its own timing).
type Answer struct {
	ResponseID  string `json:"response_id,omitempty"`
	ItemID      string `json:"item_id,omitempty"`
	StartMs     int64  `json:"start_ms"`
	EndMs       int64  `json:"end_ms"`
	Text        string `json:"text"`
	Interrupted bool   `json:"interrupted,omitempty"`
	Cut         bool   `json:"cut,omitempty"`
	HeardMs     int    `json:"heard_ms,omitempty"`
	SentMs      int    `json:"sent_ms,omitempty"`
	Heard       string `json:"heard,omitempty"`
	Unheard     string `json:"unheard,omitempty"`
	LatencyMs   int64  `json:"latency_ms,omitempty"`
	// Guardrail names the rule the answer broke: its audio was cut off there,
	// HeardMs into it.
	Guardrail string `json:"guardrail,omitempty"`
}

// Tool is one tool call: its arguments, result and how long it ran, and its
// approval when it needed one.
type Tool struct {
	CallID     string    `json:"call_id"`
	Name       string    `json:"name"`
	Arguments  string    `json:"arguments,omitempty"`
	StartMs    int64     `json:"start_ms"`
	EndMs      *int64    `json:"end_ms,omitempty"` // nil: no result was logged
	DurationMs int64     `json:"duration_ms"`
	Output     string    `json:"output,omitempty"`
	Error      string    `json:"error,omitempty"`
	Background bool      `json:"background,omitempty"`
	Approval   *Approval `json:"approval,omitempty"`
}

// Approval is a tool call's wait for a person's decision.
type Approval struct {
	RequestedMs int64  `json:"requested_ms"`
	DecidedMs   *int64 `json:"decided_ms,omitempty"`
	Approved    bool   `json:"approved"`
	Reason      string `json:"reason,omitempty"`
}

// Guardrail is a rule the agent's words broke: its audio was cut off.
type Guardrail struct {
	AtMs    int64  `json:"at_ms"`
	Rule    string `json:"rule"`
	ItemID  string `json:"item_id,omitempty"`
	Text    string `json:"text,omitempty"`
	HeardMs int    `json:"heard_ms"`
}

// Key is a key the caller pressed.
type Key struct {
	AtMs  int64  `json:"at_ms"`
	Digit string `json:"digit"`
}

// Latency is a turn's latency: from the caller's speech stopping to the
// answer's first audio, less time spent waiting for approvals.
//
// Parts says where the time went, in the turn's order (callevent.TurnLatency
// documents each): endpointing, model, tools, approval, first_audio, relay,
// then playout once Twilio echoed the answer's first frame as played (a
// callevent.TurnPlayout; absent when the answer was cut off first). All but
// playout add up to TotalMs, up to the rounding of each to milliseconds. A turn
// logged before the parts were measured has none.
type Latency struct {
	AtMs       int64         `json:"at_ms"`
	ResponseID string        `json:"response_id,omitempty"`
	LatencyMs  int64         `json:"latency_ms"`
	TotalMs    int64         `json:"total_ms,omitempty"`
	Parts      []LatencyPart `json:"parts,omitempty"`
}

// LatencyPart is one part of a turn's latency.
type LatencyPart struct {
	Name string `json:"name"` // endpointing, model, tools, approval, first_audio, relay, playout
	Ms   int64  `json:"ms"`
}

// latencyParts lists the parts of a turn, zero ones left out; nil for a turn
// logged without parts.
func latencyParts(e callevent.TurnLatency) []LatencyPart {
	if e.Total == 0 {
		return nil
	}
	var parts []LatencyPart
	for _, p := range []LatencyPart{
		{"endpointing", e.Endpointing.Milliseconds()}, {"model", e.ModelWait.Milliseconds()},
		{"tools", e.Tools.Milliseconds()}, {"approval", e.Approval.Milliseconds()},
		{"first_audio", e.FirstAudio.Milliseconds()}, {"relay", e.Relay.Milliseconds()},
	} {
		if p.Ms > 0 {
			parts = append(parts, p)
		}
	}
	return parts
}

// Utterance is a line of the transcript.
type Utterance struct {
	AtMs        int64  `json:"at_ms"`
	Who         string `json:"who"` // "caller" or "agent"
	ItemID      string `json:"item_id,omitempty"`
	Text        string `json:"text"`
	Interrupted bool   `json:"interrupted,omitempty"`
}

// Note is anything else worth a mark: warnings, model errors, handoffs.
type Note struct {
	AtMs    int64  `json:"at_ms"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// End is how the call ended.
type End struct {
	AtMs   int64  `json:"at_ms"`
	Reason string `json:"reason"`
	Error  string `json:"error,omitempty"`
}

// readTimeline builds the timeline of the call logged at path, and its
// summary, in one reading, or returns them from the cache when the file has not
// changed (same size and modification time) since: a 10-minute call's log
// takes a good part of a second to decode, and a page asks for it again on
// every reload. The answer is a copy of the cached timeline's top level, whose
// slices the caller must not change.
func readTimeline(path string) (*Timeline, calllog.Call, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, calllog.Call{}, err
	}
	key := keyOf(path, fi)
	if tl, c, ok := timelines.get(key); ok {
		return tl, c, nil
	}
	tl, c, err := decodeTimeline(path)
	if err != nil {
		return nil, calllog.Call{}, err
	}
	timelines.put(key, tl, c)
	cp := *tl
	return &cp, c, nil
}

// fileKey names one version of a file: a call's log only grows, and a
// recording is rewritten whole, so a change moves its size or its time.
type fileKey struct {
	path string
	size int64
	mod  int64 // unix ns
}

func keyOf(path string, fi os.FileInfo) fileKey {
	return fileKey{path: path, size: fi.Size(), mod: fi.ModTime().UnixNano()}
}

// timelineCache keeps the timelines of the last calls opened. It is shared by
// every Handler of the process: the key is the file, not the handler.
type timelineCache struct {
	mu      sync.Mutex
	entries [8]timelineEntry
	next    int
}

type timelineEntry struct {
	key  fileKey
	tl   *Timeline
	call calllog.Call
}

var timelines timelineCache

func (c *timelineCache) get(k fileKey) (*Timeline, calllog.Call, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.tl != nil && e.key == k {
			cp := *e.tl
			return &cp, e.call, true
		}
	}
	return nil, calllog.Call{}, false
}

func (c *timelineCache) put(k fileKey, tl *Timeline, call calllog.Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.key.path == k.path { // an older version of the same call
			c.entries[i] = timelineEntry{key: k, tl: tl, call: call}
			return
		}
	}
	c.entries[c.next] = timelineEntry{key: k, tl: tl, call: call}
	c.next = (c.next + 1) % len(c.entries)
}

// decodeTimeline reads the call logged at path. Debug frames, most of the lines
// of a call dev logged (a few every 20 ms of speech), are /frames's: they are
// passed over before they are decoded, which makes a 10-minute call's
// timeline about three times faster; the summary still takes the time of the
// last line from them.
func decodeTimeline(path string) (*Timeline, calllog.Call, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, calllog.Call{}, err
	}
	defer f.Close()
	var lines []calllog.Line
	var events []callevent.Event
	sum := calllog.NewSummary(path)
	skip := &frameSkipper{br: bufio.NewReaderSize(f, 64<<10)}
	if err := calllog.Read(skip, path, func(l calllog.Line, ev callevent.Event) {
		sum.Add(l, ev)
		if l.Level == "debug" && l.Type == "debug.frame" {
			return // not passed over (another shape of line): not the timeline's either
		}
		l.Fields = nil
		lines = append(lines, l)
		events = append(events, ev)
	}, func(calllog.BadLine) { sum.Bad() }); err != nil {
		return nil, calllog.Call{}, err
	}
	if skip.lastWasFrame && skip.lastTime != nil {
		// The call's last line was a frame: its time is the summary's last line.
		var l struct {
			Time time.Time `json:"time"`
		}
		if json.Unmarshal(skip.lastTime, &l) == nil {
			sum.Add(calllog.Line{Time: l.Time}, nil)
		}
	}
	return buildTimeline(lines, events), sum.Call(), nil
}

// frameSkipper reads a call log leaving out its debug frame lines: those whose
// top-level "type" (the first "type" key of a line, as calllog writes time,
// level, ns and type before any nested object) is debug.frame. It remembers
// whether the last line was one, and the time of the last it left out.
type frameSkipper struct {
	br           *bufio.Reader
	buf          []byte // what is left of the line being passed on
	skipping     bool   // in the middle of a long line left out
	passing      bool   // in the middle of a long line passed on
	lastWasFrame bool   // the last line that was not blank was left out
	lastTime     []byte // `{"time":"…"}` of the last line left out
}

var (
	frameType = []byte(`"type":"debug.frame"`)
	typeKey   = []byte(`"type":`)
)

func (s *frameSkipper) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		chunk, err := s.br.ReadSlice('\n')
		if len(chunk) > 0 {
			whole := err == nil
			switch {
			case s.skipping:
			case s.passing:
				s.buf = chunk
			default:
				if i := bytes.Index(chunk, typeKey); i >= 0 && bytes.HasPrefix(chunk[i:], frameType) {
					s.skipping, s.lastWasFrame = true, true
					if j := bytes.IndexByte(chunk, ','); j > 0 && j < i {
						s.lastTime = append(append(s.lastTime[:0], chunk[:j]...), '}')
					}
				} else {
					s.passing, s.buf = true, chunk
					if len(bytes.TrimSpace(chunk)) > 0 {
						s.lastWasFrame = false
					}
				}
			}
			if whole {
				s.skipping, s.passing = false, false
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && len(s.buf) == 0 {
			return 0, err
		}
		if err != nil {
			break
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// buildTimeline makes the timeline of a call's events (in their logged order).
func buildTimeline(lines []calllog.Line, events []callevent.Event) *Timeline {
	tl := &Timeline{CallerSpeech: []Span{}, Answers: []Answer{}, Tools: []Tool{}, Guardrails: []Guardrail{},
		DTMF: []Key{}, Latencies: []Latency{}, Transcript: []Utterance{}, Notes: []Note{}}
	if len(lines) == 0 {
		return tl
	}
	tl.Start = lines[0].Time
	for i, ev := range events {
		if _, ok := ev.(callevent.CallStarted); ok {
			tl.Start = lines[i].Time
			break
		}
	}
	at := func(t time.Time) int64 { return t.Sub(tl.Start).Milliseconds() }
	ptr := func(v int64) *int64 { return &v }

	answers := map[string]int{} // item ID → index in tl.Answers
	answer := func(item, resp string, t time.Time) *Answer {
		i, ok := answers[item]
		if !ok {
			i = len(tl.Answers)
			answers[item] = i
			tl.Answers = append(tl.Answers, Answer{ItemID: item, ResponseID: resp, StartMs: at(t), EndMs: at(t)})
		}
		a := &tl.Answers[i]
		if a.ResponseID == "" {
			a.ResponseID = resp
		}
		return a
	}
	tools := map[string]int{}
	tool := func(id, name string, t time.Time) *Tool {
		i, ok := tools[id]
		if !ok || id == "" {
			i = len(tl.Tools)
			tools[id] = i
			tl.Tools = append(tl.Tools, Tool{CallID: id, Name: name, StartMs: at(t)})
		}
		return &tl.Tools[i]
	}
	latency := map[string]int64{}    // response ID → latency
	firstAudio := map[string]int64{} // response ID → when its first audio was sent
	cut := map[string]callevent.Truncation{}
	guarded := map[string]callevent.GuardrailTripped{}
	cutAt := map[string]int64{}
	openSpan := -1
	var last time.Time
	for i, ev := range events {
		t := lines[i].Time
		last = t
		switch e := ev.(type) {
		case callevent.SpeechStarted:
			tl.CallerSpeech = append(tl.CallerSpeech, Span{StartMs: at(t), EndMs: at(t), ItemID: e.ItemID, Open: true})
			openSpan = len(tl.CallerSpeech) - 1
		case callevent.SpeechStopped:
			if openSpan >= 0 {
				s := &tl.CallerSpeech[openSpan]
				s.EndMs, s.Open = at(t), false
				openSpan = -1
			}
		case callevent.AgentTranscriptDelta:
			a := answer(e.ItemID, e.ResponseID, t)
			a.EndMs = max(a.EndMs, at(t))
		case callevent.AgentTranscript:
			a := answer(e.ItemID, e.ResponseID, t)
			a.Text, a.Interrupted = e.Text, e.Interrupted
			a.EndMs = max(a.EndMs, at(t))
			tl.Transcript = append(tl.Transcript, Utterance{AtMs: at(t), Who: "agent", ItemID: e.ItemID, Text: e.Text, Interrupted: e.Interrupted})
		case callevent.CallerTranscript:
			tl.Transcript = append(tl.Transcript, Utterance{AtMs: at(t), Who: "caller", ItemID: e.ItemID, Text: e.Text})
		case callevent.Interruption:
			for _, tr := range e.Truncations {
				cut[tr.ItemID] = tr
				cutAt[tr.ItemID] = at(t)
			}
		case callevent.TurnLatency:
			tl.Latencies = append(tl.Latencies, Latency{AtMs: at(t), ResponseID: e.ResponseID, LatencyMs: e.Latency.Milliseconds(),
				TotalMs: e.Total.Milliseconds(), Parts: latencyParts(e)})
			latency[e.ResponseID] = e.Latency.Milliseconds()
			firstAudio[e.ResponseID] = at(t)
		case callevent.TurnPlayout:
			// It follows its turn's latency: the last one of the response.
			for i := len(tl.Latencies) - 1; i >= 0; i-- {
				if l := &tl.Latencies[i]; l.ResponseID == e.ResponseID {
					if l.Parts != nil {
						l.Parts = append(l.Parts, LatencyPart{"playout", e.Playout.Milliseconds()})
					}
					break
				}
			}
		case callevent.ToolCall:
			tc := tool(e.CallID, e.Name, t)
			tc.Arguments = e.Arguments
		case callevent.ToolApprovalRequested:
			tc := tool(e.CallID, e.Name, t)
			if tc.Arguments == "" {
				tc.Arguments = e.Arguments
			}
			tc.Approval = &Approval{RequestedMs: at(t)}
		case callevent.ToolApprovalDecided:
			tc := tool(e.CallID, e.Name, t)
			if tc.Approval == nil {
				tc.Approval = &Approval{RequestedMs: at(t)}
			}
			tc.Approval.DecidedMs, tc.Approval.Approved, tc.Approval.Reason = ptr(at(t)), e.Approved, e.Reason
		case callevent.ToolResult:
			tc := tool(e.CallID, e.Name, t)
			tc.EndMs, tc.DurationMs, tc.Output, tc.Background = ptr(at(t)), e.Duration.Milliseconds(), e.Output, e.Background
			if e.Err != nil {
				tc.Error = e.Err.Error()
			}
		case callevent.GuardrailTripped:
			tl.Guardrails = append(tl.Guardrails, Guardrail{AtMs: at(t), Rule: e.Rule, ItemID: e.ItemID, Text: e.Text, HeardMs: e.HeardMs})
			guarded[e.ItemID] = e
			cutAt[e.ItemID] = at(t)
		case callevent.DTMF:
			tl.DTMF = append(tl.DTMF, Key{AtMs: at(t), Digit: e.Digit})
		case callevent.Warning:
			tl.Notes = append(tl.Notes, Note{AtMs: at(t), Kind: "warning", Message: e.Message})
		case callevent.ModelError:
			tl.Notes = append(tl.Notes, Note{AtMs: at(t), Kind: "model_error", Message: strings.TrimSpace(e.Code + " " + e.Message)})
		case callevent.AgentChanged:
			tl.Notes = append(tl.Notes, Note{AtMs: at(t), Kind: "handoff", Message: e.From + " → " + e.To})
		case callevent.CallEnded:
			tl.End = &End{AtMs: at(t), Reason: string(e.Reason)}
			if e.Err != nil {
				tl.End.Error = e.Err.Error()
			}
		}
	}
	tl.DurationMs = at(last)
	if openSpan >= 0 {
		tl.CallerSpeech[openSpan].EndMs = tl.DurationMs
	}
	for i := range tl.Answers {
		a := &tl.Answers[i]
		a.LatencyMs = latency[a.ResponseID]
		// Transcript deltas are not logged: an answer starts with its first
		// audio (the turn's latency line), when that came first.
		if fa, ok := firstAudio[a.ResponseID]; ok && fa < a.StartMs {
			a.StartMs = fa
		}
		if g, ok := guarded[a.ItemID]; ok {
			// Cut by a guardrail: how much was sent is not logged, so the
			// transcript is not split.
			a.Guardrail, a.Cut, a.HeardMs, a.EndMs = g.Rule, true, g.HeardMs, cutAt[a.ItemID]
		}
		tr, ok := cut[a.ItemID]
		if !ok {
			continue
		}
		// Its audio played until the barge-in cut it, whenever its transcript
		// was done.
		a.Cut, a.Interrupted, a.HeardMs, a.SentMs = true, true, tr.AudioEndMs, tr.SentMs
		a.EndMs = cutAt[a.ItemID]
		a.Heard, a.Unheard = splitHeard(a.Text, tr.AudioEndMs, tr.SentMs)
	}
	return tl
}

// splitHeard cuts text in the proportion heard/sent, back to the last space
// before the cut (a word the caller heard only part of counts as unheard).
func splitHeard(text string, heardMs, sentMs int) (heard, unheard string) {
	if text == "" || sentMs <= 0 {
		return "", text
	}
	if heardMs >= sentMs {
		return text, ""
	}
	n := len(text) * max(heardMs, 0) / sentMs
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	if sp := strings.LastIndexByte(text[:n], ' '); sp >= 0 && n < len(text) && text[n] != ' ' {
		n = sp + 1
	} else if sp < 0 && n < len(text) && text[n] != ' ' {
		n = 0
	}
	return text[:n], text[n:]
}
