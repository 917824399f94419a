package cmd

import (
	"context"
	"fmt"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/server"
)

// dev --sip, the control plane: the server takes OpenAI's incoming-call webhook
// on the tunnel (pkg/server/sip.go) instead of Twilio's; no number is pointed at
// the tunnel, the SIP trunk carries the calls to OpenAI.

// devSIPProvision, when set, is dev --sip's provisioning (cmd/devsip.go): it
// points the OpenAI webhook endpoint at webhookURL and the SIP trunk and number
// at OpenAI, saving what it changes, and returns the endpoint's signing secret
// when it created one ("" keeps OPENAI_WEBHOOK_SECRET). dev calls it once its
// server runs on the tunnel; devSIPRestore puts everything back at stop, also
// after a provisioning that failed midway. Unset, or with --no-provision, dev
// --sip serves the webhook and says what to set by hand.
var (
	devSIPProvision func(ctx context.Context, d *devSession, webhookURL string) (secret string, err error)
	devSIPRestore   func(ctx context.Context, d *devSession) error
)

// sipProvisioning reports whether dev --sip provisions the path itself.
func (d *devSession) sipProvisioning() bool { return devSIPProvision != nil && !d.o.NoProvision }

// sipServerConfig is the server's SIP configuration in dev: the secret comes from
// the environment, or from the provisioning once the server runs.
func (d *devSession) sipServerConfig() *server.SIPConfig {
	if !d.sip {
		return nil
	}
	c := d.o.commonOptions.sipServerConfig(d.f.Build.Version, d.f.Env.Get(envWebhookSecret))
	c.SecretLater = d.sipProvisioning()
	return c
}

// startSIP provisions the SIP path (when dev does) once the server runs, and
// gives the server the webhook secret it got.
func (d *devSession) startSIP(ctx context.Context) error {
	if !d.sipProvisioning() {
		return nil
	}
	d.sipProvisioned = true // stop restores, also after a failure midway
	secret, err := devSIPProvision(ctx, d, d.webhook())
	if err != nil {
		return err
	}
	if secret == "" {
		secret = d.f.Env.Get(envWebhookSecret)
	}
	if secret == "" {
		return fmt.Errorf("%s", sipMissing("")[0])
	}
	d.srv.SetWebhookSecret(secret)
	return nil
}

// stopSIP puts back what startSIP provisioned.
func (d *devSession) stopSIP(ctx context.Context) error {
	if !d.sipProvisioned || devSIPRestore == nil {
		return nil
	}
	return devSIPRestore(ctx, d)
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
		return "Calls to your SIP trunk's number come here through OpenAI."
	}
	return "Point the OpenAI project's webhook endpoint (event realtime.call.incoming) at the URL below, " +
		"and your SIP trunk at sip:PROJECT_ID@sip.api.openai.com;transport=tls (docs/DEPLOY.md, SIP)."
}
