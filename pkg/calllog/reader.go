package calllog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
)

// BadLine is a line that was skipped: not JSON, cut short, or an event whose
// fields do not decode.
type BadLine struct {
	File string
	Line int
	Err  error
}

func (b BadLine) Error() string { return fmt.Sprintf("%s:%d: skipped: %v", b.File, b.Line, b.Err) }

// maxLine bounds one line; longer ones are skipped.
const maxLine = 16 << 20

// Read reads JSON lines from r, which name names in reports. fn receives every
// event line with its event. Lines that are JSON but not events (serve's other
// log lines) and events of types this version does not know are passed over;
// lines that cannot be read go to bad, and reading goes on.
func Read(r io.Reader, name string, fn func(Line, callevent.Event), bad func(BadLine)) error {
	return ReadRecords(r, name, fn, nil, bad)
}

// ReadRecords is Read that also passes the server's own log records (lines with
// a "msg" that are not events: its warnings and errors) to rec, in their place
// among the events. nil rec passes them over like Read.
func ReadRecords(r io.Reader, name string, fn func(Line, callevent.Event), rec func(ServerRecord), bad func(BadLine)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	n := 0
	for {
		data, err := readLine(br)
		switch {
		case errors.Is(err, errLongLine):
			n++
			report(bad, BadLine{name, n, err})
			continue
		case err == io.EOF:
			if len(data) > 0 {
				n++
				decodeLine(data, name, n, true, fn, rec, bad)
			}
			return nil
		case err != nil:
			return err
		}
		n++
		decodeLine(data, name, n, false, fn, rec, bad)
	}
}

var errLongLine = errors.New("line longer than 16 MiB")

// readLine returns the next line without its newline. A line over maxLine is
// consumed and reported as errLongLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxLine {
			buf = append(buf, chunk...)
		} else {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			return nil, errLongLine
		}
		switch {
		case err == nil:
			return bytes.TrimRight(buf, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return buf, err
		}
	}
}

func decodeLine(data []byte, name string, n int, last bool, fn func(Line, callevent.Event), rec func(ServerRecord), bad func(BadLine)) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return
	}
	var l Line
	if err := json.Unmarshal(data, &l); err != nil {
		if last && !json.Valid(data) {
			err = errors.New("the line is cut short (the writer stopped mid-line)")
		}
		report(bad, BadLine{name, n, err})
		return
	}
	if l.Type == "" { // not an event: another log line
		if rec != nil {
			if r, ok := parseRecord(data); ok {
				rec(r)
			}
		}
		return
	}
	l.Level = strings.ToLower(l.Level)
	ev, err := l.Event()
	if err != nil {
		if _, known := eventKind(l.Type); known {
			report(bad, BadLine{name, n, err})
		}
		return
	}
	fn(l, ev)
}

func eventKind(typ string) (string, bool) {
	_, err := callevent.DecodeEvent(typ, nil, callevent.Header{})
	return typ, err == nil
}

func report(bad func(BadLine), b BadLine) {
	if bad != nil {
		bad(b)
	}
}

// ReadFile reads one call's log.
func ReadFile(path string, fn func(Line, callevent.Event), bad func(BadLine)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return Read(f, path, fn, bad)
}

// Call sums up one call's log.
type Call struct {
	CallSID  string        `json:"call_sid"`
	From     string        `json:"from,omitempty"`
	To       string        `json:"to,omitempty"`
	Path     string        `json:"path"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"` // of a call that ended; else from start to the last line
	Ended    bool          `json:"ended"`
	Reason   string        `json:"reason,omitempty"`
	// Streamed is false for a call whose media stream never reached this log's
	// process: only its webhook (and a warning) were logged.
	Streamed   bool          `json:"streamed"`
	Turns      int           `json:"turns"`
	LatencyP50 time.Duration `json:"latency_p50_ns,omitempty"`
	LastLine   time.Time     `json:"last_line"`
	Bad        int           `json:"bad_lines,omitempty"` // lines skipped
	// CostUSD is what the call cost, as its last call.usage (or its end) said; nil
	// when no usage was logged or its price is unknown (CostUnknown).
	CostUSD     *float64 `json:"cost_usd,omitempty"`
	CostUnknown bool     `json:"cost_unknown,omitempty"` // usage was logged, for a model without a price
	// Interruptions and ToolCalls are the call's barge-ins and tool calls: as its
	// end counted them, or as logged until now.
	Interruptions int `json:"interruptions,omitempty"`
	ToolCalls     int `json:"tool_calls,omitempty"`
}

