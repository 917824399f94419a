package sipcall

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Deliver retries a webhook the endpoint did not take, with the same webhook-id and
// a fresh valid signature each time, and stops at the first 2xx; a forged one
// never verifies.
func TestDeliverRetriesSigned(t *testing.T) {
	const secret = SecretPrefix + "c2VjcmV0LWZvci1kZWxpdmVyeQ=="
	var ids []string
	var verified []error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ids = append(ids, r.Header.Get(HeaderID))
		verified = append(verified, Verify(secret, r.Header, body, time.Now()))
		if len(ids) < 2 {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	var got []Delivery
	o := DeliverOptions{URL: srv.URL, Secret: secret, RetryDelay: time.Millisecond}
	err := Deliver(context.Background(), o, "wh_1", []byte(`{"type":"realtime.call.incoming"}`), func() bool { return true },
		func(d Delivery) { got = append(got, d) })
	if err != nil || len(got) != 2 || got[0].Status != http.StatusBadGateway || got[1].Status != http.StatusOK {
		t.Fatalf("err %v, deliveries %+v", err, got)
	}
	for i, id := range ids {
		if id != "wh_1" || verified[i] != nil {
			t.Errorf("attempt %d: id %q, verify %v", i, id, verified[i])
		}
	}

	ids, verified = nil, nil
	o.BadSignature, o.Attempts = true, 1
	err = Deliver(context.Background(), o, "wh_2", []byte(`{}`), func() bool { return true }, func(Delivery) {})
	if err == nil || !errors.Is(verified[0], ErrBadSignature) {
		t.Fatalf("forged delivery: err %v, verify %v", err, verified)
	}
}
