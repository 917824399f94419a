package cmd

import (
	"errors"
	"fmt"

	"github.com/callagent/callagent/internal/publicurl"
)

// insecureHTTPFlag accepts an http --public-url in dev and serve.
const insecureHTTPFlag = "insecure-http-public-url"

// insecureHTTPUsage is the flag's help: what it is for, and why no real call works.
const insecureHTTPUsage = "accept an http --public-url (Twilio cannot stream to the ws:// URL it gives: local experiments with a simulated caller only)"

// parsePublicURL checks the --public-url of dev, serve and call (or
// CALLAGENT_PUBLIC_URL) by publicurl's rule, the one the server and the local
// tunnel apply too, and names the flag in the error. allowHTTP is dev's and
// serve's --insecure-http-public-url; call has no such flag: it places a real call.
func parsePublicURL(s string, allowHTTP bool) (string, error) {
	parse := publicurl.Parse
	if allowHTTP {
		parse = publicurl.ParseInsecureHTTP
	}
	u, err := parse(s)
	var pe *publicurl.Error
	if errors.As(err, &pe) {
		reason := pe.Reason
		if pe.HTTP {
			reason += " (--" + insecureHTTPFlag + " accepts it, for a local experiment that no real call can reach)"
		}
		return "", commandLineError(fmt.Errorf("--public-url %q: %s", pe.Input, reason))
	}
	return u, err
}
