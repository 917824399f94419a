package inspector

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// Call is one call in the list.
type Call struct {
	SID   string    `json:"sid"`
	From  string    `json:"from,omitempty"`
	To    string    `json:"to,omitempty"`
	Start time.Time `json:"start"`
	// DurationMs is the call's length; for a call in progress, from its start
	// to its last logged line.
	DurationMs int64 `json:"duration_ms"`
	Ended      bool  `json:"ended"`
	// Outcome is the end reason (callevent.EndReason), OutcomeInProgress for a
	// call whose end is not logged, or OutcomeNoStream for a webhook whose media
	// stream never came.
	Outcome       string   `json:"outcome"`
	Turns         int      `json:"turns"`
	LatencyP50Ms  int64    `json:"latency_p50_ms,omitempty"`
	Interruptions int      `json:"interruptions"`
	ToolCalls     int      `json:"tool_calls"`
	CostUSD       *float64 `json:"cost_usd,omitempty"`
	CostUnknown   bool     `json:"cost_unknown,omitempty"`
	Recording     bool     `json:"recording"`
	BadLines      int      `json:"bad_lines,omitempty"`
}

// Outcomes besides the end reasons.
const (
	OutcomeInProgress = "in_progress"
	OutcomeNoStream   = "no_stream"
)

func (h *Handler) summary(c calllog.Call) Call {
	out := Call{SID: c.CallSID, From: c.From, To: c.To, Start: c.Started, DurationMs: c.Duration.Milliseconds(),
		Ended: c.Ended, Outcome: c.Reason, Turns: c.Turns, LatencyP50Ms: c.LatencyP50.Milliseconds(),
		Interruptions: c.Interruptions, ToolCalls: c.ToolCalls, CostUSD: c.CostUSD, CostUnknown: c.CostUnknown,
		Recording: h.recording(c.CallSID) != "", BadLines: c.Bad}
	switch {
	case !c.Ended && !c.Streamed:
		out.Outcome = OutcomeNoStream
	case !c.Ended:
		out.Outcome = OutcomeInProgress
	}
	return out
}

// recording is the path of the call's recording, "" when there is none.
func (h *Handler) recording(sid string) string {
	if h.opts.RecordDir == "" || sid == "" {
		return ""
	}
	p := filepath.Join(h.opts.RecordDir, filepath.Base(sid)+".wav")
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	return p
}

// listQuery is what GET /api/calls filters by.
type listQuery struct {
	Text     string    // q: in the SID, numbers or outcome, any case
	Outcomes []string  // outcome: a comma list
	Since    time.Time // since: 2d, 36h, 90m or an RFC 3339 time
	Limit    int       // limit: at most this many (0: all)
}

// parseListQuery reads the list's query parameters; a bad value is an error
// that says what is accepted.
func parseListQuery(q map[string][]string, now time.Time) (listQuery, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	var lq listQuery
	lq.Text = strings.ToLower(get("q"))
	for o := range strings.SplitSeq(get("outcome"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			lq.Outcomes = append(lq.Outcomes, o)
		}
	}
	if s := get("since"); s != "" {
		t, err := parseSince(s, now)
		if err != nil {
			return lq, err
		}
		lq.Since = t
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return lq, errors.New("limit: a number of calls, 0 for all")
		}
		lq.Limit = n
	}
	return lq, nil
}

var errSince = errors.New("since: a duration like 2d, 36h or 90m, or a time like 2026-11-23T10:00:00Z")

// parseSince reads 2d, 36h, 90m (any Go duration, plus days) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || days < 0 || days > 100*365 || days != days {
			return time.Time{}, errSince
		}
		d = time.Duration(days * 24 * float64(time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return time.Time{}, errSince
		}
	}
	return now.Add(-d), nil
}

