// Package twilioapi builds twilio-go REST clients for callagent's Twilio leaves (call
// control in twiliotransport, number provisioning in provision): credentials from an
// account SID with an auth token or an API key pair, an injectable HTTP client, and a
// base URL override that sends every request to another host (a regional edge, or a
// fake API on loopback in tests) while the real twilio-go client does the work.
package twilioapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// Credentials authenticate to Twilio's REST API: the account SID with either its
// auth token or an API key SID and secret.
type Credentials struct {
	AccountSID string
	AuthToken  string
	APIKey     string
	APISecret  string
}

// Check reports what is missing, saying which variables to set.
func (c Credentials) Check() error {
	switch {
	case c.AccountSID == "":
		return errors.New("TWILIO_ACCOUNT_SID is not set: export it or put it in .env")
	case c.APIKey != "" && c.APISecret == "":
		return errors.New("TWILIO_API_KEY is set without TWILIO_API_SECRET: set both, or use TWILIO_AUTH_TOKEN")
	case c.APIKey == "" && c.AuthToken == "":
		return errors.New("TWILIO_AUTH_TOKEN is not set (or TWILIO_API_KEY and TWILIO_API_SECRET): export it or put it in .env")
	}
	for name, v := range map[string]string{"TWILIO_ACCOUNT_SID": c.AccountSID, "TWILIO_AUTH_TOKEN": c.AuthToken,
		"TWILIO_API_KEY": c.APIKey, "TWILIO_API_SECRET": c.APISecret} {
		if !alphanumeric(v) {
			return fmt.Errorf("%s has characters Twilio credentials never have (only letters and digits): check for quotes or spaces around it", name)
		}
	}
	return nil
}

func alphanumeric(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Options configure New.
type Options struct {
	Credentials
	// BaseURL replaces https://api.twilio.com (CALLAGENT_TWILIO_API_URL).
	BaseURL string
	// HTTPClient sends the requests (default: 10 s timeout, no redirects).
	HTTPClient *http.Client
}

// New returns the API v2010 service for opts.
func New(opts Options) (*openapi.ApiService, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	hc = &http.Client{ // twilio-go expects not to follow redirects
		Transport: hc.Transport, Timeout: hc.Timeout, Jar: hc.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if opts.BaseURL != "" {
		base, err := url.Parse(opts.BaseURL)
		if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
			return nil, fmt.Errorf("the Twilio API URL %q (CALLAGENT_TWILIO_API_URL): want http(s)://host", opts.BaseURL)
		}
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		hc.Transport = rebase{base: base, next: next}
	}
	user, pass := opts.AccountSID, opts.AuthToken
	if opts.APIKey != "" {
		user, pass = opts.APIKey, opts.APISecret
	}
	c := &twclient.Client{Credentials: twclient.NewCredentials(user, pass), HTTPClient: hc}
	c.SetAccountSid(opts.AccountSID)
	return openapi.NewApiServiceWithClient(c), nil
}

// rebase sends requests to another scheme and host, keeping path and query.
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

func (r rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme = r.base.Scheme
	out.URL.Host = r.base.Host
	out.URL.Path = strings.TrimSuffix(r.base.Path, "/") + req.URL.Path
	out.Host = r.base.Host
	return r.next.RoundTrip(out)
}

// Status returns the HTTP status of a twilio-go error, or 0.
func Status(err error) int {
	var re *twclient.TwilioRestError
	if errors.As(err, &re) {
		return re.Status
	}
	return 0
}

// Describe turns a twilio-go error into a short sentence for users, without the
// request's credentials (twilio-go never puts them in errors; this keeps it that way).
func Describe(err error) string {
	var re *twclient.TwilioRestError
	if errors.As(err, &re) {
		switch re.Status {
		case http.StatusUnauthorized:
			return "Twilio rejected the credentials (HTTP 401): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
		case http.StatusNotFound:
			return fmt.Sprintf("not found on Twilio (HTTP 404): %s", re.Message)
		}
		return fmt.Sprintf("Twilio API error %d (HTTP %d): %s", re.Code, re.Status, re.Message)
	}
	return err.Error()
}
