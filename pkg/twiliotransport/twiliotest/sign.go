package twiliotest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
)

// Sign computes X-Twilio-Signature as Twilio does, so a simulated Twilio passes a
// server's signature checks: base64(HMAC-SHA1(auth token, URL + each POST parameter's
// name and value, sorted by name)).
func Sign(authToken, rawURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(rawURL))
	for _, k := range keys {
		mac.Write([]byte(k))
		mac.Write([]byte(params.Get(k)))
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
