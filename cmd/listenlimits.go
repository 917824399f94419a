package cmd

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/callagent/callagent/pkg/server"
)

// listenLimits are serve's bounds on what a client may hold of the server: the
// listener's timeouts (against slow and stalled clients), the webhook body, and the
// pre-dial window and bound. Zero values take the server's defaults.
type listenLimits struct {
	HeaderTimeout      time.Duration
	BodyTimeout        time.Duration
	WriteTimeout       time.Duration
	IdleTimeout        time.Duration
	StreamStartTimeout time.Duration
	MaxWebhookBody     int64
	PredialWindow      time.Duration
	MaxPredials        int
	MaxConns           int
}

func (o *listenLimits) flags(fl *pflag.FlagSet) {
	fl.DurationVar(&o.HeaderTimeout, "header-timeout", server.DefaultReadHeaderTimeout, "a request's headers (a stream's upgrade too) must arrive within this")
	fl.DurationVar(&o.BodyTimeout, "body-timeout", server.DefaultBodyReadTimeout, "a request's body must arrive within this after its headers")
	fl.DurationVar(&o.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "a client must take an answer within this (media streams excepted)")
	fl.DurationVar(&o.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "close a keep-alive connection idle for this long")
	fl.DurationVar(&o.StreamStartTimeout, "stream-start-timeout", server.DefaultStreamStartTimeout, "a media stream must send its start within this after its upgrade")
	fl.Int64Var(&o.MaxWebhookBody, "max-webhook-body", server.DefaultMaxWebhookBody, "largest webhook body accepted, in bytes")
	fl.DurationVar(&o.PredialWindow, "predial-window", server.DefaultPredialTTL, "an answered call's stream must start within this (its pre-dialed model session and stream credential last as long)")
	fl.IntVar(&o.MaxConns, "max-conns", 0, "connections served at once, media streams included; more wait in the backlog (0: half the open-file limit; -1: no bound)")
	fl.IntVar(&o.MaxPredials, "max-predials", 0, "model sessions dialed ahead for answered calls whose stream has not started (0: --max-calls, or 100 without it)")
}

// check refuses values the server would silently replace with its defaults.
func (o *listenLimits) check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--header-timeout", o.HeaderTimeout}, {"--body-timeout", o.BodyTimeout}, {"--write-timeout", o.WriteTimeout},
		{"--idle-timeout", o.IdleTimeout}, {"--stream-start-timeout", o.StreamStartTimeout}, {"--predial-window", o.PredialWindow}} {
		if d.v <= 0 {
			return usageErrorf("%s must be positive", d.name)
		}
	}
	if o.MaxWebhookBody <= 0 {
		return usageErrorf("--max-webhook-body must be positive")
	}
	if o.MaxConns < -1 {
		return usageErrorf("--max-conns must be -1 (no bound), 0 (half the open-file limit) or a number of connections")
	}
	if o.MaxPredials < 0 {
		return usageErrorf("--max-predials cannot be negative")
	}
	return nil
}

// apply sets the limits in cfg.
func (o *listenLimits) apply(cfg *server.Config) {
	cfg.ReadHeaderTimeout, cfg.BodyReadTimeout, cfg.WriteTimeout = o.HeaderTimeout, o.BodyTimeout, o.WriteTimeout
	cfg.IdleTimeout, cfg.StreamStartTimeout, cfg.MaxWebhookBody = o.IdleTimeout, o.StreamStartTimeout, o.MaxWebhookBody
	cfg.PredialTTL, cfg.MaxPredials, cfg.MaxConns = o.PredialWindow, o.MaxPredials, o.MaxConns
}
