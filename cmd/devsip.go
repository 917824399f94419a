package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/openaiwebhook"
	"github.com/callagent/callagent/pkg/provision"
)

// dev --sip's provisioning: the OpenAI webhook endpoint for the tunnel, then the
// number on callagent's Elastic SIP trunk whose origination URI is OpenAI's SIP
// endpoint for the project; and their undoing on exit. The control plane (the
// webhook handler, accept, sideband) is the server's.

// heldWebhook is the state directory's kind for a webhook endpoint dev created.
const heldWebhook = "openai-webhook"

// sipOptions are dev's SIP provisioning settings; --sip itself is agentOverrides'
// (serve has it too, and transport: sip in callagent.yaml turns it on).
type sipOptions struct {
	OpenAIProject string // --openai-project, OPENAI_PROJECT_ID
	SIPRegion     string // --sip-region: "" (global), eu, in
	WebhookSecret string // OPENAI_WEBHOOK_SECRET: an endpoint the user made; none is created
}

func (s *sipOptions) flags(fl *pflag.FlagSet) {
	// --sip is agentOverrides' (serve's too); dev sets the path up itself.
	fl.Lookup("sip").Usage = "transport sip: OpenAI answers calls over a SIP trunk and callagent controls them from its signed webhook; " +
		"dev creates the webhook endpoint and puts the number on callagent's SIP trunk, all put back on exit\n" +
		"(the same as transport: sip in callagent.yaml; --no-provision: set them yourself, with " + envWebhookSecret + ")"
	fl.StringVar(&s.OpenAIProject, "openai-project", "", "with --sip: the OpenAI project id (proj_…) whose SIP endpoint takes the calls (default $OPENAI_PROJECT_ID)")
	fl.StringVar(&s.SIPRegion, "sip-region", "", "with --sip: OpenAI's regional SIP endpoint, eu or in (GPT-Live; default the global one)")
}

// resolve checks the SIP settings; sip is --sip or transport: sip, noProvision
// --no-provision (the trunk is then the user's: no project id is needed).
func (s *sipOptions) resolve(cmd *cobra.Command, env *Env, sip, noProvision bool) error {
	if !sip {
		for _, name := range []string{"openai-project", "sip-region"} {
			// Given on the command line (a CALLAGENT_* variable may be left in .env).
			if cmd.Flags().Changed(name) && env.Get(envName(name)) == "" {
				return usageErrorf("--%s is for dev --sip (or transport: sip in callagent.yaml)", name)
			}
		}
		s.OpenAIProject, s.SIPRegion = "", ""
		return nil
	}
	if s.OpenAIProject == "" {
		s.OpenAIProject = env.Get("OPENAI_PROJECT_ID")
	}
	s.WebhookSecret = env.Get(envWebhookSecret)
	switch {
	case s.OpenAIProject == "" && noProvision:
		return nil
	case s.OpenAIProject == "":
		return usageErrorf("--sip needs the OpenAI project id (proj_…, on https://platform.openai.com/settings/organization/general under the project): --openai-project or OPENAI_PROJECT_ID")
	case !strings.HasPrefix(s.OpenAIProject, "proj_") || strings.ContainsAny(s.OpenAIProject, "@;: /"):
		return usageErrorf("--openai-project %q: an OpenAI project id starts with proj_", s.OpenAIProject)
	case s.SIPRegion != "" && s.SIPRegion != "eu" && s.SIPRegion != "in":
		return usageErrorf("--sip-region %q: eu or in (or none, the global endpoint)", s.SIPRegion)
	}
	return nil
}

// uri is OpenAI's SIP endpoint for the project, the trunk's origination URI.
func (s sipOptions) uri() string {
	host := "sip.api.openai.com"
	if s.SIPRegion != "" {
		host = "sip-" + s.SIPRegion + ".api.openai.com"
	}
	return "sip:" + s.OpenAIProject + "@" + host + ";transport=tls"
}

// devSIP is what dev --sip created for its session.
type devSIP struct {
	hooks    *openaiwebhook.Client
	endpoint string // id of the webhook endpoint dev created ("" once deleted, or none)
	secret   openaiwebhook.Secret
}

// sipEvents is the incoming-call event of the engine of model.
func sipEvents(model string) []string {
	if agent.LiveModel(model) {
		return []string{openaiwebhook.EventLiveTransportIncoming}
	}
	return []string{openaiwebhook.EventRealtimeCallIncoming}
}

// pointable says why the number cannot take dev's calls.
func (d *devSession) pointable(ctx context.Context, n provision.Number) error {
	if d.sip {
		return d.prov.SIPPointable(ctx, n, d.o.TakeOver)
	}
	return n.Pointable(d.o.TakeOver)
}

// sipWebhookSecret is the signing secret of the webhooks dev --sip receives: the
// endpoint's it created, or OPENAI_WEBHOOK_SECRET's.
func (d *devSession) sipWebhookSecret() string {
	if held := d.heldSecrets(); len(held) > 0 {
		return held[0]
	}
	return d.o.WebhookSecret
}

