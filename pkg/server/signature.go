package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
	key       []byte // of the stream tokens
}

func newVerifier(public *url.URL, authToken string) *verifier {
	if authToken == "" {
		return nil
	}
	v := twclient.NewRequestValidator(authToken)
	mac := hmac.New(sha256.New, []byte(authToken))
	mac.Write([]byte("callagent stream token key"))
	return &verifier{public: public, validator: &v, key: mac.Sum(nil)}
}

// StreamTokenParameter is the <Stream> parameter that carries a call's stream
// token. The upgrade's signature covers only the URL, the same for every call, so
// one leaked header would open a stream for any CallSid; the token, given in the
// TwiML answer to the call's signed webhook and echoed by Twilio in the stream's
// start, ties the stream to that call. It is removed from the parameters before
// anything sees them.
const StreamTokenParameter = "callagent_stream_token"

// streamToken is callSID's token: an HMAC keyed from the auth token.
func (v *verifier) streamToken(callSID string) string {
	mac := hmac.New(sha256.New, v.key)
	mac.Write([]byte(callSID))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// streamStart checks the token a stream's start carries for its call.
func (v *verifier) streamStart(callSID, token string) bool {
	return hmac.Equal([]byte(token), []byte(v.streamToken(callSID)))
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
