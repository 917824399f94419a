package sipcall

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers OpenAI signs its webhooks with (OpenAI's webhooks
// guide; the realtime-sip guide's example request).
const (
	HeaderID        = "webhook-id"        // unique per event, the same on every retry: the dedupe key
	HeaderTimestamp = "webhook-timestamp" // unix seconds of this delivery attempt
	HeaderSignature = "webhook-signature" // space-separated "v1,<base64 HMAC-SHA256>"
)

// Tolerance is how far a webhook's timestamp may be from now: the openai SDKs'
// default (webhooks.verifySignature, tolerance 300 s, both directions) and Standard
// Webhooks'.
const Tolerance = 5 * time.Minute

// SecretPrefix starts OpenAI's webhook signing secrets; the rest is the base64 key.
const SecretPrefix = "whsec_"

// maxSignatures bounds the entries of a webhook-signature header looked at (OpenAI
// sends one per active secret: one, two while a secret rotates).
const maxSignatures = 16

// key returns the HMAC key of a signing secret: the base64-decoded part after
// whsec_, or, without the prefix, the secret's bytes as they are (what the openai
// SDKs do with a secret lacking the prefix).
func key(secret string) ([]byte, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return nil, fmt.Errorf("%w: it is empty", ErrBadSecret)
	}
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) == 0 {
		// Never the secret itself in the error.
		return nil, fmt.Errorf("%w: the part after %s is not base64", ErrBadSecret, SecretPrefix)
	}
	return k, nil
}

func sign(k []byte, id, ts string, body []byte) string {
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks a webhook's Standard Webhooks signature: HMAC-SHA256 with the
// secret's key over "webhook-id.webhook-timestamp.body", any one of the v1 entries
// of webhook-signature matching (compared in constant time), the timestamp within
// Tolerance of now. body must be the request body exactly as received. Failures
// wrap ErrUnsigned, ErrBadSignature, ErrStale or ErrBadSecret.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	k, err := key(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	switch {
	case id == "":
		return fmt.Errorf("%w: no %s header", ErrUnsigned, HeaderID)
	case ts == "":
		return fmt.Errorf("%w: no %s header", ErrUnsigned, HeaderTimestamp)
	case strings.TrimSpace(sigs) == "":
		return fmt.Errorf("%w: no %s header", ErrUnsigned, HeaderSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not unix seconds", ErrBadSignature, HeaderTimestamp)
	}
	// Compared in seconds, so no overflow for absurd values.
	if d := now.Unix() - sec; d > int64(Tolerance/time.Second) || d < -int64(Tolerance/time.Second) {
		return fmt.Errorf("%w: %s is %s from now", ErrStale, HeaderTimestamp, describeSkew(d))
	}
	want := []byte(sign(k, id, ts, body))
	n := 0
	for entry := range strings.FieldsSeq(sigs) {
		if n++; n > maxSignatures {
			break
		}
		// Only v1 (HMAC-SHA256) entries count; Standard Webhooks reserves other
		// versions (v1a: asymmetric) that this secret cannot check.
		got, ok := strings.CutPrefix(entry, "v1,")
		if ok && hmac.Equal([]byte(got), want) {
			return nil
		}
	}
	return fmt.Errorf("%w (webhook-id %q)", ErrBadSignature, printable(id))
}

func describeSkew(d int64) string {
	if d < 0 {
		return (time.Duration(-d) * time.Second).String() + " ahead"
	}
	return (time.Duration(d) * time.Second).String() + " behind"
}

// printable cuts an untrusted header value for an error: at most 64 bytes of
// printable ASCII.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// Sign returns the Standard Webhooks headers OpenAI would send with body: for twins
// and tests.
func Sign(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	k, err := key(secret)
	if err != nil {
		return nil, err
	}
	t := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, t)
	h.Set(HeaderSignature, "v1,"+sign(k, id, t, body))
	return h, nil
}
