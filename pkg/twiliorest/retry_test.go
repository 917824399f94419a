package twiliorest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/retry"
	"github.com/callagent/callagent/pkg/twiliorest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

// retryingClient is a client whose backoff waits are recorded, not taken.
func retryingClient(t *testing.T) (*twiliorestest.API, *twiliorest.Client, *[]time.Duration) {
	api := &twiliorestest.API{AccountSID: acct, AuthToken: token}
	api.SetCall("CA1", "in-progress")
	api.AddNumber(twiliorestest.PhoneNumber{SID: "PN1", PhoneNumber: "+14155550100"})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	var waits []time.Duration
	c, err := twiliorest.New(twiliorest.Options{Credentials: twiliorest.Credentials{AccountSID: acct, AuthToken: token}, BaseURL: srv.URL,
		Retry: retry.Policy{Base: time.Millisecond, Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	return api, c, &waits
}

func count(api *twiliorestest.API, method, suffix string) int {
	n := 0
	for _, r := range api.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

// Reads and idempotent updates are tried again after 429 or 5xx, a bounded number
// of times; Redirect only after 429.
func TestRetriesWhereSafe(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, method, suffix string
		status, fails        int
		call                 func(c *twiliorest.Client) error
		tries                int
		ok                   bool
	}{
		{"list after 429", http.MethodGet, "/IncomingPhoneNumbers.json", 429, 1,
			func(c *twiliorest.Client) error { _, err := c.ListNumbers(ctx); return err }, 2, true},
		{"fetch after two 503", http.MethodGet, "/IncomingPhoneNumbers/PN1.json", 503, 2,
			func(c *twiliorest.Client) error { _, err := c.FetchNumber(ctx, "PN1"); return err }, 3, true},
		{"update number after 500", http.MethodPost, "/IncomingPhoneNumbers/PN1.json", 500, 1,
			func(c *twiliorest.Client) error {
				_, err := c.UpdateNumber(ctx, "PN1", twiliorest.VoiceUpdate{URL: new("https://example.com/incoming-call")})
				return err
			}, 2, true},
		{"hang up after 429", http.MethodPost, "/Calls/CA1.json", 429, 1,
			func(c *twiliorest.Client) error { return c.Hangup(ctx, "CA1") }, 2, true},
		{"redirect after 429", http.MethodPost, "/Calls/CA1.json", 429, 1,
			func(c *twiliorest.Client) error { return c.Redirect(ctx, "CA1", "<Response/>") }, 2, true},
		{"redirect not after 502", http.MethodPost, "/Calls/CA1.json", 502, 1,
			func(c *twiliorest.Client) error { return c.Redirect(ctx, "CA1", "<Response/>") }, 1, false},
		{"fetch gives up", http.MethodGet, "/IncomingPhoneNumbers/PN1.json", 429, 5,
			func(c *twiliorest.Client) error { _, err := c.FetchNumber(ctx, "PN1"); return err }, 3, false},
		{"no retry of a 400", http.MethodGet, "/IncomingPhoneNumbers/PN1.json", 400, 1,
			func(c *twiliorest.Client) error { _, err := c.FetchNumber(ctx, "PN1"); return err }, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, c, waits := retryingClient(t)
			api.FailNext(tt.method, tt.suffix, tt.status, tt.fails)
			err := tt.call(c)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if got := count(api, tt.method, tt.suffix); got != tt.tries {
				t.Errorf("%d tries, want %d", got, tt.tries)
			}
			if len(*waits) != tt.tries-1 {
				t.Errorf("waits %v for %d tries", *waits, tt.tries)
			}
			var re *twiliorest.Error
			if !tt.ok && (!errors.As(err, &re) || re.Status != tt.status) {
				t.Errorf("err %v, want an *Error with HTTP %d", err, tt.status)
			}
		})
	}
}

// An outbound call is placed at most once: a 5xx may come after Twilio placed it,
// and a second try would ring the person twice. Not even a 429 is retried.
func TestCreateCallIsNeverRetried(t *testing.T) {
	for _, status := range []int{429, 503} {
		api, c, waits := retryingClient(t)
		api.FailNext(http.MethodPost, "/Calls.json", status, 1)
		_, err := c.CreateCall(context.Background(), "+14155550100", "+15551234567", "https://example.com/incoming-call")
		var re *twiliorest.Error
		if !errors.As(err, &re) || re.Status != status {
			t.Fatalf("HTTP %d: err = %v", status, err)
		}
		if n := count(api, http.MethodPost, "/Calls.json"); n != 1 || len(*waits) != 0 {
			t.Errorf("HTTP %d: CreateCall sent %d times", status, n)
		}
	}
	// Twilio's 429 has its own code.
	api, c, _ := retryingClient(t)
	api.FailNext(http.MethodPost, "/Calls.json", 429, 1)
	_, err := c.CreateCall(context.Background(), "+14155550100", "+15551234567", "https://example.com/incoming-call")
	if re := (*twiliorest.Error)(nil); !errors.As(err, &re) || re.Code != 20429 {
		t.Errorf("429 answered %v, want Twilio error 20429", err)
	}
}