// Summarize reads a call's log and sums it up.
func Summarize(path string) (Call, error) {
	f, err := os.Open(path)
	if err != nil {
		return Call{Path: path, CallSID: strings.TrimSuffix(filepath.Base(path), ".jsonl")}, err
	}
	defer f.Close()
	return summarize(f, path)
}

// summarize sums up the call logged in r, the file path or its beginning.
func summarize(r io.Reader, path string) (Call, error) {
	s := NewSummary(path)
	err := Read(r, path, s.Add, func(BadLine) { s.Bad() })
	return s.Call(), err
}

// Summary sums up a call's log as it is read, for a reader that reads the lines
// for something else too (the inspector's timeline): Add every event line in
// order, then Call. Summarize is Summary over a whole file.
type Summary struct {
	c   Call
	lat []time.Duration
}

// NewSummary starts the summary of the call logged at path.
func NewSummary(path string) *Summary {
	return &Summary{c: Call{Path: path, CallSID: strings.TrimSuffix(filepath.Base(path), ".jsonl")}}
}

// Add counts one event line.
func (s *Summary) Add(l Line, ev callevent.Event) {
	c := &s.c
	if c.Started.IsZero() {
		c.Started = l.Time
	}
	c.LastLine = l.Time
	switch e := ev.(type) {
	case callevent.HTTPRequest:
		if c.From == "" && c.To == "" { // the webhook comes before the stream
			c.From, c.To = e.From, e.To
		}
	case callevent.CallStarted:
		c.Started, c.From, c.To, c.Streamed = l.Time, e.From, e.To, true
	case callevent.TurnLatency:
		s.lat = append(s.lat, e.Latency)
	case callevent.Interruption:
		c.Interruptions++
	case callevent.ToolCall:
		c.ToolCalls++
	case callevent.CallUsage:
		c.CostUSD, c.CostUnknown = e.CostUSD, e.CostUSD == nil
	case callevent.CallEnded:
		c.Ended, c.Reason, c.Duration, c.Turns = true, string(e.Reason), e.Duration, e.Turns
		c.Interruptions, c.ToolCalls = e.Interruptions, e.ToolCalls
		if e.CostUSD != nil {
			c.CostUSD, c.CostUnknown = e.CostUSD, false
		}
	}
}

// Bad counts a line that was skipped.
func (s *Summary) Bad() { s.c.Bad++ }

// Call is the call as summed up so far.
func (s *Summary) Call() Call {
	c := s.c
	if !c.Ended && !c.Started.IsZero() {
		c.Duration = c.LastLine.Sub(c.Started)
	}
	if len(s.lat) > 0 {
		lat := slices.Clone(s.lat)
		slices.Sort(lat)
		c.LatencyP50 = lat[(len(lat)-1)/2]
	}
	return c
}

