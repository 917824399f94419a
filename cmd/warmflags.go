package cmd

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/callagent/callagent/pkg/server"
)

// warmOptions are serve's warm model sessions: connections dialed ahead of demand
// that any media stream reaching this instance takes (pkg/server warm.go), so the
// webhook and the stream of a call may reach different instances behind a load
// balancer and the call still dials the model at most once.
type warmOptions struct {
	WarmSessions int
	WarmMaxAge   time.Duration
}

// Defaults of serve's warm pool.
const (
	defaultWarmSessions = 4
	defaultWarmMaxAge   = 2 * time.Minute
)

func (o *warmOptions) flags(fl *pflag.FlagSet) {
	fl.IntVar(&o.WarmSessions, "warm-sessions", defaultWarmSessions, "model sessions kept dialed ahead of demand, sized by the recent call rate up to this\n"+
		"(any instance's stream takes one; 0: pre-dial per webhook instead, for a single instance)")
	fl.DurationVar(&o.WarmMaxAge, "warm-max-age", defaultWarmMaxAge, "recycle a warm session no call took after this (the model's session lifetime runs from the dial)")
}

func (o *warmOptions) check() error {
	if o.WarmSessions < 0 {
		return usageErrorf("--warm-sessions cannot be negative")
	}
	if o.WarmMaxAge <= 0 {
		return usageErrorf("--warm-max-age must be positive")
	}
	return nil
}

func (o *warmOptions) apply(cfg *server.Config) {
	cfg.WarmSessions, cfg.WarmMaxAge = o.WarmSessions, o.WarmMaxAge
}
