package cmd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/callagent/callagent/pkg/loadtest"
)

type loadtestOptions struct {
	Targets     []string
	ModelAddr   string
	JSON        bool
	PrintConfig bool
	StartAfter  time.Duration
	loadtest.Options
}

// defaultModelAddr is where the load test's model listens unless told otherwise: a
// fixed port, so that the server under test can be started first.
const defaultModelAddr = "127.0.0.1:5060"

func newLoadtestCmd(f *Factory, runF func(context.Context, *loadtestOptions) error) *cobra.Command {
	opts := &loadtestOptions{}
	c := &cobra.Command{
		Use:   "loadtest --target URL[,pid=N][,name=NAME][,token-env=VAR] ...",
		Short: "Load a running server with simulated calls and report latency, losses, CPU and memory per call",
		Long: `Drive simulated calls at real-time pace against a running callagent serve (or any server
that speaks Twilio's voice webhook and Media Streams, and the OpenAI Realtime API), to size a
deployment. Both peers are simulated: each call is a signed webhook then the media stream its
TwiML names; the model is served by the load test itself on --model-addr, so the server under
test must be started with OPENAI_BASE_URL pointing there (the command prints how) and with the
load test's agent configuration (--print-config), whose weather tool the model calls.

Calls start evenly over --ramp, all stay up for --hold, then each finishes its turn and hangs
up. Every --barge-every turns the caller speaks over the answer; every --tool-every turns the
model calls the tool before answering. Several --target flags are run one after the other in
the same run, with the same calls: a baseline relay beside serve.

Each target's signing token (the Twilio auth token it checks X-Twilio-Signature with) is read
from TWILIO_AUTH_TOKEN, or from the variable its token-env= names: never from the command line.
With pid=N, the target's CPU and memory are read from /proc (Linux).

The report (a table, or --json): relay latency both ways, per frame; barge-in clear latency
(the caller's first frame of speech to the clear); truncation error (the audio_end_ms the model
is told minus what the caller had heard); frames lost or damaged both ways; call failures by
reason; with a pid, RSS per call at full concurrency and CPU seconds per call-minute.`,
		Example: `  callagent loadtest --print-config > loadtest.yaml
  OPENAI_BASE_URL=http://127.0.0.1:5060/v1 OPENAI_API_KEY=loadtest TWILIO_AUTH_TOKEN=secret \
    callagent serve --config loadtest.yaml --public-url http://127.0.0.1:5050 --insecure-http-public-url &
  TWILIO_AUTH_TOKEN=secret callagent loadtest --target http://127.0.0.1:5050,pid=$! --calls 100 --ramp 20s --hold 60s`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, f.Env); err != nil {
				return err
			}
			if err := opts.resolve(f.Env); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return loadtestRun(cmd.Context(), f, opts)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&opts.Targets, "target", nil, "a server under test: its public URL, then ,pid=N ,name=NAME ,token-env=VAR (repeatable)")
	fl.StringVar(&opts.ModelAddr, "model-addr", defaultModelAddr, "address the load test's model listens on (the target's OPENAI_BASE_URL is http://ADDR/v1)")
	fl.IntVar(&opts.Calls, "calls", 10, "calls per target, all up at once after the ramp")
	fl.DurationVar(&opts.Ramp, "ramp", 10*time.Second, "the calls start evenly over this")
	fl.DurationVar(&opts.Hold, "hold", 30*time.Second, "how long all calls stay up")
	fl.IntVar(&opts.MinTurns, "turns", 0, "turns each call makes at least, past --hold if need be (0: as many as fit in it)")
	fl.DurationVar(&opts.Utterance, "utterance", time.Second, "how long the caller speaks each turn")
	fl.DurationVar(&opts.Answer, "answer", 2*time.Second, "how long each answer lasts")
	fl.DurationVar(&opts.Pause, "pause", 400*time.Millisecond, "the caller's silence after an answer")
	fl.IntVar(&opts.BargeEvery, "barge-every", 2, "every N-th answer the caller speaks over (0: never)")
	fl.DurationVar(&opts.BargeAfter, "barge-after", 600*time.Millisecond, "how much of an answer the caller hears before speaking over it")
	fl.IntVar(&opts.ToolEvery, "tool-every", 3, "every N-th turn the model calls --tool first (0: never)")
	fl.StringVar(&opts.Tool, "tool", "weather", "the tool the model calls: one the target's configuration has")
	fl.StringVar(&opts.ToolArgs, "tool-args", `{"city":"Paris"}`, "the tool call's arguments (JSON)")
	fl.BoolVar(&opts.OmitSilence, "omit-silence", false, "the callers' carrier suppresses silence (media timestamps jump)")
	fl.DurationVar(&opts.PlayDelay, "play-delay", 80*time.Millisecond, "the phone leg's delay before a caller hears audio (network and jitter buffer)")
	fl.DurationVar(&opts.StartAfter, "start-after", 0, "wait this long after the model listens before the first call (to start the target meanwhile)")
	fl.BoolVar(&opts.JSON, "json", false, "write the report as JSON")
	fl.BoolVar(&opts.PrintConfig, "print-config", false, "print the agent configuration the target should run, and exit")
	flagEnvHelp(fl)
	return c
}