// List sums up the calls logged in dir that started at or after since (zero: all),
// newest first.
func List(dir string, since time.Time) ([]Call, error) {
	all, err := files(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Call
	for _, f := range all {
		if !since.IsZero() && f.mod.Before(since) {
			continue // last written before since: started before it too
		}
		c, err := Summarize(f.path)
		if err != nil {
			continue
		}
		if !since.IsZero() && c.Started.Before(since) {
			continue
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Call) int { return b.Started.Compare(a.Started) })
	return out, nil
}

// ErrNoCall is returned by Find when no logged call matches.
var ErrNoCall = errors.New("no logged call matches")

// Find returns the log file of the call whose SID starts with prefix. No match is
// ErrNoCall; several are an error listing them. A SID as the list and the call
// markers show it, elided ("CA0123…cdef", "…a1b2c3"; "..." too), matches the
// calls whose SID has those ends.
func Find(dir, prefix string) (string, error) {
	head, tail, elided := strings.Cut(strings.ReplaceAll(prefix, "...", "…"), "…")
	all, err := files(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var match []string
	for _, f := range all {
		sid := strings.TrimSuffix(filepath.Base(f.path), ".jsonl")
		if sid == prefix {
			return f.path, nil
		}
		if elided && len(sid) >= len(head)+len(tail) && strings.HasPrefix(sid, head) && strings.HasSuffix(sid, tail) ||
			!elided && strings.HasPrefix(sid, prefix) {
			match = append(match, f.path)
		}
	}
	switch len(match) {
	case 0:
		return "", fmt.Errorf("%w %q in %s", ErrNoCall, prefix, dir)
	case 1:
		return match[0], nil
	}
	var sids []string
	for _, m := range match {
		sids = append(sids, strings.TrimSuffix(filepath.Base(m), ".jsonl"))
	}
	if len(sids) > 5 {
		sids = append(sids[:5], "…")
	}
	return "", fmt.Errorf("%q matches %d calls (%s): give more of the call SID", prefix, len(match), strings.Join(sids, ", "))
}

// Follower reads call logs as they are written: lines appended to existing files
// and new files from their start.
type Follower struct {
	Dir string
	// Poll is how often the directory is looked at (default 200ms).
	Poll time.Duration
	// Path, when set, follows that one file from its start, until its call ends.
	Path string
	// Attached, when set, is called before the first new line of a call that was
	// in progress when following began (its log existed, without its end), with
	// the call as logged until then: its start, its numbers. So a call joined
	// midway is introduced like one seen from its start.
	Attached func(Call)

	offsets map[string]*followed
}

type followed struct {
	off     int64
	partial []byte
	line    int
	attach  bool // existed when following began: Attached is due
}

// Run calls fn for each new event line until ctx ends (or, with Path, until the
// call ended). Lines of different files arrive in the order the files are read.
func (fl *Follower) Run(ctx context.Context, fn func(Line, callevent.Event), bad func(BadLine)) error {
	poll := fl.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	fl.offsets = map[string]*followed{}
	if fl.Path == "" {
		// Existing calls: only what they log from now on.
		all, _ := files(fl.Dir)
		for _, f := range all {
			fl.offsets[f.path] = &followed{off: f.size, line: countLines(f.path, f.size), attach: f.size > 0}
		}
	}
	ended := false
	wrap := func(l Line, ev callevent.Event) {
		if _, ok := ev.(callevent.CallEnded); ok && fl.Path != "" {
			ended = true
		}
		fn(l, ev)
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if fl.Path != "" {
			if err := fl.read(fl.Path, wrap, bad); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if ended {
				return nil
			}
		} else {
			all, _ := files(fl.Dir)
			for _, f := range all {
				fl.read(f.path, wrap, bad)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// read reads what was appended to path since the last read; an incomplete last
// line waits for the rest.
func (fl *Follower) read(path string, fn func(Line, callevent.Event), bad func(BadLine)) error {
	st := fl.offsets[path]
	if st == nil {
		st = &followed{}
		fl.offsets[path] = st
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.Size() <= st.off {
		return err
	}
	buf := make([]byte, info.Size()-st.off)
	n, err := f.ReadAt(buf, st.off)
	if err != nil && err != io.EOF {
		return err
	}
	buf = buf[:n]
	start := st.off
	st.off += int64(n)
	data := append(st.partial, buf...)
	if st.attach && bytes.IndexByte(data, '\n') >= 0 {
		st.attach = false
		if fl.Attached != nil {
			if c, err := summarize(io.NewSectionReader(f, 0, start), path); err == nil && !c.Ended && !c.Started.IsZero() {
				fl.Attached(c)
			}
		}
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		st.line++
		decodeLine(data[:i], path, st.line, false, fn, nil, bad)
		data = data[i+1:]
	}
	st.partial = append([]byte(nil), data...)
	return nil
}

// countLines counts the newlines in the first size bytes of path, so reports of
// followed files name the right lines.
func countLines(path string, size int64) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	buf := make([]byte, 64<<10)
	var read int64
	for read < size {
		k, err := f.Read(buf)
		if k > 0 {
			if int64(k) > size-read {
				k = int(size - read)
			}
			n += bytes.Count(buf[:k], []byte{'\n'})
			read += int64(k)
		}
		if err != nil {
			break
		}
	}
	return n
}