func (q listQuery) match(c Call) bool {
	if len(q.Outcomes) > 0 && !slices.Contains(q.Outcomes, c.Outcome) {
		return false
	}
	if q.Text != "" {
		hay := strings.ToLower(c.SID + "\n" + c.From + "\n" + c.To + "\n" + c.Outcome)
		if !strings.Contains(hay, q.Text) {
			return false
		}
	}
	return true
}

func (h *Handler) listCalls(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query(), h.opts.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	logged, err := h.list(q.Since)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "reading the call logs: "+err.Error())
		return
	}
	calls := []Call{}
	for _, c := range logged {
		s := h.summary(c)
		if q.match(s) {
			calls = append(calls, s)
		}
		if q.Limit > 0 && len(calls) == q.Limit {
			break
		}
	}
	h.writeJSON(w, map[string]any{"calls": calls})
	h.prewarm(newestEnded(calls, prewarmCalls))
}

// summaryCache keeps the summary of each call log by its size and time: the
// page reloads the list at every change of a call in progress, and only that
// call's file has changed.
type summaryCache struct {
	mu    sync.Mutex
	calls map[string]cachedCall
}

type cachedCall struct {
	size int64
	mod  time.Time
	call calllog.Call
}

// list is calllog.List with the summaries of unchanged files kept: the calls
// logged in LogDir that started at or after since (zero: all), newest first.
func (h *Handler) list(since time.Time) ([]calllog.Call, error) {
	files, err := calllog.Files(h.opts.LogDir)
	if err != nil {
		return nil, err
	}
	h.cache.mu.Lock()
	defer h.cache.mu.Unlock()
	if h.cache.calls == nil {
		h.cache.calls = map[string]cachedCall{}
	}
	seen := make(map[string]bool, len(files))
	var out []calllog.Call
	for _, f := range files {
		seen[f.Path] = true
		if !since.IsZero() && f.ModTime.Before(since) {
			continue // last written before since: started before it too
		}
		cc, ok := h.cache.calls[f.Path]
		if !ok || cc.size != f.Size || !cc.mod.Equal(f.ModTime) {
			c, err := calllog.Summarize(f.Path)
			if err != nil {
				continue
			}
			cc = cachedCall{size: f.Size, mod: f.ModTime, call: c}
			h.cache.calls[f.Path] = cc
		}
		if !since.IsZero() && cc.call.Started.Before(since) {
			continue
		}
		out = append(out, cc.call)
	}
	for p := range h.cache.calls {
		if !seen[p] { // pruned
			delete(h.cache.calls, p)
		}
	}
	slices.SortFunc(out, func(a, b calllog.Call) int { return b.Started.Compare(a.Started) })
	return out, nil
}

