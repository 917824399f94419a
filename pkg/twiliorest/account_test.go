package twiliorest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/twiliorest"
	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

func TestFetchAccount(t *testing.T) {
	api, c := fakeAPI(t)
	a, err := c.FetchAccount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a.SID != acct || a.Status != "active" || a.Type != "Full" {
		t.Fatalf("account %+v", a)
	}
	if strings.Contains(fmt.Sprintf("%+v", a), token) {
		t.Fatal("the account keeps the auth token Twilio returned")
	}
	if reqs := api.Requests(); len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != "/2010-04-01/Accounts/"+acct+".json" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestFetchAccountWrongToken(t *testing.T) {
	srv := httptest.NewServer(&twiliorestest.API{AccountSID: acct, AuthToken: token})
	defer srv.Close()
	wrong := strings.Repeat("f", 32)
	_, err := newClient(t, wrong, srv.URL).FetchAccount(context.Background())
	var te *twiliorest.Error
	if !errors.As(err, &te) || te.Status != 401 || te.Code != 20003 || te.Op != "FetchAccount" {
		t.Fatalf("err %v (%#v)", err, te)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatal("the error holds the token")
	}
}
