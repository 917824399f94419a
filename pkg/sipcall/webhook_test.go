package sipcall

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The example of the Standard Webhooks specification (standard-webhooks README,
// "Verifying webhooks"): secret, id, timestamp, payload and its v1 signature.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestVerifySpecExample(t *testing.T) {
	h := http.Header{}
	h.Set(HeaderID, specID)
	h.Set(HeaderTimestamp, "1614265330")
	h.Set(HeaderSignature, specSig)
	if err := Verify(specSecret, h, []byte(specBody), time.Unix(specTS, 0)); err != nil {
		t.Fatal(err)
	}
	got, err := Sign(specSecret, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil || got.Get(HeaderSignature) != specSig {
		t.Fatalf("Sign = %q, %v; want %q", got.Get(HeaderSignature), err, specSig)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1750287078, 0)
	body := []byte(`{"object":"event","type":"realtime.call.incoming"}`)
	signed := func() http.Header {
		h, err := Sign(specSecret, "wh_1", now, body)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	other, _ := Sign("whsec_"+strings.Repeat("QUJD", 8), "wh_1", now, body)
	cases := []struct {
		name   string
		secret string
		h      func() http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", specSecret, signed, body, now, nil},
		{"valid at the edge of the tolerance", specSecret, signed, body, now.Add(Tolerance), nil},
		{"valid among a rotation's signatures", specSecret, func() http.Header {
			h := signed()
			h.Set(HeaderSignature, other.Get(HeaderSignature)+" "+h.Get(HeaderSignature))
			return h
		}, body, now, nil},
		{"unsigned", specSecret, func() http.Header { return http.Header{} }, body, now, ErrUnsigned},
		{"no id", specSecret, func() http.Header { h := signed(); h.Del(HeaderID); return h }, body, now, ErrUnsigned},
		{"no timestamp", specSecret, func() http.Header { h := signed(); h.Del(HeaderTimestamp); return h }, body, now, ErrUnsigned},
		{"blank signature", specSecret, func() http.Header { h := signed(); h.Set(HeaderSignature, "  "); return h }, body, now, ErrUnsigned},
		{"body changed", specSecret, signed, append([]byte(" "), body...), now, ErrBadSignature},
		{"id changed", specSecret, func() http.Header { h := signed(); h.Set(HeaderID, "wh_2"); return h }, body, now, ErrBadSignature},
		{"other secret", specSecret, func() http.Header { return other }, body, now, ErrBadSignature},
		{"signature without its version", specSecret, func() http.Header {
			h := signed()
			h.Set(HeaderSignature, strings.TrimPrefix(h.Get(HeaderSignature), "v1,"))
			return h
		}, body, now, ErrBadSignature},
		{"another version", specSecret, func() http.Header {
			h := signed()
			h.Set(HeaderSignature, "v1a,"+strings.TrimPrefix(h.Get(HeaderSignature), "v1,"))
			return h
		}, body, now, ErrBadSignature},
		{"timestamp not a number", specSecret, func() http.Header { h := signed(); h.Set(HeaderTimestamp, "1750287078.5"); return h }, body, now, ErrBadSignature},
		{"too old", specSecret, signed, body, now.Add(Tolerance + time.Second), ErrStale},
		{"too new", specSecret, signed, body, now.Add(-Tolerance - time.Second), ErrStale},
		{"empty secret", "", signed, body, now, ErrBadSecret},
		{"secret not base64", "whsec_!!!", signed, body, now, ErrBadSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, tc.h(), tc.body, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(specSecret, SecretPrefix)) {
				t.Fatalf("error %q holds the secret", err)
			}
		})
	}
}

func TestVerifySecretWithoutPrefixIsRawBytes(t *testing.T) {
	// The openai SDKs use a secret without whsec_ as its UTF-8 bytes.
	now := time.Now()
	h, err := Sign("plain-secret", "wh_1", now, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify("plain-secret", h, []byte("{}"), now); err != nil {
		t.Fatal(err)
	}
	if err := Verify("whsec_cGxhaW4tc2VjcmV0", h, []byte("{}"), now); err != nil {
		t.Fatalf("the same key, base64 after whsec_: %v", err)
	}
}

// FuzzVerify feeds Verify arbitrary headers: it never panics, accepts only what
// carries the right signature, and never puts the secret in its error.
func FuzzVerify(f *testing.F) {
	f.Add(specID, "1614265330", specSig, specBody)
	f.Add("", "", "", "")
	f.Add("wh_1", "-9223372036854775808", "v1,"+strings.Repeat("A", 44)+" v1,", "{}")
	f.Add("wh_1", "99999999999999999999", "v1, v1,,,", "x")
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := Verify(specSecret, h, []byte(body), time.Unix(specTS, 0))
		if err == nil {
			want, _ := Sign(specSecret, id, time.Unix(specTS, 0), []byte(body))
			if ts != want.Get(HeaderTimestamp) && !strings.HasPrefix(ts, "+") && !strings.HasPrefix(ts, "0") {
				t.Fatalf("accepted timestamp %q", ts)
			}
			if !strings.Contains(sig, strings.TrimPrefix(sign(mustKey(t), id, ts, []byte(body)), "")) {
				t.Fatalf("accepted a signature that is not the body's: %q", sig)
			}
		} else if strings.Contains(err.Error(), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
			t.Fatalf("error holds the secret: %v", err)
		}
	})
}

func mustKey(t *testing.T) []byte {
	k, err := key(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
