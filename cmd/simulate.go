package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/offlinecall"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/spf13/cobra"
)

type simulateOptions struct {
	ScenarioPath string
	CallerAudio  string
	Model        string
	RecordPath   string
	CallerVoice  string
	fromCall     fromCallOptions // --from-call CA…: cmd/fromcall.go
	commonOptions

	RealtimeModel string // CALLAGENT_MODEL, over the configuration's model
}

// errExpectations is returned when a scenario's expectations do not hold (exit 1).
var errExpectations = errors.New("the call did not meet the scenario's expectations")

func newSimulateCmd(f *Factory, runF func(context.Context, *simulateOptions) error) *cobra.Command {
	opts := &simulateOptions{}
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Place a whole call offline: simulated caller, simulated model, the real server",
		Long: `Run one call end to end with no account and no network: callagent's real server on
loopback, a simulated Twilio caller that goes through the signed webhook and media stream,
and a simulated Realtime model that hears the caller, calls your agent's tools and answers.
The call is shown as callagent dev shows it, followed by a summary.

Scripted with --scenario, it is an agent test: the exit code is 0 when every expectation
holds, 1 otherwise. With --model openai (the default when OPENAI_API_KEY is set) the
simulated caller talks to the real model instead: its say: lines are spoken by OpenAI's
speech endpoint (gpt-4o-mini-tts, --caller-voice; cached: a rerun makes no speech requests), or
it says recorded audio (--caller-audio, or audio: in the scenario).

The call is logged like any other (callagent logs).`,
		Example: `  callagent simulate
  callagent simulate --scenario tests/refund.yaml --config callagent.yaml
  callagent simulate --caller-audio question.wav --model openai --record call.wav`,
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
	fl.StringVar(&opts.ScenarioPath, "scenario", "", "a scenario file: the caller's turns and what must happen")
	fl.StringVar(&opts.CallerAudio, "caller-audio", "", "a WAV file the caller says (PCM 8/16/24/48 kHz or μ-law)")
	opts.commonOptions.flags(fl, commonUsage{})
	fl.StringVar(&opts.Model, "model", "", "sim (the simulated model), openai, or a model name such as gpt-live-1 or gpt-realtime, simulated "+
		"on its engine's twin (default: openai when OPENAI_API_KEY is set; the model is the configuration's, or $CALLAGENT_MODEL)")
	fl.SetAnnotation("model", noEnv, []string{"true"})
	fl.StringVar(&opts.RecordPath, "record", "", "write the call to a stereo WAV file (caller left, agent right)")
	fl.StringVar(&opts.CallerVoice, "caller-voice", offlinecall.DefaultCallerVoice, "the caller's voice with --model openai (an OpenAI speech voice)")
	opts.fromCall.flags(fl)
	return c
}

func (o *simulateOptions) resolve(cmd *cobra.Command, env *Env) error {
	if err := o.commonOptions.resolve(cmd, env); err != nil {
		return err
	}
	o.RealtimeModel = env.Get("CALLAGENT_MODEL")
	switch o.Model {
	case "":
		o.Model = "sim"
		if o.APIKey != "" {
			o.Model = "openai"
		}
	case "sim":
	case "openai":
		if o.APIKey == "" {
			return usageErrorf("--model openai needs OPENAI_API_KEY: export it or put it in .env")
		}
	default:
		if !agent.LiveModel(o.Model) && !strings.HasPrefix(o.Model, "gpt-realtime") && !strings.HasPrefix(o.Model, "gpt-4o") {
			return commandLineError(fmt.Errorf("--model %q: use sim, openai, or a model name (gpt-live-1, gpt-realtime)", o.Model))
		}
		// A model name: that model, simulated offline on its engine's twin.
		o.RealtimeModel, o.Model = o.Model, "sim"
	}
	if err := o.fromCall.check(o.ScenarioPath != "" || o.CallerAudio != ""); err != nil {
		return err
	}
	if o.ScenarioPath != "" && o.CallerAudio != "" {
		return commandLineError(errors.New("use --scenario or --caller-audio, not both (a scenario turn can say a file with audio:)"))
	}
	return nil
}

func simulateRun(ctx context.Context, f *Factory, opts *simulateOptions) error {
	cfg, err := loadAgentConfig(opts.ConfigPath, f.Env)
	if err != nil {
		return err
	}
	scenario := offlinecall.DefaultScenario()
	var fc *fromCall // --from-call
	switch {
	case opts.fromCall.Call != "":
		if fc, err = scenarioFromCall(f.Env, opts.callLog.Dir, opts.fromCall, f.IO.ErrOut); err != nil {
			return err
		}
		defer fc.cleanup()
		scenario = fc.scenario()
	case opts.ScenarioPath != "":
		if scenario, err = offlinecall.LoadScenario(opts.ScenarioPath); err != nil {
			return &UsageError{Err: err}
		}
	case opts.CallerAudio != "":
		scenario = offlinecall.AudioScenario(opts.CallerAudio)
	}
	so := offlinecall.Options{Agent: cfg, Scenario: scenario, RecordPath: opts.RecordPath,
		Approver: &terminalApprover{in: f.IO.In, out: f.IO.ErrOut, tty: f.IO.ErrTTY}}
	for _, name := range secretVariables {
		so.Secrets = append(so.Secrets, f.Env.Get(name))
	}
	if opts.RealtimeModel != "" {
		cfg.Model = opts.RealtimeModel
		if err := cfg.CheckModel(); err != nil {
			return &UsageError{Err: err}
		}
	}
	model := "the simulated model"
	if agent.LiveModel(cfg.Model) {
		model = "the simulated GPT-Live model"
	}
	if opts.Model == "openai" {
		so.OpenAI = opts.dialOptions(cfg.Model, f.Build.Version)
		so.CallerSpeech = (&offlinecall.OpenAISpeech{BaseURL: opts.BaseURL, APIKey: opts.APIKey, Voice: opts.CallerVoice,
			CacheDir: speechCacheDir(f.Env)}).Speak
		model = "OpenAI " + cfg.Model
	}
	st := newStyles(useColor(f.IO.OutTTY, f.Env))
	calls := opts.openCallRecord(f.Env, cfg, false, func(err error) {
		fmt.Fprintln(f.IO.ErrOut, st.Error.Render("! "+sanitize(err.Error())))
	})
	out := newEventOutput(f.IO.Out, st, f.IO.OutTTY, false, opts.filter, calls.red)
	so.OnEvent = calls.onEvent(out.event)
	// Frames go to the call log, as in dev, and to the terminal with --debug.
	so.Debug = calls.log != nil || opts.frames()
	fmt.Fprintf(f.IO.ErrOut, "simulating %q with %s and %s\n", scenario.Name, sanitize(cfg.Summary()), sanitize(model))
	res, err := offlinecall.Run(ctx, so)
	calls.close()
	if err != nil {
		return err
	}
	res.Failures = fc.check(res.Events, res.Failures)
	printSummary(f.IO.Out, st, res)
	if opts.RecordPath != "" {
		fmt.Fprintf(f.IO.ErrOut, "recorded to %s\n", opts.RecordPath)
	}
	if calls.log != nil {
		fmt.Fprintf(f.IO.ErrOut, "call log: callagent logs %s\n", res.CallSID)
	}
	if len(res.Failures) > 0 {
		for _, fail := range res.Failures {
			fmt.Fprintln(f.IO.Out, st.Error.Render("✗ "+sanitize(fail)))
		}
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
