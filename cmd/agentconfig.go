package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/telemetry"
	"github.com/callagent/callagent/pkg/twiliorest"
)

// loadAgentConfig loads path, or callagent.yaml from the working directory, or the
// built-in default agent when neither exists. Problems in the file are usage errors
// (exit 2) listing every issue.
func loadAgentConfig(path string, env *Env) (*agent.Config, error) {
	if path == "" {
		if _, err := os.Stat(agent.DefaultFile); errors.Is(err, fs.ErrNotExist) {
			return agent.Default(), nil
		}
		path = agent.DefaultFile
	}
	cfg, err := agent.Load(path, env.Get)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return cfg, nil
}

// callControl returns Twilio REST call control when TWILIO_ACCOUNT_SID is set, for
// hang-ups and transfers; nil otherwise (hang-up then closes the stream).
func callControl(env *Env, tr *telemetry.Tracer) (*twiliorest.Client, error) {
	if env.Get("TWILIO_ACCOUNT_SID") == "" {
		return nil, nil
	}
	cc, err := newTracedTwilioREST(env, tr)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return cc, nil
}

// newRuntime builds the agents of cfg with the call control and approver at hand;
// with tracing, HTTP tools get a traceparent and Twilio REST requests are spans.
func newRuntime(cfg *agent.Config, env *Env, approver session.Approver, tr *telemetry.Tracer) (*agent.Runtime, error) {
	opts := agent.RuntimeOptions{Approver: approver}
	if tr != nil {
		opts.TraceParent = tr.TraceParent
	}
	for _, name := range secretVariables {
		opts.Secrets = append(opts.Secrets, env.Get(name))
	}
	if cfg.SIP() {
		opts.Calls = newSIPCalls(sipControl(env), cfg) // hang-up and transfer by the OpenAI call id
	} else {
		cc, err := callControl(env, tr)
		if err != nil {
			return nil, err
		}
		if cc != nil {
			opts.Calls = cc
		}
	}
	rt, err := agent.NewRuntime(cfg, opts)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return rt, nil
}

// agentOverrides are the flags that override callagent.yaml (serve and dev):
// flags > CALLAGENT_* environment > .env > callagent.yaml > defaults.
type agentOverrides struct {
	Model           string
	Voice           string
	MaxCallDuration time.Duration
	// SIP is --sip, or transport: sip in the configuration file (resolve reads it).
	SIP bool

	modelSet, voiceSet bool // given on the command line or in the environment
}

func (a *agentOverrides) flags(fl *pflag.FlagSet) {
	fl.StringVar(&a.Model, "model", "", "the model, by name: gpt-realtime, gpt-live-1, … (default: the configuration's, else "+realtime.DefaultModel+")")
	fl.StringVar(&a.Voice, "voice", "", "the agents' voice (default: the configuration's, else "+agent.DefaultVoice+")")
	fl.DurationVar(&a.MaxCallDuration, "max-call-duration", 0, "end calls after this long, after telling the agent to wrap up (0: the configuration's)")
	fl.BoolVar(&a.SIP, "sip", false, sipFlagUsage)
}

// resolve notes which overrides were given; call it after applyEnv.
func (a *agentOverrides) resolve(cmd *cobra.Command) error {
	a.modelSet, a.voiceSet = cmd.Flags().Changed("model"), cmd.Flags().Changed("voice")
	if !a.SIP {
		path, _ := cmd.Flags().GetString("config")
		a.SIP = configTransport(path) == agent.TransportSIP
	}
	if a.MaxCallDuration < 0 {
		return usageErrorf("--max-call-duration cannot be negative")
	}
	if a.voiceSet {
		if err := agent.CheckVoice(a.Voice); err != nil {
			return commandLineError(fmt.Errorf("--voice: %w", err))
		}
	}
	return nil
}

func (a *agentOverrides) applyTo(cfg *agent.Config) {
	if a.modelSet {
		cfg.Model = a.Model
	}
	if a.voiceSet {
		for i := range cfg.Agents {
			cfg.Agents[i].Voice = agent.Voice(a.Voice)
		}
	}
	if a.MaxCallDuration > 0 {
		cfg.MaxCallDuration = agent.Duration(a.MaxCallDuration)
	}
	if a.SIP {
		cfg.Transport = agent.TransportSIP
	}
}
