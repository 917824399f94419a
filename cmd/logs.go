package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/pricing"
)

type logsOptions struct {
	Call   string // a call SID or prefix; "-" reads stdin
	Follow bool
	JSON   bool
	Debug  string
	Since  days
	Limit  int
	Dir    string

	filter calllog.Filter
}

func newLogsCmd(f *Factory) *cobra.Command {
	opts := &logsOptions{}
	c := &cobra.Command{
		Use:   "logs [CALLSID | -]",
		Short: "Read the calls' logs: list calls, show one, follow them live",
		Long: `Every call dev and serve handle is logged, one JSON line per event, in the state
directory (calls/<date>/<CallSid>.jsonl). This command reads them.

Without an argument it lists recent calls: when, who, how long, how it ended, turns, the
median turn latency and the cost, fitted to the terminal's width (piped: whole values).
With a call SID (a prefix is enough, or the elided CA1f3e…9c0d the list shows) it shows
the call the way dev shows it live. --follow shows calls as they happen, from a dev or
serve running on this machine, each line marked with its call ([…9c0d2e]); a call in
progress is introduced by its header. "-" reads log lines from stdin: serve's JSON output
carries the same events, and its own warnings and errors, shown among them.

Debug events (Twilio and Realtime messages, speech detection, media counts) are shown for
the namespaces --debug (or DEBUG=callagent:...) names.`,
		Example: `  callagent logs
  callagent logs --since 2d
  callagent logs CA1f3e --debug twilio,realtime
  callagent logs -f
  callagent logs CA1f3e --json | jq -r 'select(.type == "tool.call") | .fields.name'
  kubectl logs deploy/callagent | callagent logs -`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, f.Env); err != nil {
				return err
			}
			if len(args) == 1 {
				opts.Call = args[0]
			}
			var err error
			if opts.filter, err = debugFilter(opts.Debug, f.Env); err != nil {
				return err
			}
			if opts.Limit < 0 || opts.Since < 0 {
				return commandLineError(errors.New("--limit and --since cannot be negative"))
			}
			if opts.Call == "-" && opts.Follow {
				return commandLineError(errors.New("--follow reads the log files; stdin is read to its end anyway"))
			}
			if opts.Dir, err = callLogDir(opts.Dir, f.Env); err != nil {
				return err
			}
			return logsRun(cmd.Context(), f, opts)
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "show calls as they happen (with a call SID: that call, until it ends)")
	fl.BoolVar(&opts.JSON, "json", false, "print the log lines themselves (the list: a JSON array)")
	fl.StringVar(&opts.Debug, "debug", "", debugFlagUsage)
	fl.Var(&opts.Since, "since", "only calls (or, from stdin, events) of the last DURATION, "+durationUsage)
	fl.IntVar(&opts.Limit, "limit", 20, "list at most this many calls (0: all)")
	fl.StringVar(&opts.Dir, "call-log-dir", "", "where the call logs are (default: the state directory's calls/)")
	return c
}