// provisionSIP creates the webhook endpoint (or uses the user's), then puts the
// number on callagent's trunk. A failure undoes what provisionSIP did. The server
// runs already, on the tunnel whose URL the endpoint gets.
func (d *devSession) provisionSIP(ctx context.Context) error {
	o := d.o
	s := &devSIP{}
	d.sipProv = s
	hook := d.webhook()
	events := sipEvents(d.agents.current().cfg.Model)
	if o.WebhookSecret != "" {
		d.steps.note(d.st.Dim.Render("·"), fmt.Sprintf("OPENAI_WEBHOOK_SECRET is set: your own webhook endpoint is used (none is created); "+
			"it must send %s to %s", strings.Join(events, ", "), hook))
	} else {
		var err error
		if s.hooks, err = openaiwebhook.New(openaiwebhook.Options{BaseURL: o.BaseURL, APIKey: o.APIKey}); err != nil {
			return &UsageError{Err: err}
		}
		d.deleteAbandonedEndpoints(ctx)
		err = d.steps.run("Creating an OpenAI webhook endpoint for "+hook, func() (string, error) {
			host := "dev"
			if u, err := url.Parse(hook); err == nil {
				host = u.Host
			}
			ep, secret, err := s.hooks.Create(ctx, "callagent dev "+host, hook, events)
			if err != nil {
				return "", err
			}
			s.endpoint, s.secret = ep.ID, secret
			if err := d.prov.Hold(heldWebhook, ep.ID); err != nil {
				d.steps.note(d.st.Error.Render("!"), fmt.Sprintf("the webhook endpoint %s could not be recorded in the state directory (%v): if dev is killed, delete it in the project's settings", ep.ID, err))
			}
			return fmt.Sprintf("Webhook endpoint %s: %s → %s (its signing secret is kept in memory only)", ep.ID, strings.Join(events, ", "), hook), nil
		})
		if err != nil {
			var e *openaiwebhook.Error
			if errors.As(err, &e) && e.Denied() {
				return fmt.Errorf("%w\n%s", err, manualWebhookHelp(hook, events))
			}
			return err
		}
	}
	uri := o.uri()
	err := d.steps.run("Putting "+d.number.PhoneNumber+" on callagent's SIP trunk to "+uri, func() (string, error) {
		trunk, err := d.prov.PointSIP(ctx, d.number, provision.SIPOptions{URI: uri, TakeOver: o.TakeOver || d.takeDev})
		if err != nil {
			var se *provision.SIPStepError
			d.pointed = errors.As(err, &se) && se.Undo != nil // left half done: stop tries again
			return "", err
		}
		d.pointed = true
		return fmt.Sprintf("%s → SIP trunk %s (%s) → %s", d.number.PhoneNumber, trunk.SID, trunk.DomainName, uri), nil
	})
	if err != nil {
		if derr := d.deleteEndpoint(ctx); derr != nil {
			return errors.Join(err, derr)
		}
	}
	return err
}

// deleteEndpoint deletes the webhook endpoint dev created, if it did.
func (d *devSession) deleteEndpoint(ctx context.Context) error {
	s := d.sipProv
	if s == nil || s.endpoint == "" {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), devRestoreTimeout)
	defer cancel()
	id := s.endpoint
	return d.steps.run("Deleting the OpenAI webhook endpoint "+id, func() (string, error) {
		if err := s.hooks.Delete(rctx, id); err != nil {
			return "", fmt.Errorf("%w (it is deleted on the next start of dev --sip, or delete it in the project's settings: https://platform.openai.com/settings/project/webhooks)", err)
		}
		s.endpoint = ""
		_ = d.prov.Release(heldWebhook, id)
		return "Webhook endpoint " + id + " deleted", nil
	})
}

// deleteAbandonedEndpoints deletes the webhook endpoints of devs that were killed.
func (d *devSession) deleteAbandonedEndpoints(ctx context.Context) {
	ids, err := d.prov.Abandoned(heldWebhook)
	if err != nil {
		d.steps.note(d.st.Error.Render("!"), err.Error())
	}
	for _, id := range ids {
		if err := d.sipProv.hooks.Delete(ctx, id); err != nil {
			d.steps.note(d.st.Error.Render("!"), fmt.Sprintf("the webhook endpoint %s of a dev that did not stop cleanly could not be deleted: %v", id, err))
			continue
		}
		_ = d.prov.Release(heldWebhook, id)
		d.steps.note(d.st.OK.Render("✓"), fmt.Sprintf("Deleted webhook endpoint %s: a previous dev --sip did not stop cleanly", id))
	}
}

// manualWebhookHelp says how to make the webhook endpoint by hand when the key
// cannot.
func manualWebhookHelp(hook string, events []string) string {
	return fmt.Sprintf(`The API key cannot manage the project's webhook endpoints (a restricted key, or an older project). Make one by hand:
  1. Open https://platform.openai.com/settings/project/webhooks (the project of the SIP calls) and create an endpoint.
  2. URL: %s
     (ngrok's URL changes at each start: use --domain with a domain reserved in ngrok, or --public-url)
  3. Events: %s
  4. Copy its signing secret (whsec_…) and give it to callagent: export OPENAI_WEBHOOK_SECRET=whsec_… (or put it in .env)
  5. Start callagent dev --sip again: it uses that endpoint and creates none. Nothing was changed on Twilio.`,
		hook, strings.Join(events, ", "))
}
