package server

import "time"

// Defaults of Config's listener limits and windows, for the commands' flags.
const (
	DefaultReadHeaderTimeout  = defaultReadHeaderTimeout
	DefaultBodyReadTimeout    = defaultBodyReadTimeout
	DefaultWriteTimeout       = defaultWriteTimeout
	DefaultIdleTimeout        = defaultIdleTimeout
	DefaultStreamStartTimeout = defaultStreamStart
	DefaultMaxWebhookBody     = defaultMaxWebhookBody
	DefaultPredialTTL         = defaultPredialTTL
)

var _ time.Duration = DefaultPredialTTL // typed: they are durations
