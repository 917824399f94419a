package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/tunnel"
	"github.com/callagent/callagent/pkg/twiliorest"
)

// What dev and serve check before they start, the fast part of doctor: every
// missing setting at once (missingSettings, from resolve), then the OpenAI key with
// access to the configured models and, for dev, the Twilio credentials
// (startupChecks, once the configuration is loaded). A failed check stops the
// command before anything is opened or changed; --skip-checks skips the requests.

// startupChecks is the --skip-checks flag of dev and serve and the checks it skips.
type startupChecks struct {
	Skip bool
}

// startupCheckTimeout bounds the checks at start: a service slower than this is
// reported as a warning and the command goes on.
const startupCheckTimeout = 5 * time.Second

func (s *startupChecks) flags(fl *pflag.FlagSet) {
	fl.BoolVar(&s.Skip, "skip-checks", false, "start without first checking that OpenAI accepts the key for the model (and, for dev, that Twilio accepts the credentials)")
}

// run makes the checks: the OpenAI key and model access for cfg, and Twilio's
// credentials when twilio is not nil, concurrently. It returns every result, and
// an error naming each failed check with its fix.
func (s startupChecks) run(ctx context.Context, f *Factory, c *commonOptions, cfg *agent.Config, twilio *twiliorest.Credentials) ([]checkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, startupCheckTimeout)
	defer cancel()
	client := func() *http.Client {
		hc := &http.Client{Timeout: startupCheckTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if f.HTTPClient != nil {
			hc.Transport = f.HTTPClient.Transport
		}
		return hc
	}
	var key, model, tw checkResult
	var wg sync.WaitGroup
	wg.Go(func() { key, model = checkOpenAI(ctx, client(), c.BaseURL, c.APIKey, configModels(cfg)) })
	if twilio != nil {
		wg.Go(func() {
			tw = twilioCheck{creds: *twilio, baseURL: f.Env.Get("CALLAGENT_TWILIO_API_URL"), hc: client()}.account(ctx)
		})
	}
	wg.Wait()
	results := []checkResult{key, model}
	if twilio != nil {
		results = append(results, tw)
	}
	var failed []string
	for _, r := range results {
		if r.Verdict == verdictFail {
			failed = append(failed, fmt.Sprintf("%s: %s.\n  %s", r.Title, r.Detail, r.Fix))
		}
	}
	if len(failed) > 0 {
		return results, &UsageError{Err: errors.New(strings.Join(failed, "\n") +
			"\n(callagent doctor checks everything a call needs; --skip-checks starts without these checks)")}
	}
	return results, nil
}

// summary says in one line what the checks found good.
func checksSummary(results []checkResult) string {
	var parts []string
	for _, r := range results {
		if r.Verdict == verdictOK {
			parts = append(parts, r.Detail)
		}
	}
	return strings.Join(parts, " · ")
}

// startupChecks checks the OpenAI key for cfg and, unless --no-provision, the
// Twilio credentials, as a step of dev's start.
func (d *devSession) startupChecks(ctx context.Context, cfg *agent.Config) error {
	if d.o.startupChecks.Skip {
		return nil
	}
	var twilio *twiliorest.Credentials
	title := "Checking the OpenAI key"
	if !d.o.NoProvision && (!d.sip || d.sipProvisioning()) {
		creds := twilioCredentials(d.f.Env)
		twilio = &creds
		title += " and the Twilio credentials"
	}
	var results []checkResult
	err := d.steps.run(title, func() (string, error) {
		var err error
		results, err = d.o.startupChecks.run(ctx, d.f, &d.o.commonOptions, cfg, twilio)
		return checksSummary(results), err
	})
	for _, r := range results {
		if r.Verdict == verdictWarn {
			d.steps.note(d.st.Error.Render("!"), r.Title+": "+r.Detail+" ("+r.Fix+")")
		}
	}
	return err
}