func logsRun(ctx context.Context, f *Factory, o *logsOptions) error {
	switch {
	case o.Call == "-":
		v := newLogView(f, o)
		err := calllog.ReadRecords(f.IO.In, "stdin", v.line, v.record, v.bad)
		v.summary()
		return err
	case o.Call != "":
		path, err := calllog.Find(o.Dir, o.Call)
		if errors.Is(err, calllog.ErrNoCall) {
			return fmt.Errorf("%w: run callagent logs to list the calls", err)
		}
		if err != nil {
			return err
		}
		v := newLogView(f, o)
		if o.Follow {
			err = (&calllog.Follower{Dir: o.Dir, Path: path}).Run(ctx, v.line, v.bad)
		} else {
			err = calllog.ReadFile(path, v.line, v.bad)
		}
		v.summary()
		return err
	case o.Follow:
		st := newStyles(useColor(f.IO.ErrTTY, f.Env))
		fmt.Fprintln(f.IO.ErrOut, st.Dim.Render("Following calls in "+o.Dir+" (Ctrl-C stops)"))
		v := newLogView(f, o)
		v.p.mark = true // several calls' lines interleave: each says whose it is
		err := (&calllog.Follower{Dir: o.Dir, Attached: v.attached}).Run(ctx, v.line, v.bad)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	return listCalls(f, o)
}

// logView renders log lines like dev renders live events (or passes them through
// with --json), with the namespace filter, and reports skipped lines on stderr.
type logView struct {
	f     *Factory
	o     *logsOptions
	since time.Time
	mu    sync.Mutex
	p     *printer
	nbad  int
	// server renders the server's own log records (stdin), as dev shows them.
	server slog.Handler
}

func newLogView(f *Factory, o *logsOptions) *logView {
	st := newStyles(useColor(f.IO.OutTTY, f.Env))
	v := &logView{f: f, o: o, p: newPrinter(f.IO.Out, st, false, o.filter)}
	v.p.width = f.outWidth()
	v.server = &nsHandler{ns: callevent.NSHTTP, w: hangWriter{v}, st: st, filter: o.filter, always: slog.LevelWarn}
	if o.Since > 0 && o.Call == "-" {
		v.since = f.Now().Add(-time.Duration(o.Since))
	}
	return v
}

func (v *logView) line(l calllog.Line, ev callevent.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.since.IsZero() && l.Time.Before(v.since) {
		return
	}
	if callevent.IsDebug(ev) && !v.o.filter.Enabled(l.NS) {
		return
	}
	if v.o.JSON {
		data, err := json.Marshal(l)
		if err == nil {
			v.f.IO.Out.Write(append(jsonForTerminal(data), '\n'))
		}
		return
	}
	v.p.width = v.f.outWidth() // a terminal resized while following
	v.p.print(ev)
}

// record shows a line of serve's own log (not a call event): its warnings and
// errors always, like dev does on stderr, the rest with --debug http.
func (v *logView) record(r calllog.ServerRecord) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.since.IsZero() && r.Time.Before(v.since) {
		return
	}
	ctx := context.Background()
	if !v.server.Enabled(ctx, r.Level) {
		return
	}
	if v.o.JSON {
		v.f.IO.Out.Write(append(jsonForTerminal(r.Raw), '\n'))
		return
	}
	sr := slog.NewRecord(r.Time, r.Level, r.Msg, 0)
	for _, a := range r.Attrs {
		sr.AddAttrs(slog.String(a.Key, a.Value))
	}
	v.server.Handle(ctx, sr)
}

func (v *logView) bad(b calllog.BadLine) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.nbad++
	if v.nbad <= 20 {
		fmt.Fprintf(v.f.IO.ErrOut, "callagent: %s\n", sanitize(b.Error()))
	}
}

func (v *logView) summary() {
	if v.nbad > 20 {
		fmt.Fprintf(v.f.IO.ErrOut, "callagent: %d lines skipped in all\n", v.nbad)
	}
}

func listCalls(f *Factory, o *logsOptions) error {
	var since time.Time
	if o.Since > 0 {
		since = f.Now().Add(-time.Duration(o.Since))
	}
	calls, err := calllog.List(o.Dir, since)
	if err != nil {
		return err
	}
	if o.Limit > 0 && len(calls) > o.Limit {
		calls = calls[:o.Limit]
	}
	if o.JSON {
		if calls == nil {
			calls = []calllog.Call{}
		}
		enc := json.NewEncoder(terminalJSONWriter{f.IO.Out})
		enc.SetIndent("", "  ")
		return enc.Encode(calls)
	}
	if len(calls) == 0 {
		fmt.Fprintf(f.IO.ErrOut, "No calls logged in %s yet: calls handled by callagent dev or serve appear here.\n", o.Dir)
		return nil
	}
	var total pricing.Nanos
	priced, unknown := 0, 0
	for _, c := range calls {
		switch {
		case c.CostUSD != nil:
			total += pricing.FromUSD(*c.CostUSD)
			priced++
		case c.CostUnknown:
			unknown++
		}
	}
	width := f.outWidth()
	if err := writeList(f.IO.Out, calls, f.Now(), width); err != nil {
		return err
	}
	if priced+unknown > 0 {
		line := fmt.Sprintf("cost of the %s listed: %s", plural(len(calls), "call"), total)
		if unknown > 0 {
			line += fmt.Sprintf(" (and %s whose model has no known price)", plural(unknown, "call"))
		}
		if priced+unknown < len(calls) {
			line += fmt.Sprintf("; %d without usage logged", len(calls)-priced-unknown)
		}
		_, err := fmt.Fprint(f.IO.Out, hangWrap(line+"\n", width, 2))
		return err
	}
	return nil
}

// endedWords says how a listed call ended; a log without its end is a call in
// progress when it was written to recently, else one whose process stopped.
func endedWords(c calllog.Call, now time.Time) string {
	if c.Ended {
		if w, ok := endReasons[callevent.EndReason(c.Reason)]; ok {
			return w
		}
		return sanitize(c.Reason)
	}
	switch {
	case !c.Streamed && now.Sub(c.LastLine) < 2*time.Minute:
		return "waiting for its stream"
	case !c.Streamed:
		return "no media stream came"
	case now.Sub(c.LastLine) < 2*time.Minute:
		return "in progress"
	}
	return "no end logged (stopped?)"
}
