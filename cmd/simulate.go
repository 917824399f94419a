package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/offlinecall"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/spf13/cobra"
)

type simulateOptions struct {
	// ScenarioPaths are --scenario's files and directories (every *.yaml and *.yml
	// in a directory).
	ScenarioPaths []string
	CallerAudio   string
	// Model is --model: a model name, simulated on its engine's twin unless Real.
	Model string
	// Real makes the calls with OpenAI's real model (needs OPENAI_API_KEY).
	Real        bool
	RecordPath  string
	CallerVoice string
	// Parallel is how many scenarios run at a time.
	Parallel int
	// JSON writes the results as JSON on stdout instead of the transcript and table.
	JSON bool
	// JUnitPath is where --junit writes the results as JUnit XML.
	JUnitPath string
	// Approve answers approvals the scenarios do not: offlinecall.ApproveAll or
	// ApproveNone.
	Approve  string
	fromCall fromCallOptions // --from-call CA…: cmd/fromcall.go
	commonOptions

	RealtimeModel string // --model (or CALLAGENT_MODEL) once checked, over the configuration's model

	askTerminal bool // approvals the scenario does not answer are asked at the terminal
}

// errExpectations is returned when a scenario's expectations do not hold (exit 1).
var errExpectations = errors.New("the call did not meet the scenario's expectations")

// defaultParallel is how many scenarios run at a time: the calls mostly wait on
// their audio clocks, so twice the cores, within bounds.
var defaultParallel = max(2, min(8, 2*runtime.NumCPU()))

func newSimulateCmd(f *Factory, runF func(context.Context, *simulateOptions) error) *cobra.Command {
	opts := &simulateOptions{}
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Place whole calls offline: simulated caller, simulated model, the real server",
		Long: `Run calls end to end with no account and no network: callagent's real server on
loopback, a simulated Twilio caller that goes through the signed webhook and media stream,
and a simulated model that hears the caller, calls your agent's tools and answers.
One call is shown as callagent dev shows it, followed by a summary.

Scripted with --scenario (a file, several, or a directory of *.yaml), it is an agent test
runner: scenario files are checked first, then the scenarios run in parallel, each its own
call, and a table sums them up (--json, --junit FILE for CI). The exit code is 0 when every
expectation holds, 1 when one does not (or a call could not be made), 2 for a mistake in
the command line or a scenario file.

simulate is offline unless you pass --real: then the caller talks to OpenAI's real model
(OPENAI_API_KEY; billed); its say: lines are spoken by OpenAI's speech endpoint
(gpt-4o-mini-tts, --caller-voice; cached: a rerun makes no speech requests), or it says
recorded audio (--caller-audio, or audio: in the scenario).

Each call is logged like any other (callagent logs).`,
		Example: `  callagent simulate
  callagent simulate --scenario tests/refund.yaml --config callagent.yaml
  callagent simulate --scenario tests/ --junit results.xml
  callagent simulate --model gpt-live-1 --scenario tests/
  callagent simulate --caller-audio question.wav --real --record call.wav`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.resolve(cmd, f.Env); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return simulateRun(cmd.Context(), f, opts)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&opts.ScenarioPaths, "scenario", nil, "a scenario file, or a directory of them (*.yaml, *.yml); repeat for more")
	fl.StringVar(&opts.CallerAudio, "caller-audio", "", "a WAV file the caller says (PCM 8/16/24/48 kHz or μ-law)")
	opts.commonOptions.flags(fl, commonUsage{})
	fl.StringVar(&opts.Model, "model", "", "the model, such as gpt-realtime or gpt-live-1, simulated on its engine's twin unless --real "+
		"(default: the configuration's)")
	fl.BoolVar(&opts.Real, "real", false, "call OpenAI's real model instead of the simulated one (needs OPENAI_API_KEY; billed)")
	fl.SetAnnotation("real", noEnv, []string{"true"})
	fl.StringVar(&opts.RecordPath, "record", "", "write the call to a stereo WAV file (caller left, agent right; one scenario)")
	fl.StringVar(&opts.CallerVoice, "caller-voice", offlinecall.DefaultCallerVoice, "the caller's voice with --real (an OpenAI speech voice)")
	fl.IntVar(&opts.Parallel, "parallel", defaultParallel, "how many scenarios run at a time")
	fl.BoolVar(&opts.JSON, "json", false, "write the results as JSON on stdout (no transcript)")
	fl.StringVar(&opts.JUnitPath, "junit", "", "write the results as JUnit XML to this file")
	fl.StringVar(&opts.Approve, "approve", "", "answer approvals of tools under policy ask that a scenario does not: all or none "+
		"(a scenario's approvals: win; unanswered ones are denied)")
	opts.fromCall.flags(fl)
	return c
}

