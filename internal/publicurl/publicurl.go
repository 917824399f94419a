// Package publicurl is the one rule for the public base URL Twilio reaches
// callagent at (dev's and serve's --public-url, the server's configuration, a
// tunnel the user runs), so the same value is accepted or refused everywhere
// with the same reason.
package publicurl

import (
	"fmt"
	"net/url"
	"strings"
)

// Example ends the errors with what a good URL looks like.
const Example = "want an absolute https URL, like https://agent.example.com"

// Error says why a public URL was refused. Input has any password hidden.
type Error struct {
	Input  string
	Reason string
	// HTTP is set when the URL was refused only for being http: the caller may name
	// its explicit opt-in (ParseInsecureHTTP).
	HTTP bool
}

func (e *Error) Error() string { return fmt.Sprintf("public URL %q: %s", e.Input, e.Reason) }

// ReasonHTTP is why an http public URL is refused.
const ReasonHTTP = "Twilio streams calls only to wss:// URLs, and an http public URL makes the stream URL ws:// " +
	"(every call would fail at the stream): use the https URL of your tunnel or proxy"

// Parse checks a public base URL and returns it without a trailing slash. Twilio
// reaches it from the internet and signs its requests over it, so it must be
// https with a host (http would give ws:// stream URLs, which Twilio refuses), and
// carry nothing the signature or the TwiML would carry by accident: no user info,
// query or fragment. A path is kept (a proxy may mount callagent under one).
//
// Spaces around the URL are an error, not trimmed: a quoted value with a stray
// space is a mistake in a manifest or a script.
func Parse(s string) (string, error) { return parse(s, false) }

// ParseInsecureHTTP is Parse that also accepts http URLs. No real call can stream
// to one: it is for tests on loopback and local experiments with a simulated
// caller, behind an explicit opt-in.
func ParseInsecureHTTP(s string) (string, error) { return parse(s, true) }

func parse(s string, allowHTTP bool) (string, error) {
	if s != strings.TrimSpace(s) {
		return "", &Error{Input: s, Reason: "remove the spaces around it"}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return "", &Error{Input: redacted(s, u), Reason: Example}
	}
	if u.User != nil { // it would be in the TwiML and the logs; Twilio signs without it
		return "", &Error{Input: u.Redacted(), Reason: "remove the user info"}
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", &Error{Input: s, Reason: "remove the query and fragment"}
	}
	if u.Scheme == "http" && !allowHTTP {
		return "", &Error{Input: s, Reason: ReasonHTTP, HTTP: true}
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// redacted is s with its password hidden, when it parsed far enough to have one.
func redacted(s string, u *url.URL) string {
	if u != nil && u.User != nil {
		return u.Redacted()
	}
	return s
}
