package cmd

import (
	"context"
	"errors"
	"net/http"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/livebridge"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/sipcall"
)

// transport: sip (issue 19): OpenAI answers the phone over a SIP trunk and sends
// a signed webhook; serve and dev are the control plane (pkg/server/sip.go).

// envWebhookSecret holds the signing secret of the project's webhook endpoint.
const envWebhookSecret = "OPENAI_WEBHOOK_SECRET"

// sipFlagUsage is --sip's help, on serve and dev.
const sipFlagUsage = "transport sip: OpenAI answers calls over a SIP trunk and callagent controls them from its signed webhook\n" +
	"(the same as transport: sip in callagent.yaml; needs " + envWebhookSecret + ")"

// configTransport is the transport the configuration file states ("" when it
// states none, or cannot be read: loading it reports that). serve and dev read it
// before loading the agents, to know which settings they need.
func configTransport(path string) string {
	if path == "" {
		path = agent.DefaultFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var c struct {
		Transport string `yaml:"transport"`
	}
	if yaml.Unmarshal(data, &c) != nil {
		return ""
	}
	return c.Transport
}

// sipCalls is hang-up and transfer of SIP calls for the agents' built-in tools:
// the call-control API by the OpenAI call id, a transfer as a SIP REFER.
type sipCalls struct {
	c      server.CallControl
	engine sipcall.Engine // the agents' model's: the call's
}

// newSIPCalls is the hang-up and transfer of cfg's calls.
func newSIPCalls(c server.CallControl, cfg *agent.Config) sipCalls {
	if agent.LiveModel(cfg.Model) {
		return sipCalls{c, sipcall.EngineLive}
	}
	return sipCalls{c, sipcall.EngineRealtime}
}

func (s sipCalls) Hangup(ctx context.Context, callID string) error {
	return s.c.Hangup(ctx, s.engine, callID)
}

func (s sipCalls) Redirect(context.Context, string, string) error {
	return errors.New("a SIP call is transferred with a SIP REFER, not TwiML")
}

func (s sipCalls) Refer(ctx context.Context, callID, targetURI string) error {
	return s.c.Refer(ctx, s.engine, callID, targetURI)
}

// sipControl is OpenAI's call-control API with the environment's key and base URL
// (the agents' hang-up and transfer).
func sipControl(env *Env) *sipcall.Client {
	return newSIPControl(env.Get("OPENAI_BASE_URL"), env.Get("OPENAI_API_KEY"))
}

func newSIPControl(base, key string) *sipcall.Client {
	if base == "" {
		base = realtime.DefaultBaseURL
	}
	return sipcall.NewClient(base, key, &http.Client{})
}

// sidebandDialer opens a SIP call's sideband by its call id.
func (c *commonOptions) sidebandDialer(version string) server.DialFunc {
	opts := c.dialOptions("", version)
	return func(ctx context.Context, callID string) (session.ModelLeg, error) {
		return dialSideband(ctx, opts, callID)
	}
}

// sipServerConfigFor is the server's SIP configuration for serve and dev; secret is
// the webhook endpoint's signing secret. Each call runs on its agent's engine: a
// Realtime model's calls over the sideband, a gpt-live-* model's over the Live
// session's attach socket, with cfg's GPT-Live options (the delegation's backend
// model, the acknowledgement delay); cfg may be nil (the defaults).
func (c *commonOptions) sipServerConfigFor(cfg *agent.Config, version, secret string) *server.SIPConfig {
	d := c.dialOptions("", version)
	lo := livebridge.Options{Dial: live.DialOptions{BaseURL: d.BaseURL, APIKey: d.APIKey, Header: d.Header, HTTPClient: d.HTTPClient, Retry: d.Retry}}
	if cfg != nil {
		lo.BackendModel = cfg.LiveBackendModel()
		if cfg.Live != nil {
			lo.AcknowledgementDelayMs = cfg.Live.AcknowledgementDelayMs
		}
	}
	return &server.SIPConfig{Secret: secret, Control: newSIPControl(c.BaseURL, c.APIKey), Sideband: c.sidebandDialer(version), Live: &lo}
}

// sipMissing is what transport sip cannot start without.
func sipMissing(secret string) []string {
	if secret != "" {
		return nil
	}
	return []string{envWebhookSecret + " is not set: transport sip verifies every incoming-call webhook with the signing secret " +
		"OpenAI showed when the project's webhook endpoint was created (whsec_…); export it or put it in .env"}
}

// sipRecordError is serve's answer to --record-dir with transport sip.
func sipRecordError() error {
	return usageErrorf("--record-dir: calls over SIP cannot be recorded: their audio goes between the trunk and OpenAI and never reaches callagent")
}