func (o *simulateOptions) resolve(cmd *cobra.Command, env *Env) error {
	if err := o.commonOptions.resolve(cmd, env); err != nil {
		return err
	}
	switch o.Model { // set by --model or CALLAGENT_MODEL
	case "":
	case "sim":
		return commandLineError(errors.New("--model sim is gone: simulate is offline unless you pass --real, " +
			"and --model names a model (--model gpt-realtime, --model gpt-live-1), as in dev and serve"))
	case "openai":
		return commandLineError(errors.New("--model openai is now --real (the real model; needs OPENAI_API_KEY); " +
			"--model names a model (--model gpt-realtime, --model gpt-live-1), as in dev and serve"))
	default:
		if !agent.LiveModel(o.Model) && !strings.HasPrefix(o.Model, "gpt-realtime") && !strings.HasPrefix(o.Model, "gpt-4o") {
			return commandLineError(fmt.Errorf("--model %q: name a model (gpt-realtime, gpt-live-1); add --real to call it for real", o.Model))
		}
		o.RealtimeModel = o.Model
	}
	if o.Real && o.APIKey == "" {
		return usageErrorf("--real needs OPENAI_API_KEY: export it or put it in .env (https://platform.openai.com/api-keys)")
	}
	if err := o.fromCall.check(len(o.ScenarioPaths) > 0 || o.CallerAudio != ""); err != nil {
		return err
	}
	if len(o.ScenarioPaths) > 0 && o.CallerAudio != "" {
		return commandLineError(errors.New("use --scenario or --caller-audio, not both (a scenario turn can say a file with audio:)"))
	}
	switch o.Approve {
	case "", offlinecall.ApproveAll, offlinecall.ApproveNone:
	default:
		return commandLineError(fmt.Errorf("--approve %q: use all or none", o.Approve))
	}
	if o.Parallel < 1 {
		return commandLineError(fmt.Errorf("--parallel %d: run at least 1 scenario at a time", o.Parallel))
	}
	return nil
}

func simulateRun(ctx context.Context, f *Factory, opts *simulateOptions) error {
	cfg, err := loadAgentConfig(opts.ConfigPath, f.Env)
	if err != nil {
		return err
	}
	if opts.RealtimeModel != "" {
		cfg.Model = opts.RealtimeModel
		if err := cfg.CheckModel(); err != nil {
			return &UsageError{Err: err}
		}
	}
	var scenarios []*offlinecall.Scenario
	switch {
	case opts.fromCall.Call != "":
		fc, err := scenarioFromCall(f.Env, opts.callLog.Dir, opts.fromCall, f.IO.ErrOut)
		if err != nil {
			return err
		}
		defer fc.cleanup()
		scenarios = []*offlinecall.Scenario{fc.scenario()}
	case len(opts.ScenarioPaths) > 0:
		if scenarios, err = loadScenarios(opts.ScenarioPaths, cfg); err != nil {
			return err
		}
	case opts.CallerAudio != "":
		scenarios = []*offlinecall.Scenario{offlinecall.AudioScenario(opts.CallerAudio)}
		opts.askTerminal = true
	default:
		scenarios = []*offlinecall.Scenario{offlinecall.DefaultScenario()}
		opts.askTerminal = true
	}
	return runScenarios(ctx, f, opts, cfg, scenarios)
}

// loadScenarios reads every scenario of --scenario's files and directories, checks
// them against cfg, and reports the problems of all of them at once (a usage
// error, exit 2).
func loadScenarios(paths []string, cfg *agent.Config) ([]*offlinecall.Scenario, error) {
	var files, issues []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			issues = append(issues, fmt.Sprintf("--scenario %s: %v", p, errors.Unwrap(err)))
			continue
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pat))
			found = append(found, m...)
		}
		if len(found) == 0 {
			issues = append(issues, fmt.Sprintf("--scenario %s: a directory with no *.yaml or *.yml files", p))
		}
		slices.Sort(found)
		files = append(files, found...)
	}
	var out []*offlinecall.Scenario
	for _, file := range files {
		sc, err := offlinecall.LoadScenario(file)
		if err != nil {
			issues = append(issues, scenarioIssues(err)...)
			continue
		}
		if err := sc.CheckAgent(cfg); err != nil {
			issues = append(issues, scenarioIssues(err)...)
		}
		out = append(out, sc)
	}
	if len(issues) > 0 {
		return nil, &UsageError{Err: errors.New(strings.Join(issues, "\n"))}
	}
	return out, nil
}

