package cmd

import (
	"fmt"
	"net/url"
	"strings"
)

// publicURLExample ends the errors of --public-url with what a good one looks like.
const publicURLExample = "want an absolute https URL, like https://agent.example.com"

// parsePublicURL checks the --public-url of dev and serve (or CALLAGENT_PUBLIC_URL)
// and returns it without a trailing slash. Twilio reaches it from the internet and
// signs its requests over it, so it must be http(s) with a host, and nothing the
// signature or the TwiML would carry by accident: no user info, query or fragment.
// A path is kept (a proxy may mount callagent under one).
//
// Spaces around the URL are an error, not trimmed: a quoted value with a stray space
// is a mistake in a manifest or a script, and serve always refused it; dev used to
// trim it, so the same value passed one command and failed the other.
func parsePublicURL(s string) (string, error) {
	if s != strings.TrimSpace(s) {
		return "", commandLineError(fmt.Errorf("--public-url %q: remove the spaces around it", s))
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return "", commandLineError(fmt.Errorf("--public-url %q: %s", s, publicURLExample))
	}
	if u.User != nil { // it would be in the TwiML and the logs; Twilio signs without it
		return "", commandLineError(fmt.Errorf("--public-url %q: remove the user info", u.Redacted()))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", commandLineError(fmt.Errorf("--public-url %q: remove the query and fragment", s))
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}