// serveStartupChecks checks the OpenAI key for cfg before serve listens, and logs
// what it found.
func (s startupChecks) serve(ctx context.Context, f *Factory, c *commonOptions, cfg *agent.Config, log *slog.Logger) error {
	if s.Skip {
		return nil
	}
	results, err := s.run(ctx, f, c, cfg, nil)
	for _, r := range results {
		if r.Verdict == verdictWarn {
			log.Warn("startup check: "+r.Title, "problem", r.Detail, "fix", r.Fix)
		}
	}
	if err == nil {
		log.Info("startup checks passed", "openai", checksSummary(results))
	}
	return err
}

// account is the credentials' part of the Twilio check: fetching the account.
func (t twilioCheck) account(ctx context.Context) checkResult {
	res, _, _ := t.fetchAccount(ctx)
	return res
}

// missingSettings reports, in one error, every setting dev cannot start without:
// the OpenAI key, the ngrok token (without --public-url), Twilio's credentials
// (unless --no-provision) and the auth token that checks webhook signatures
// (unless --insecure-skip-signature).
func (o *devOptions) missingSettings(env *Env) error {
	var missing []string
	if err := o.requireAPIKey(); err != nil {
		missing = append(missing, err.Error())
	}
	if o.PublicURL == "" && strings.TrimSpace(o.NgrokToken) == "" {
		missing = append(missing, tunnel.ErrNoAuthtoken.Error())
	}
	signatures := !o.InsecureSkipSignature
	switch {
	case o.SIP && o.NoProvision: // the webhook endpoint is the user's: its secret
		missing = append(missing, sipMissing(env.Get(envWebhookSecret))...)
	case o.SIP: // no Twilio webhook to check: the webhooks are OpenAI's, signed with the endpoint's secret
		for _, m := range twilioMissing(twilioCredentials(env), false) {
			missing = append(missing, m+" (dev --sip puts your number on callagent's SIP trunk through Twilio's REST API; or pass --no-provision)")
		}
	case !o.NoProvision:
		for _, m := range twilioMissing(twilioCredentials(env), signatures) {
			missing = append(missing, m+" (dev points your number at this machine through Twilio's REST API; or pass --no-provision)")
		}
	case signatures && o.AuthToken == "":
		missing = append(missing, "TWILIO_AUTH_TOKEN is not set: dev checks with it that webhooks come from Twilio "+
			"(API keys cannot check signatures); set it, or pass --insecure-skip-signature for a local experiment")
	}
	return missingError(missing)
}

// missingSettings reports, in one error, every setting serve cannot start
// without: the OpenAI key, the public URL, and the auth token that checks webhook
// signatures (unless --insecure-skip-signature).
func (o *serveOptions) missingSettings() error {
	var missing []string
	if err := o.requireAPIKey(); err != nil {
		missing = append(missing, err.Error())
	}
	switch {
	case o.PublicURL == "" && o.SIP:
		missing = append(missing, "--public-url is not set: give the https URL OpenAI's incoming-call webhooks reach this server at "+
			"(the endpoint is PUBLIC_URL/openai-webhook; or set CALLAGENT_PUBLIC_URL)")
	case o.PublicURL == "":
		missing = append(missing, "--public-url is not set: give the https URL Twilio reaches this server at (or set CALLAGENT_PUBLIC_URL)")
	}
	switch {
	case o.SIP:
		missing = append(missing, sipMissing(o.WebhookSecret)...)
	case o.AuthToken == "" && !o.InsecureSkipSignature:
		missing = append(missing, "TWILIO_AUTH_TOKEN is not set: serve checks with it that requests come from Twilio (export it or put it in .env)")
	}
	return missingError(missing)
}

func missingError(missing []string) error {
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return &UsageError{Err: errors.New(missing[0])}
	}
	return &UsageError{Err: fmt.Errorf("%d settings are missing:\n  %s", len(missing), strings.Join(missing, "\n  "))}
}