// find resolves {sid} to the call's log file; it writes the error itself.
func (h *Handler) find(w http.ResponseWriter, r *http.Request) (path, sid string, ok bool) {
	sid = r.PathValue("sid")
	if sid == "" || strings.ContainsAny(sid, `/\`) {
		writeError(w, http.StatusBadRequest, "a call SID is needed")
		return "", "", false
	}
	path, err := calllog.Find(h.opts.LogDir, sid)
	switch {
	case errors.Is(err, calllog.ErrNoCall):
		writeError(w, http.StatusNotFound, "no logged call "+sid)
		return "", "", false
	case err != nil:
		writeError(w, http.StatusNotFound, err.Error())
		return "", "", false
	}
	return path, strings.TrimSuffix(filepath.Base(path), ".jsonl"), true
}

func (h *Handler) call(w http.ResponseWriter, r *http.Request) {
	path, _, ok := h.find(w, r)
	if !ok {
		return
	}
	tl, c, err := readTimeline(path)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "reading the call's log: "+err.Error())
		return
	}
	s := h.summary(c)
	tl.Call = &s
	page := CallPage{Timeline: tl, Configs: []AgentConfig{}, Replays: h.replays(path)}
	if page.Configs, err = readConfigs(path, tl.Start); err != nil {
		writeError(w, http.StatusInternalServerError, "reading the call's log: "+err.Error())
		return
	}
	page.ConfigRecorded = len(page.Configs) > 0
	if page.Configs == nil {
		page.Configs = []AgentConfig{}
	}
	h.writeJSON(w, page)
}

// Frame is one debug event of a call.
type Frame struct {
	AtMs   int64  `json:"at_ms"`
	NS     string `json:"ns"`
	Type   string `json:"type"`
	Fields any    `json:"fields,omitempty"`
}

func (h *Handler) frames(w http.ResponseWriter, r *http.Request) {
	spec := r.URL.Query().Get("debug")
	if spec == "" {
		spec = "all"
	}
	filter, err := calllog.ParseDebugFlag(spec)
	if err != nil {
		writeError(w, http.StatusBadRequest, strings.Replace(err.Error(), "--debug", "debug=", 1))
		return
	}
	win, err := parseWindow(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	path, _, ok := h.find(w, r)
	if !ok {
		return
	}
	// Offsets are from the call's start, as in the timeline: CallStarted, or
	// the first line of a call whose stream never came.
	var start time.Time
	var times []time.Time
	frames := []Frame{}
	err = calllog.ReadFile(path, func(l calllog.Line, ev callevent.Event) {
		if _, ok := ev.(callevent.CallStarted); ok || start.IsZero() {
			start = l.Time
		}
		if l.Level != "debug" || !filter.Enabled(l.NS) {
			return
		}
		f := Frame{NS: l.NS, Type: l.Type}
		if len(l.Fields) > 0 {
			f.Fields = json.RawMessage(l.Fields)
		}
		frames = append(frames, f)
		times = append(times, l.Time)
	}, nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "reading the call's log: "+err.Error())
		return
	}
	kept, more := frames[:0], false
	for i := range frames {
		f := frames[i]
		f.AtMs = times[i].Sub(start).Milliseconds()
		if !win.has(f.AtMs) {
			continue
		}
		if win.limit > 0 && len(kept) == win.limit {
			more = true
			break
		}
		kept = append(kept, f)
	}
	h.writeJSON(w, map[string]any{"debug": filter.String(), "frames": kept, "more": more})
}

// window is the part of a call's frames asked for: from_ms and to_ms
// (inclusive, from the call's start; either may be left out) and limit (at
// most this many, 0: all; "more" says some were left).
type window struct {
	from, to       int64
	hasFrom, hasTo bool
	limit          int
}

func (w window) has(ms int64) bool {
	return (!w.hasFrom || ms >= w.from) && (!w.hasTo || ms <= w.to)
}

func parseWindow(q map[string][]string) (window, error) {
	var w window
	num := func(k string, set *bool, v *int64) error {
		s := ""
		if vs := q[k]; len(vs) > 0 {
			s = strings.TrimSpace(vs[0])
		}
		if s == "" {
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: milliseconds from the call's start, like 1500", k)
		}
		*set, *v = true, n
		return nil
	}
	if err := num("from_ms", &w.hasFrom, &w.from); err != nil {
		return w, err
	}
	if err := num("to_ms", &w.hasTo, &w.to); err != nil {
		return w, err
	}
	var hasLimit bool
	var limit int64
	if err := num("limit", &hasLimit, &limit); err != nil || limit < 0 || limit > 1<<30 {
		return w, errors.New("limit: a number of frames, 0 for all")
	}
	w.limit = int(limit)
	return w, nil
}

func (h *Handler) audio(w http.ResponseWriter, r *http.Request) {
	_, sid, ok := h.find(w, r)
	if !ok {
		return
	}
	p := h.recording(sid)
	if p == "" {
		writeError(w, http.StatusNotFound, "no recording of "+sid+" (dev records calls to the state directory's recordings/ unless --no-record)")
		return
	}
	f, err := os.Open(p)
	if err != nil {
		writeError(w, http.StatusNotFound, "no recording of "+sid)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "reading the recording")
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	http.ServeContent(w, r, sid+".wav", st.ModTime(), f)
}
