package cmd

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/twiliorest"
)

// twilioCredentials reads the Twilio REST credentials from the environment.
func twilioCredentials(env *Env) twiliorest.Credentials {
	return twiliorest.Credentials{AccountSID: env.Get("TWILIO_ACCOUNT_SID"), AuthToken: env.Get("TWILIO_AUTH_TOKEN"),
		APIKey: env.Get("TWILIO_API_KEY"), APISecret: env.Get("TWILIO_API_SECRET")}
}

// newTwilioREST builds the Twilio REST client from the environment: credentials and
// CALLAGENT_TWILIO_API_URL. Its errors say what to set or fix.
func newTwilioREST(env *Env) (*twiliorest.Client, error) {
	return twiliorest.New(twiliorest.Options{Credentials: twilioCredentials(env), BaseURL: env.Get("CALLAGENT_TWILIO_API_URL"),
		TrunkingBaseURL: env.Get("CALLAGENT_TWILIO_TRUNKING_URL")})
}

// chooseNumber turns Find's "several numbers" into a usage error naming the flag
// that chooses; other errors pass.
func chooseNumber(err error, flag string) error {
	var several *provision.SeveralNumbersError
	if errors.As(err, &several) {
		return usageErrorf("%v: choose one with %s", err, flag)
	}
	return err
}

// newProvisioner builds the number provisioner from the environment: credentials,
// CALLAGENT_TWILIO_API_URL and the state directory. Missing credentials are a usage
// error that says what to set.
func newProvisioner(env *Env) (*provision.Provisioner, error) {
	if err := twilioCredentials(env).Check(); err != nil {
		return nil, usageErrorf("%v (the Account SID and Auth Token are on https://console.twilio.com)", err)
	}
	dir, err := provision.StateDir(env.Get)
	if err != nil {
		return nil, err
	}
	rest, err := newTwilioREST(env)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	p, err := provision.New(rest, provision.Options{StateDir: dir})
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return p, nil
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// checkE164 reports a phone number not in E.164 form (+14155550100).
func checkE164(flag, number string) error {
	if !e164.MatchString(number) {
		return commandLineError(fmt.Errorf("%s %q: give the number in E.164 form, like +14155550100 (plus, country code, number; no spaces)", flag, number))
	}
	return nil
}