func scenarioIssues(err error) []string {
	var se *offlinecall.ScenarioError
	if errors.As(err, &se) {
		return se.Issues
	}
	return []string{err.Error()}
}

// runScenarios runs scenarios against cfg, however they were made (files, the
// built-in demo, --caller-audio, a logged call), one call each. One scenario shows
// its live transcript and summary; several run in parallel with a line each as they
// finish, then a table. Scenario files were checked against cfg's tools when read
// (a tool a file names that the agents lack is a typo: exit 2); a scenario made
// from a logged call expects the tools that call used, and one the configuration
// no longer has is a failed expectation (exit 1), so it is not checked here.
func runScenarios(ctx context.Context, f *Factory, opts *simulateOptions, cfg *agent.Config, scenarios []*offlinecall.Scenario) error {
	if opts.RecordPath != "" && len(scenarios) > 1 {
		return commandLineError(fmt.Errorf("--record writes one call: give one scenario (there are %d)", len(scenarios)))
	}
	// Files the run will write are checked before any call: a report or a
	// recording that cannot be saved is known now, not after the calls.
	if opts.RecordPath != "" {
		if err := offlinecall.CheckWritable(opts.RecordPath); err != nil {
			return fmt.Errorf("--record: %w", err)
		}
	}
	if opts.JUnitPath != "" {
		if err := offlinecall.CheckWritable(opts.JUnitPath); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	st := newStyles(useColor(f.IO.OutTTY, f.Env))
	errSt := newStyles(useColor(f.IO.ErrTTY, f.Env))
	for _, sc := range scenarios {
		warnings := sc.Warnings
		if len(sc.Approvals) > 0 && cfg.Approval.Policy != agent.ApproveAsk {
			warnings = append(warnings, fmt.Sprintf("scenario %q: its approvals are not asked for: the configuration's approval policy is %q, not ask",
				sc.Name, cfg.Approval.Policy))
		}
		for _, w := range warnings {
			fmt.Fprintln(f.IO.ErrOut, errSt.Error.Render("warning: "+sanitize(w)))
		}
	}
	so := offlineOptions(f.Env, cfg, opts.Approve)
	so.RecordPath = opts.RecordPath
	model := "the simulated model"
	if agent.LiveModel(cfg.Model) {
		model = "the simulated GPT-Live model"
	}
	if opts.Real {
		so.OpenAI = opts.dialOptions(cfg.Model, f.Build.Version)
		so.CallerSpeech = (&offlinecall.OpenAISpeech{BaseURL: opts.BaseURL, APIKey: opts.APIKey, Voice: opts.CallerVoice,
			CacheDir: speechCacheDir(f.Env)}).Speak
		model = "OpenAI " + cfg.Model
	}
	calls := opts.openCallRecord(f.Env, cfg, false, func(err error) {
		fmt.Fprintln(f.IO.ErrOut, errSt.Error.Render("! "+sanitize(err.Error())))
	})
	defer calls.close()
	live := len(scenarios) == 1 && !opts.JSON
	// Frames go to the call log, as in dev, and to the terminal with --debug. With
	// several calls at once the log keeps their events but not every frame unless
	// --debug asks: tracing each frame of many calls costs the CPU their audio
	// clocks need (a starved simulated caller sends its audio late).
	so.Debug = (live && calls.log != nil) || opts.frames()
	var onDone func(int, *offlinecall.Outcome)
	if live {
		// The terminal asks about approvals only for a call no script answers
		// them for (the demo, --caller-audio): a scripted run never waits on a
		// person.
		out := newEventOutput(f.IO.Out, st, f.IO.OutTTY, false, opts.filter, calls.red)
		if opts.askTerminal && opts.Approve == "" {
			approver := &terminalApprover{in: f.IO.In, out: f.IO.ErrOut, tty: f.IO.ErrTTY}
			if f.IO.OutTTY && f.IO.ErrTTY {
				approver.board = out.onScreen(f.IO.ErrOut) // the question stays below the call's lines, as in dev
			}
			so.Approver = approver
		}
		so.OnEvent = calls.onEvent(out.event)
		fmt.Fprintf(f.IO.ErrOut, "simulating %q with %s and %s\n", sanitize(scenarios[0].Name), sanitize(cfg.Summary()), sanitize(model))
	} else {
		// Several calls at once: their transcripts would interleave, so each
		// scenario gets a line when it finishes, and the transcripts are in the
		// call log.
		so.OnEvent = calls.onEvent(nil)
		fmt.Fprintf(f.IO.ErrOut, "simulating %s with %s and %s, %d at a time\n", plural(len(scenarios), "scenario"),
			sanitize(cfg.Summary()), sanitize(model), min(opts.Parallel, len(scenarios)))
		onDone = func(_ int, o *offlinecall.Outcome) {
			fmt.Fprintln(f.IO.ErrOut, progressLine(errSt, o, calls.log != nil, f.self()))
		}
	}
	started := time.Now()
	outcomes := offlinecall.RunAll(ctx, so, scenarios, opts.Parallel, onDone)
	calls.close()
	if err := ctx.Err(); err != nil {
		return err // interrupted: neither a pass nor a failure, and no report
	}
	if opts.JUnitPath != "" {
		if err := writeJUnit(opts.JUnitPath, started, outcomes); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	switch {
	case opts.JSON:
		if err := writeResultsJSON(f.IO.Out, outcomes); err != nil {
			return err
		}
	case live:
		o := outcomes[0]
		if o.Err != nil {
			return o.Err
		}
		printSummary(f.IO.Out, st, o.Result)
		for _, n := range o.Result.Notes {
			fmt.Fprintln(f.IO.ErrOut, "note: "+sanitize(n))
		}
		if opts.RecordPath != "" {
			fmt.Fprintf(f.IO.ErrOut, "recorded to %s\n", opts.RecordPath)
		}
		if calls.log != nil {
			fmt.Fprintf(f.IO.ErrOut, "call log: %s logs %s\n", f.self(), o.Result.CallSID)
		}
		for _, fail := range o.Result.Failures {
			fmt.Fprintln(f.IO.Out, st.Error.Render("✗ "+sanitize(fail)))
		}
	default:
		printResultsTable(f.IO.Out, st, outcomes)
	}
	return outcomesError(outcomes)
}

// offlineOptions are the options of an offline call against cfg, the
// simulated model's unless changed: simulate's and the inspector's replay's.
func offlineOptions(env *Env, cfg *agent.Config, approve string) offlinecall.Options {
	so := offlinecall.Options{Agent: cfg, Approve: approve}
	for _, name := range secretVariables {
		so.Secrets = append(so.Secrets, env.Get(name))
	}
	return so
}

// outcomesError is the run's verdict: nil when every scenario passed.
func outcomesError(outcomes []*offlinecall.Outcome) error {
	failed, errored := 0, 0
	var firstErr error
	for _, o := range outcomes {
		switch {
		case o.Err != nil:
			errored++
			if firstErr == nil {
				firstErr = o.Err
			}
		case !o.Passed():
			failed++
		}
	}
	switch {
	case errored == 1 && len(outcomes) == 1:
		return firstErr
	case errored > 0:
		return fmt.Errorf("%d of %s could not run (%w)", errored, plural(len(outcomes), "scenario"), firstErr)
	case failed > 0:
		return errExpectations
	}
	return nil
}

// speechCacheDir keeps the simulated caller's synthesized lines:
// $XDG_CACHE_HOME/callagent/speech, or the platform's cache directory.
func speechCacheDir(env *Env) string {
	base := env.Get("XDG_CACHE_HOME")
	if base == "" {
		var err error
		if base, err = os.UserCacheDir(); err != nil {
			return "" // no cache: every run synthesizes again
		}
	}
	return filepath.Join(base, "callagent", "speech")
}

// printSummary writes the call's figures.
func printSummary(w io.Writer, st Styles, res *offlinecall.Result) {
	s := res.Summary
	lat := "no answered turns"
	if s.LatencyP50 > 0 {
		lat = fmt.Sprintf("latency p50 %s, p95 %s", ms(s.LatencyP50), ms(s.LatencyP95))
	}
	parts := []string{
		plural(s.Turns, "turn"), plural(s.Interruptions, "interruption"), plural(s.ToolCalls, "tool call"), lat, plural(s.Errors, "error"),
	}
	if s.Warnings > 0 { // the call's (they are shown as it goes): not errors
		parts = append(parts, plural(s.Warnings, "warning"))
	}
	if s.CostUSD != nil {
		parts = append(parts, "cost "+pricing.FormatUSD(*s.CostUSD))
	}
	fmt.Fprintln(w, st.System.Render("summary: "+strings.Join(parts, ", ")))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
