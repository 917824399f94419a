package cmd

import (
	"net/http"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/offlinecall"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/server"
)

// commonOptions are the options of the three commands that run calls — dev, serve
// and simulate: the agents' file, --debug, the call log, and OpenAI's key and base
// URL. Each command embeds them in its own options, binds them with flags and
// resolves them first; what is particular to a command comes after.
type commonOptions struct {
	ConfigPath string
	Debug      string
	callLog    callLogOptions

	filter calllog.Filter // --debug with DEBUG

	// From the environment (or .env): secrets never come from flags.
	APIKey, BaseURL string
}

// commonUsage is the help of the common flags whose meaning differs by command.
type commonUsage struct {
	config, debug string
}

const defaultConfigUsage = "agent configuration file (default callagent.yaml, else the built-in agent)"

func (c *commonOptions) flags(fl *pflag.FlagSet, u commonUsage) {
	if u.config == "" {
		u.config = defaultConfigUsage
	}
	if u.debug == "" {
		u.debug = debugFlagUsage
	}
	fl.StringVar(&c.ConfigPath, "config", "", u.config)
	fl.StringVar(&c.Debug, "debug", "", u.debug)
	c.callLog.flags(fl)
}

// resolve sets every flag the command line left unset from its CALLAGENT_* variable
// (flags > environment > .env > defaults), combines --debug with DEBUG, and reads
// OpenAI's key and base URL. Whether the key is required is the command's call.
func (c *commonOptions) resolve(cmd *cobra.Command, env *Env) error {
	if err := applyEnv(cmd, env); err != nil {
		return err
	}
	var err error
	if c.filter, err = debugFilter(c.Debug, env); err != nil {
		return err
	}
	c.APIKey, c.BaseURL = env.Get("OPENAI_API_KEY"), env.Get("OPENAI_BASE_URL")
	return checkBaseURL(c.BaseURL)
}

// requireAPIKey is the check of the commands that cannot run without the model.
func (c *commonOptions) requireAPIKey() error {
	if c.APIKey == "" {
		return usageErrorf("OPENAI_API_KEY is not set: export it or put it in .env (https://platform.openai.com/api-keys)")
	}
	return nil
}

// dialOptions are how a call reaches OpenAI's Realtime model.
func (c *commonOptions) dialOptions(model, version string) realtime.DialOptions {
	return realtime.DialOptions{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: model,
		Header: http.Header{"User-Agent": {"callagent/" + version}}}
}

// dialer is how a call with cfg reaches its model: the Realtime API, or GPT-Live
// (through livebridge) for a gpt-live-* model.
func (c *commonOptions) dialer(cfg *agent.Config, version string) server.DialFunc {
	return offlinecall.Dialer(cfg, c.dialOptions(cfg.Model, version))
}

// frames reports whether --debug (or DEBUG) asks for the Twilio or Realtime frames.
func (c *commonOptions) frames() bool {
	return c.filter.Enabled(callevent.NSTwilio) || c.filter.Enabled(callevent.NSRealtime)
}

// callRecord is where a run's call events go besides the command's own output: the
// call log, redacted with the secrets of the environment and the agents.
type callRecord struct {
	red *calllog.Redactor
	log *calllog.Writer // nil: --no-call-log, or no place for the logs
}

// openCallRecord starts the call log of a run of cfg; onError hears of a log that
// cannot be written (calls go on regardless). omitText leaves out what was said.
func (c *commonOptions) openCallRecord(env *Env, cfg *agent.Config, omitText bool, onError func(error)) callRecord {
	red := newRedactor(env, cfg)
	return callRecord{red: red, log: c.callLog.open(env, red, omitText, onError)}
}

// onEvent sends each call event to show (the terminal; nil for none) and to the
// call log.
func (r callRecord) onEvent(show func(callevent.Event)) func(callevent.Event) {
	switch {
	case r.log == nil:
		return show
	case show == nil:
		return r.log.Event
	}
	return func(ev callevent.Event) {
		show(ev)
		r.log.Event(ev)
	}
}

// close flushes the call log.
func (r callRecord) close() {
	if r.log != nil {
		r.log.Close()
	}
}
