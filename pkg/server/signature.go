package server

import (
	"net/http"
	"net/url"
	"strings"

	twclient "github.com/twilio/twilio-go/client"
)

// SignatureHeader is the header Twilio signs every request with.
const SignatureHeader = "X-Twilio-Signature"

// verifier checks X-Twilio-Signature against the public URL the request was sent to.
// Behind a tunnel or proxy the Host header is not what Twilio signed, so the URL is
// always rebuilt from the configured public base, never from the request.
type verifier struct {
	public    *url.URL // scheme://host/prefix that maps to this server's root
	validator *twclient.RequestValidator
}

func newVerifier(public *url.URL, authToken string) *verifier {
	if authToken == "" {
		return nil
	}
	v := twclient.NewRequestValidator(authToken)
	return &verifier{public: public, validator: &v}
}

// publicURL is the URL of r as Twilio sees it, with scheme (https or wss) given.
func (v *verifier) publicURL(r *http.Request, scheme string) string {
	u := *v.public
	u.Scheme = scheme
	u.Path = strings.TrimSuffix(u.Path, "/") + r.URL.Path
	u.RawPath = ""
	u.RawQuery = r.URL.RawQuery
	return u.String()
}

// webhook checks a webhook request. For a POST the form body, already read, is part
// of the signature; for a GET the query is (it is in the URL).
func (v *verifier) webhook(r *http.Request, body []byte) bool {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return false
	}
	u := v.publicURL(r, v.public.Scheme)
	if r.Method == http.MethodPost {
		return v.validator.ValidateBody(u, body, sig)
	}
	return v.validator.Validate(u, nil, sig)
}

// stream checks a Media Streams WebSocket upgrade: signed over the wss:// URL Twilio
// connected to, which some setups report in its https:// spelling; both are accepted.
func (v *verifier) stream(r *http.Request) bool {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return false
	}
	return v.validator.Validate(v.publicURL(r, wsScheme(v.public.Scheme)), nil, sig) ||
		v.validator.Validate(v.publicURL(r, v.public.Scheme), nil, sig)
}
