package cmd

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/provision"
)

// callLogOptions are the flags of the per-call logs (dev, serve and simulate).
type callLogOptions struct {
	Dir     string
	Off     bool
	MaxAge  days
	MaxSize byteSize
}

func (c *callLogOptions) flags(fl *pflag.FlagSet) {
	c.MaxAge = days(calllog.DefaultMaxAge)
	c.MaxSize = byteSize(calllog.DefaultMaxBytes)
	fl.StringVar(&c.Dir, "call-log-dir", "", "where each call's log is written (default: the state directory's calls/)")
	fl.BoolVar(&c.Off, "no-call-log", false, "do not write call logs")
	fl.Var(&c.MaxAge, "call-log-max-age", "remove call logs older than this (like 2d, 36h or 90m; 0 keeps them)")
	fl.Var(&c.MaxSize, "call-log-max-size", "keep at most this much of call logs, removing the oldest (like 512MB; 0: no limit)")
}

// callLogDir is --call-log-dir, or calls/ in the state directory.
func callLogDir(dir string, env *Env) (string, error) {
	if dir != "" {
		return dir, nil
	}
	state, err := provision.StateDir(env.Get)
	if err != nil {
		return "", err
	}
	return filepath.Join(state, "calls"), nil
}

// open starts the call log writer; nil when the logs are off, or when there is no
// place for them (reported to onError: calls are served regardless).
func (c *callLogOptions) open(env *Env, red *calllog.Redactor, omitText bool, onError func(error)) *calllog.Writer {
	if c.Off {
		return nil
	}
	dir, err := callLogDir(c.Dir, env)
	if err != nil {
		onError(fmt.Errorf("call log: %w; calls are not logged (set --call-log-dir, or --no-call-log)", err))
		return nil
	}
	return calllog.NewWriter(calllog.Options{Dir: dir, MaxAge: time.Duration(c.MaxAge), MaxBytes: int64(c.MaxSize),
		Redactor: red, OmitText: omitText, OnError: onError})
}

// secretVariables hold values that must never be logged.
var secretVariables = []string{"OPENAI_API_KEY", "TWILIO_AUTH_TOKEN", "TWILIO_API_SECRET", "NGROK_AUTHTOKEN", envWebhookSecret}

// newRedactor knows the secrets of the environment and of the agent configuration
// (the ${VAR} values of tool headers and authorizations).
func newRedactor(env *Env, cfg *agent.Config) *calllog.Redactor {
	r := calllog.NewRedactor()
	updateRedactor(r, env, cfg)
	return r
}

// updateRedactor sets r's secrets: the environment's, the agents', and extra ones
// the process holds itself (the signing secret of the webhook endpoint dev --sip
// created, which is in no environment).
func updateRedactor(r *calllog.Redactor, env *Env, cfg *agent.Config, extra ...string) {
	secrets := append([]string(nil), extra...)
	for _, name := range secretVariables {
		secrets = append(secrets, env.Get(name))
	}
	if cfg != nil {
		secrets = append(secrets, cfg.Secrets()...)
	}
	r.SetSecrets(secrets...)
}

// byteSize is a size flag: 512MB, 1GiB, 100k, 0.
type byteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
	{"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3},
	{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1},
}

func (b *byteSize) String() string {
	v := int64(*b)
	switch {
	case v > 0 && v%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", v>>30)
	case v > 0 && v%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", v>>20)
	}
	return strconv.FormatInt(v, 10)
}

func (b *byteSize) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("%q: want a size like 512MB, 1GiB or 0", s)
	}
	*b = byteSize(v * float64(mult))
	return nil
}

func (b *byteSize) Type() string { return "size" }
