package cmd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// eventOutput writes call events to stdout: rendered for people (live words on a
// terminal, final lines when piped), or one JSON line per event with --json. Debug
// events appear only for the enabled namespaces. Secrets are redacted as in the
// call log: raw frames carry the session's configuration (MCP authorizations,
// tool headers). Safe for concurrent calls.
type eventOutput struct {
	mu     sync.Mutex
	w      *belowQuestion
	json   bool
	filter calllog.Filter
	red    *calllog.Redactor
	p      *printer
}

func newEventOutput(w io.Writer, st Styles, live, json bool, filter calllog.Filter, red *calllog.Redactor) *eventOutput {
	bw := &belowQuestion{w: w}
	return &eventOutput{w: bw, json: json, filter: filter, red: red, p: newPrinter(bw, st, live, filter)}
}

// onScreen makes o a questionBoard for the terminal's approval questions, written
// to qw: stdout and qw are the same terminal.
func (o *eventOutput) onScreen(qw io.Writer) questionBoard {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.qw = qw
	return o
}

// ask shows an approval question below the call's lines. Until it is answered,
// each event printed erases the question's line first and writes the question
// again after, and words are not streamed (a streamed line would end on the
// question's line): the question stays last on screen, ready for the answer.
func (o *eventOutput) ask(q string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.json {
		o.p.closeLine()
	}
	o.p.held = true
	fmt.Fprint(o.w.qw, "\n"+q)
	o.w.question = q
}

func (o *eventOutput) answered(note string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if note != "" {
		fmt.Fprintln(o.w.qw, note)
	}
	o.w.question = ""
	o.p.held = false
}

func (o *eventOutput) event(ev callevent.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	defer o.w.reask()
	if !o.json {
		if f, ok := ev.(callevent.RawFrame); ok {
			f.Data = o.red.Redact(f.Data)
			ev = f
		}
		if s := o.red.Secrets(); s.Len() > 0 {
			// Before the printer's sanitiser, which would change some encodings.
			ev = mapEventStrings(ev, s.ReplaceString)
		}
		o.p.print(ev)
		return
	}
	if callevent.IsDebug(ev) && !o.filter.Enabled(callevent.Namespace(ev)) {
		return
	}
	line, err := calllog.Marshal(ev)
	if err != nil {
		return
	}
	o.w.Write(append(jsonForTerminal(o.red.Redact(line)), '\n'))
}

// belowQuestion writes call events to stdout, keeping an approval question shown on
// the same terminal (through qw, stderr) below them. Guarded by eventOutput.mu.
type belowQuestion struct {
	w        io.Writer
	qw       io.Writer // where questions are shown; nil: nowhere on this screen
	question string    // the question on screen, "" when none
	erased   bool      // its line was erased for an event's lines
}

func (b *belowQuestion) Write(p []byte) (int, error) {
	if b.question != "" && !b.erased {
		// Back to the start of the question's line, cleared to its end.
		io.WriteString(b.qw, "\r\x1b[K")
		b.erased = true
	}
	return b.w.Write(p)
}

// reask writes the question again after the lines that erased it.
func (b *belowQuestion) reask() {
	if b.erased {
		io.WriteString(b.qw, b.question)
		b.erased = false
	}
}

// stderrAbove is dev's stderr for everything but the approval questions (steps,
// warnings, the server's log lines): once show is set, what is written while a
// question is on screen goes above it, as call events do.
type stderrAbove struct {
	w    io.Writer
	show atomic.Pointer[eventOutput]
}

func (s *stderrAbove) Write(p []byte) (int, error) {
	o := s.show.Load()
	if o == nil {
		return s.w.Write(p)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.w.question == "" {
		return s.w.Write(p)
	}
	io.WriteString(o.w.qw, "\r\x1b[K")
	n, err := s.w.Write(p)
	io.WriteString(o.w.qw, o.w.question)
	return n, err
}

// nsHandler is a slog.Handler that writes one short line per record under a
// namespace label: all records when the namespace is enabled, else only those at
// or above always (say, warnings of the HTTP server: a refused signature must be
// seen). Values are sanitized: paths and errors can come from anyone on the
// internet.
type nsHandler struct {
	ns     string
	w      io.Writer
	st     Styles
	filter calllog.Filter
	always slog.Level
	attrs  []slog.Attr
	group  string
}

func newNSLogger(ns string, w io.Writer, st Styles, filter calllog.Filter, always slog.Level) *slog.Logger {
	return slog.New(&nsHandler{ns: ns, w: w, st: st, filter: filter, always: always})
}

func (h *nsHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.always || h.filter.Enabled(h.ns)
}

func (h *nsHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	name := strings.TrimPrefix(h.ns, "callagent:")
	switch {
	case r.Level >= slog.LevelWarn:
		b.WriteString(h.st.Error.Render(fmt.Sprintf("%-7s", name)) + " ")
	default:
		b.WriteString(h.st.Dim.Render(fmt.Sprintf("%-7s", name)) + " ")
	}
	b.WriteString(sanitize(r.Message))
	add := func(a slog.Attr) {
		if a.Equal(slog.Attr{}) {
			return
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		b.WriteString(" " + h.st.Dim.Render(sanitize(key)+"=") + clip(sanitize(a.Value.Resolve().String()), 300))
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	b.WriteString("\n")
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *nsHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *nsHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}