// resolve turns the --target values into targets, with their tokens from the
// environment, and checks the options.
func (o *loadtestOptions) resolve(env *Env) error {
	if o.PrintConfig {
		return nil
	}
	if len(o.Targets) == 0 {
		return usageErrorf("give a server to load with --target URL (its public URL, e.g. http://127.0.0.1:5050)")
	}
	o.Options.Targets = nil
	for _, spec := range o.Targets {
		t, err := parseTarget(spec, env)
		if err != nil {
			return err
		}
		o.Options.Targets = append(o.Options.Targets, t)
	}
	if _, _, err := net.SplitHostPort(o.ModelAddr); err != nil {
		return usageErrorf("--model-addr %q is not host:port (say 127.0.0.1:5060)", o.ModelAddr)
	}
	if o.StartAfter < 0 {
		return usageErrorf("--start-after cannot be negative")
	}
	if !strings.HasPrefix(strings.TrimSpace(o.ToolArgs), "{") {
		return usageErrorf("--tool-args must be a JSON object, e.g. '{\"city\":\"Paris\"}'")
	}
	if err := o.Options.Check(); err != nil {
		return usageErrorf("%s", err)
	}
	return nil
}

// parseTarget reads URL[,pid=N][,name=NAME][,token-env=VAR].
func parseTarget(spec string, env *Env) (loadtest.Target, error) {
	parts := strings.Split(spec, ",")
	t := loadtest.Target{URL: strings.TrimSpace(parts[0])}
	// Errors name the URL and the part at fault, never the whole value: a token
	// someone put in it anyway stays out of the message.
	at := sanitize(t.URL)
	tokenVar := "TWILIO_AUTH_TOKEN"
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		switch {
		case !ok:
			return t, usageErrorf("--target %s: a part is not key=value (pid=N, name=NAME, token-env=VAR)", at)
		case k == "pid":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return t, usageErrorf("--target %s: pid=%s is not a process id", at, sanitize(v))
			}
			t.PID = n
		case k == "name":
			t.Name = v
		case k == "token-env":
			tokenVar = v
		case k == "token":
			return t, usageErrorf("--target: a token on the command line is visible to every user of the machine: put it in a variable and give token-env=VAR")
		default:
			return t, usageErrorf("--target %s: unknown %q (pid=N, name=NAME, token-env=VAR)", at, sanitize(k))
		}
	}
	t.Token = env.Get(tokenVar)
	if t.Token == "" {
		return t, usageErrorf("%s is not set: export the auth token the target checks X-Twilio-Signature with (or name another variable with token-env=VAR)", sanitize(tokenVar))
	}
	if err := t.Check(); err != nil {
		return t, usageErrorf("%s", sanitize(err.Error()))
	}
	return t, nil
}

