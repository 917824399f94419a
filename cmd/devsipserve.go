package cmd

import (
	"context"
	"strings"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/server"
)

// dev --sip, the control plane: the server takes OpenAI's incoming-call webhook
// on the tunnel (pkg/server/sip.go) instead of Twilio's; the number is not
// pointed at the tunnel, it goes on callagent's SIP trunk to OpenAI (devsip.go:
// the provisioning). Unless --no-provision, dev creates the webhook endpoint for
// the tunnel once its server runs, and the endpoint's signing secret, known only
// then, goes to the server (SetWebhookSecret; webhooks before that get 503).
// With OPENAI_WEBHOOK_SECRET the endpoint is the user's: the server has its
// secret from the start and none is created.

// sipProvisioning reports whether dev --sip provisions the path itself.
func (d *devSession) sipProvisioning() bool { return !d.o.NoProvision }

// sipServerConfig is the server's SIP configuration in dev: the secret comes from
// the environment, or from the webhook endpoint dev creates once the server runs.
func (d *devSession) sipServerConfig() *server.SIPConfig {
	if !d.sip {
		return nil
	}
	// The configuration dev started with: its GPT-Live options (backend model,
	// acknowledgement delay) hold for the run, as the transport does.
	c := d.o.commonOptions.sipServerConfigFor(d.agents.current().cfg, d.f.Build.Version, d.o.WebhookSecret)
	c.SecretLater = c.Secret == "" && d.sipProvisioning()
	return c
}

// startSIP provisions the SIP path (when dev does) once the server runs, and
// gives the server the webhook secret of the endpoint it created. A failure has
// undone what it did; stop deletes the endpoint all the same if that failed too.
func (d *devSession) startSIP(ctx context.Context) error {
	if !d.sipProvisioning() {
		return nil
	}
	if err := d.provisionSIP(ctx); err != nil { // devsip.go
		return err
	}
	// The endpoint's secret is in no environment: the call logs and the terminal learn it here.
	updateRedactor(d.calls.red, d.f.Env, d.agents.current().cfg, d.heldSecrets()...)
	d.srv.SetWebhookSecret(d.sipWebhookSecret())
	return nil
}

// heldSecrets are the secrets dev holds that no environment names: the signing
// secret of the webhook endpoint dev --sip created.
func (d *devSession) heldSecrets() []string {
	if d.sipProv != nil && d.sipProv.secret.Reveal() != "" {
		return []string{d.sipProv.secret.Reveal()}
	}
	return nil
}

// stopSIP deletes the webhook endpoint dev created; the number came off the
// trunk before, with the voice URL's restore (d.pointed).
func (d *devSession) stopSIP(ctx context.Context) error {
	return d.deleteEndpoint(ctx) // devsip.go
}

// noteSIP says what dev does not do over SIP (no recordings: the audio never
// comes here) and what in the configuration has no effect.
func (d *devSession) noteSIP(cfg *agent.Config) {
	d.o.RecordDir = ""
	for _, n := range cfg.SIPNotes() {
		d.steps.note(d.st.Dim.Render("·"), n)
	}
}

// sipReadyLine is the banner's first line over SIP.
func (d *devSession) sipReadyLine() string {
	if d.sipProvisioning() {
		return "Call " + d.st.Caller.Render(sanitize(d.number.PhoneNumber)) + d.st.Dim.Render(" (over SIP: OpenAI answers, callagent controls the call)")
	}
	uri := "sip:PROJECT_ID@sip.api.openai.com;transport=tls"
	if d.o.OpenAIProject != "" {
		uri = d.o.uri()
	}
	return "Point the OpenAI project's webhook endpoint (" + strings.Join(sipEvents(d.agents.current().cfg.Model), ", ") +
		") at the URL below, and your SIP trunk at " + uri + " (docs/SIP.md)."
}
