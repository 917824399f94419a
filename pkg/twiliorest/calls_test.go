package twiliorest_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/retry"
	"github.com/callagent/callagent/pkg/twiliorest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

const (
	acct  = "AC00000000000000000000000000000001"
	token = "0123456789abcdef0123456789abcdef"
)

func fakeAPI(t *testing.T) (*twiliorestest.API, *twiliorest.Client) {
	api := &twiliorestest.API{AccountSID: acct, AuthToken: token}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, newClient(t, token, srv.URL)
}

// newClient returns a client of account acct with the given auth token, talking to
// the API at baseURL.
func newClient(t *testing.T, authToken, baseURL string) *twiliorest.Client {
	t.Helper()
	c, err := twiliorest.New(twiliorest.Options{Credentials: twiliorest.Credentials{AccountSID: acct, AuthToken: authToken}, BaseURL: baseURL,
		Retry: retry.Policy{Sleep: func(context.Context, time.Duration) error { return nil }}}) // retries without the waits
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHangup(t *testing.T) {
	api, cc := fakeAPI(t)
	api.SetCall("CA1", "in-progress")
	if err := cc.Hangup(context.Background(), "CA1"); err != nil {
		t.Fatal(err)
	}
	reqs := api.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/2010-04-01/Accounts/"+acct+"/Calls/CA1.json" || reqs[0].Form.Get("Status") != "completed" {
		t.Fatalf("requests %+v", reqs)
	}
	if api.CallStatus("CA1") != "completed" {
		t.Fatal("call not completed")
	}
	// The caller hung up first: not an error.
	if err := cc.Hangup(context.Background(), "CAgone"); err != nil {
		t.Fatalf("hanging up a finished call: %v", err)
	}
}

func TestRedirect(t *testing.T) {
	api, cc := fakeAPI(t)
	api.SetCall("CA2", "in-progress")
	twiml := `<Response><Dial>+15550001111</Dial></Response>`
	if err := cc.Redirect(context.Background(), "CA2", twiml); err != nil {
		t.Fatal(err)
	}
	if f := api.Requests()[0].Form; f.Get("Twiml") != twiml {
		t.Fatalf("form %v", f)
	}
	if err := cc.Redirect(context.Background(), "CA2", twiml); !errors.Is(err, twiliorest.ErrCallOver) {
		t.Fatalf("redirecting a completed call: %v", err)
	}
}

func TestCallErrors(t *testing.T) {
	api := &twiliorestest.API{AccountSID: acct, AuthToken: "fedcba9876543210fedcba9876543210"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cc := newClient(t, token, srv.URL)
	err := cc.Hangup(context.Background(), "CA1")
	if err == nil || !strings.Contains(err.Error(), "TWILIO_AUTH_TOKEN") || strings.Contains(err.Error(), token) {
		t.Fatalf("401: %v", err)
	}
	if _, err := twiliorest.New(twiliorest.Options{Credentials: twiliorest.Credentials{AuthToken: token}}); err == nil || !strings.Contains(err.Error(), "TWILIO_ACCOUNT_SID") {
		t.Fatalf("missing account: %v", err)
	}
}