func loadtestRun(ctx context.Context, f *Factory, opts *loadtestOptions) error {
	if opts.PrintConfig {
		_, err := io.WriteString(f.IO.Out, loadtest.AgentConfig)
		return err
	}
	m, err := loadtest.StartModel(opts.ModelAddr)
	if err != nil {
		return fmt.Errorf("%w: free the port, or give another with --model-addr", err)
	}
	defer m.Close()
	fmt.Fprintf(f.IO.ErrOut, "%s", serveHint(f.self(), m.BaseURL(), opts.Options.Targets))
	if opts.StartAfter > 0 {
		fmt.Fprintf(f.IO.ErrOut, "first call in %v\n", opts.StartAfter)
		select {
		case <-time.After(opts.StartAfter):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, t := range opts.Options.Targets {
		if err := reachable(ctx, t.URL); err != nil {
			return err
		}
	}
	o := opts.Options
	o.Status = func(s string) { fmt.Fprintln(f.IO.ErrOut, sanitize(s)) }
	rep, err := loadtest.Run(ctx, m, o)
	if err != nil && rep == nil {
		return err
	}
	for _, t := range rep.Targets {
		if t.ModelReached == 0 {
			fmt.Fprintf(f.IO.ErrOut, "%s: no call reached the load test's model: start it with OPENAI_BASE_URL=%s\n", sanitize(t.Name), m.BaseURL())
		}
	}
	if opts.JSON {
		if werr := writeJSON(f.IO.Out, rep); werr != nil {
			return werr
		}
	} else {
		io.WriteString(f.IO.Out, renderLoadReport(rep))
	}
	return err
}

// serveHint is how to start serve against the load test's model.
func serveHint(self, base string, targets []loadtest.Target) string {
	public := "http://127.0.0.1:5050"
	if len(targets) > 0 {
		public = targets[0].URL
	}
	insecure := ""
	if strings.HasPrefix(public, "http://") {
		insecure = " --insecure-http-public-url"
	}
	return fmt.Sprintf("load test model: OPENAI_BASE_URL=%s\n"+
		"start callagent serve against it with (%s loadtest --print-config > loadtest.yaml first):\n"+
		"  OPENAI_BASE_URL=%s OPENAI_API_KEY=loadtest TWILIO_AUTH_TOKEN=... %s serve --config loadtest.yaml --public-url %s%s\n",
		base, self, base, self, sanitize(public), insecure)
}

// reachable checks that a target's host answers, for an error better than every
// call failing.
func reachable(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return usageErrorf("--target %q is not a URL", sanitize(raw))
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("target %s is not reachable (%v): start it first, or wait with --start-after", sanitize(raw), err)
	}
	return conn.Close()
}

// renderLoadReport is the report as a table: a column per target.
func renderLoadReport(rep *loadtest.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d calls per target, ramp %s, hold %s, barge-in every %d, tool call every %d, silence omitted: %v\n\n",
		rep.Calls, rep.Ramp, rep.Hold, rep.BargeEvery, rep.ToolEvery, rep.OmitSilence)
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	row := func(name string, f func(t loadtest.TargetReport) string) {
		cells := []string{name}
		for _, t := range rep.Targets {
			cells = append(cells, f(t))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	dist := func(d loadtest.Dist) string {
		if d.N == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f", d.P50, d.P90, d.P99, d.Max)
	}
	frames := func(c loadtest.FrameCount) string {
		return fmt.Sprintf("%d lost, %d damaged of %d", c.Lost, c.Damaged, c.Sent)
	}
	row("", func(t loadtest.TargetReport) string { return clip(sanitize(t.Name), 40) })
	row("calls completed", func(t loadtest.TargetReport) string { return fmt.Sprintf("%d of %d", t.Completed, t.Calls) })
	row("failures", func(t loadtest.TargetReport) string { return failureText(t.Failures) })
	row("caller→model ms p50/p90/p99/max", func(t loadtest.TargetReport) string { return dist(t.CallerToModel) })
	row("model→caller ms p50/p90/p99/max", func(t loadtest.TargetReport) string { return dist(t.ModelToCaller) })
	row("barge-ins cleared", func(t loadtest.TargetReport) string { return fmt.Sprintf("%d of %d", t.Cleared, t.BargeIns) })
	row("clear ms p50/p90/p99/max", func(t loadtest.TargetReport) string { return dist(t.ClearLatency) })
	row("truncation error ms min/p50/max", func(t loadtest.TargetReport) string {
		if t.Truncation.N == 0 {
			return "-"
		}
		return fmt.Sprintf("%+.1f / %+.1f / %+.1f (%d)", t.Truncation.Min, t.Truncation.P50, t.Truncation.Max, t.Truncation.N)
	})
	row("tool calls answered", func(t loadtest.TargetReport) string { return fmt.Sprintf("%d of %d", t.ToolAnswers, t.ToolCalls) })
	row("caller→model frames", func(t loadtest.TargetReport) string { return frames(t.CallerFrames) })
	row("model→caller frames", func(t loadtest.TargetReport) string { return frames(t.AgentFrames) })
	row("RSS per call", func(t loadtest.TargetReport) string {
		if t.Process == nil {
			return "- (no pid)"
		}
		p := t.Process
		return fmt.Sprintf("%.0f KB (idle %d MB, peak %d MB at %d calls)", p.RSSPerCallKB, p.IdleRSSKB/1024, p.PeakRSSKB/1024, p.PeakCalls)
	})
	row("CPU per call-minute", func(t loadtest.TargetReport) string {
		if t.Process == nil {
			return "- (no pid)"
		}
		return fmt.Sprintf("%.2f s (%.1f s over %.1f call-min)", t.Process.CPUSecondsPerCallMin, t.Process.CPUSeconds, t.CallMinutes)
	})
	row("reads / writes / switches per call-s", func(t loadtest.TargetReport) string {
		p := t.Process
		if p == nil || p.ReadsPerCallSecond == 0 && p.SwitchesPerCallSecond == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f / %.0f / %.0f", p.ReadsPerCallSecond, p.WritesPerCallSecond, p.SwitchesPerCallSecond)
	})
	row("load test CPU, load average", func(t loadtest.TargetReport) string {
		return fmt.Sprintf("%.1f s, %.1f", t.GeneratorCPUSeconds, t.LoadAverage)
	})
	tw.Flush()
	return b.String()
}

func failureText(f map[string]int) string {
	if len(f) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", sanitize(k), f[k]))
	}
	return strings.Join(parts, ", ")
}
