package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
// credential. The upgrade's signature covers only the URL, the same for every
// call, so one captured upgrade header would open a stream for any call; the
// credential, given in the TwiML answer to the call's signed webhook and echoed by
// Twilio in the stream's start, ties the stream to that call and that answer. It
// is removed from the parameters before anything sees them.
//
// A credential is expiry.nonce.mac: the expiry (Unix milliseconds, the end of the
// pre-dial window), a random nonce, and an HMAC of the CallSid, expiry and nonce
// keyed from the auth token. It verifies on any instance with the same auth token
// (a load balancer may send the stream to another instance than the webhook); that
// it is used once is enforced by each instance, by CallSid (admitStream).
const StreamTokenParameter = "callagent_stream_token"

// Why streamStart refuses a credential.
const (
	tokenMissing = "missing"
	tokenInvalid = "invalid"
	tokenExpired = "expired"
)

// streamToken returns a new credential for a stream of callSID, good until expires.
func (v *verifier) streamToken(callSID string, expires time.Time) string {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand)
	exp, n := strconv.FormatInt(expires.UnixMilli(), 10), hex.EncodeToString(nonce[:])
	return exp + "." + n + "." + v.tokenMAC(callSID, exp, n)
}

func (v *verifier) tokenMAC(callSID, exp, nonce string) string {
	mac := hmac.New(sha256.New, v.key)
	// Length-prefixed: no two (CallSid, expiry, nonce) share an input.
	fmt.Fprintf(mac, "stream v2|%d:%s|%d:%s|%d:%s", len(callSID), callSID, len(exp), exp, len(nonce), nonce)
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// streamStart checks the credential a stream's start carries for callSID at now:
// "" when it is good, else why not (tokenMissing, tokenInvalid, tokenExpired).
func (v *verifier) streamStart(callSID, token string, now time.Time) string {
	if token == "" {
		return tokenMissing
	}
	exp, rest, ok1 := strings.Cut(token, ".")
	nonce, mac, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || !hmac.Equal([]byte(mac), []byte(v.tokenMAC(callSID, exp, nonce))) {
		return tokenInvalid
	}
	ms, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return tokenInvalid
	}
	if !now.Before(time.UnixMilli(ms)) {
		return tokenExpired
	}
	return ""
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
