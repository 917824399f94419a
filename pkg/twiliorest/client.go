// Package twiliorest is callagent's use of Twilio's REST API: the client (account
// SID with an auth token or an API key pair, an injectable HTTP client, a base URL
// override for regional edges and fakes on loopback), calls in progress (Hangup,
// Redirect for transfers), outbound calls (CreateCall), the account itself
// (FetchAccount: do the credentials work?) and the account's incoming phone numbers
// (ListNumbers, FetchNumber, UpdateNumber: their voice settings).
// Every failure Twilio answers comes back as an *Error that errors.As reaches through
// any wrapping, with a short sentence for users that never holds a credential.
//
// The real twilio-go client does the HTTP work; this package keeps its types to
// itself. It is not Media Streams (pkg/twiliotransport), webhook signatures or TwiML
// (pkg/server), and it keeps no state: saving and restoring a number's settings is
// pkg/provision's job. The fake API for tests is in twiliorestest.
package twiliorest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	trunking "github.com/twilio/twilio-go/rest/trunking/v1"

	"github.com/callagent/callagent/internal/retry"
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
	// TrunkingBaseURL replaces https://trunking.twilio.com, the Elastic SIP
	// Trunking API's host (CALLAGENT_TWILIO_TRUNKING_URL).
	TrunkingBaseURL string
	// HTTPClient sends the requests (default: 10 s timeout, no redirects).
	HTTPClient *http.Client
	// Retry bounds the retries after HTTP 429 or 5xx of the requests that are safe
	// to repeat (reads and idempotent updates; never CreateCall).
	Retry retry.Policy
}

// Client speaks Twilio's REST API for one account. It is safe for concurrent use.
type Client struct {
	api     *openapi.ApiService
	trunk   *trunking.ApiService
	account string
	retry   retry.Policy
}

// New checks the credentials and the base URL and returns a Client; its errors say
// which variable to fix.
func New(opts Options) (*Client, error) {
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
	hosts := map[string]*url.URL{}
	for _, b := range []struct{ host, base, name string }{
		{"api.twilio.com", opts.BaseURL, "the Twilio API URL %q (CALLAGENT_TWILIO_API_URL): want http(s)://host"},
		{"trunking.twilio.com", opts.TrunkingBaseURL, "the Twilio trunking API URL %q (CALLAGENT_TWILIO_TRUNKING_URL): want http(s)://host"},
	} {
		if b.base == "" {
			continue
		}
		base, err := url.Parse(b.base)
		if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
			return nil, fmt.Errorf(b.name, b.base)
		}
		hosts[b.host] = base
	}
	if len(hosts) > 0 {
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		hc.Transport = rebase{hosts: hosts, next: next}
	}
	user, pass := opts.AccountSID, opts.AuthToken
	if opts.APIKey != "" {
		user, pass = opts.APIKey, opts.APISecret
	}
	c := &twclient.Client{Credentials: twclient.NewCredentials(user, pass), HTTPClient: hc}
	c.SetAccountSid(opts.AccountSID)
	return &Client{api: openapi.NewApiServiceWithClient(c), trunk: trunking.NewApiServiceWithClient(c), account: opts.AccountSID, retry: opts.Retry}, nil
}

// AccountSID is the account the client acts for.
func (c *Client) AccountSID() string { return c.account }

// rebase sends the requests for a Twilio host to another scheme and host (its
// base URL), keeping path and query; each API has its own host (api.twilio.com,
// trunking.twilio.com), so each has its own override, and a host without one is
// left alone.
type rebase struct {
	hosts map[string]*url.URL
	next  http.RoundTripper
}

func (r rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	base, ok := r.hosts[req.URL.Host]
	if !ok {
		return r.next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = base.Scheme
	out.URL.Host = base.Host
	out.URL.Path = strings.TrimSuffix(base.Path, "/") + req.URL.Path
	out.Host = base.Host
	return r.next.RoundTrip(out)
}
