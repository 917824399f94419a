package twiliorest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/twiliorest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

// Every operation fails with an *Error that errors.As reaches through the
// operation's own wrapping and the caller's, and whose sentence holds no credential.
func TestErrorsAs(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		fail   string // path suffix the fake fails with 503
		token  string // the client's auth token, when not the fake's
		call   func(*twiliorest.Client) error
		op     string
		status int
		code   int
		msg    string
	}{
		{name: "hang up", fail: "/Calls/CA1.json", op: "Hangup", status: 503, code: 20500,
			msg:  "hang up CA1: Twilio API error 20500 (HTTP 503): Internal Server Error",
			call: func(c *twiliorest.Client) error { return c.Hangup(ctx, "CA1") }},
		{name: "redirect", fail: "/Calls/CA1.json", op: "Redirect", status: 503, code: 20500,
			msg:  "update CA1: Twilio API error 20500 (HTTP 503): Internal Server Error",
			call: func(c *twiliorest.Client) error { return c.Redirect(ctx, "CA1", "<Response/>") }},
		{name: "create call", op: "CreateCall", status: 400, code: 21201,
			msg: "Twilio API error 21201 (HTTP 400): To, From and Url are required",
			call: func(c *twiliorest.Client) error {
				_, err := c.CreateCall(ctx, "+14155550100", "", "https://example.com/incoming-call")
				return err
			}},
		{name: "list numbers", token: "ffffffffffffffffffffffffffffffff", op: "ListNumbers", status: 401, code: 20003,
			msg: "Twilio rejected the credentials (HTTP 401): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
			call: func(c *twiliorest.Client) error {
				_, err := c.ListNumbers(ctx)
				return err
			}},
		{name: "fetch number", op: "FetchNumber", status: 404, code: 20404,
			msg: "not found on Twilio (HTTP 404): The requested resource /IncomingPhoneNumbers/PN9.json was not found",
			call: func(c *twiliorest.Client) error {
				_, err := c.FetchNumber(ctx, "PN9")
				return err
			}},
		{name: "update number", fail: "/IncomingPhoneNumbers/PN1.json", op: "UpdateNumber", status: 503, code: 20500,
			msg: "Twilio API error 20500 (HTTP 503): Internal Server Error",
			call: func(c *twiliorest.Client) error {
				_, err := c.UpdateNumber(ctx, "PN1", twiliorest.VoiceUpdate{URL: new("https://example.com/incoming-call")})
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &twiliorestest.API{AccountSID: acct, AuthToken: token}
			api.SetCall("CA1", "in-progress")
			api.AddNumber(twiliorestest.PhoneNumber{SID: "PN1", PhoneNumber: "+14155550100"})
			if tt.fail != "" {
				api.Fail(tt.fail, http.StatusServiceUnavailable)
			}
			srv := httptest.NewServer(api)
			defer srv.Close()
			clientToken := token
			if tt.token != "" {
				clientToken = tt.token
			}
			err := fmt.Errorf("outer: %w", tt.call(newClient(t, clientToken, srv.URL)))
			var re *twiliorest.Error
			if !errors.As(err, &re) {
				t.Fatalf("errors.As found no *twiliorest.Error in %v", err)
			}
			if re.Op != tt.op || re.Status != tt.status || re.Code != tt.code {
				t.Errorf("got op %q status %d code %d, want %q %d %d", re.Op, re.Status, re.Code, tt.op, tt.status, tt.code)
			}
			if got := err.Error(); got != "outer: "+tt.msg {
				t.Errorf("message %q, want %q", got, "outer: "+tt.msg)
			}
			if strings.Contains(err.Error(), clientToken) {
				t.Errorf("the auth token is in the error: %v", err)
			}
		})
	}
}

// A request that gets no answer is an *Error too, with Status 0 and the HTTP
// client's own words.
func TestErrorWithoutAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	_, err := newClient(t, token, srv.URL).ListNumbers(context.Background())
	var re *twiliorest.Error
	if !errors.As(err, &re) || re.Status != 0 || re.Op != "ListNumbers" || re.Err == nil || err.Error() != re.Err.Error() {
		t.Fatalf("got %#v (%v)", re, err)
	}
	if strings.Contains(err.Error(), token) {
		t.Fatalf("the auth token is in the error: %v", err)
	}
}
