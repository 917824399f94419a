package openaiwebhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/openaiwebhook"
	"github.com/callagent/callagent/pkg/openaiwebhook/openaiwebhooktest"
)

func TestCreateListDelete(t *testing.T) {
	ctx := context.Background()
	api := &openaiwebhooktest.API{APIKey: "sk-test"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	c, err := openaiwebhook.New(openaiwebhook.Options{BaseURL: srv.URL + "/v1", APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	ep, secret, err := c.Create(ctx, "callagent dev", "https://x.ngrok.app/openai-webhook", []string{openaiwebhook.EventRealtimeCallIncoming})
	if err != nil || ep.ID == "" || secret.Reveal() != api.Endpoints()[0].Secret {
		t.Fatalf("create %+v %v", ep, err)
	}
	for _, s := range []string{fmt.Sprint(secret), fmt.Sprintf("%v %+v %#v %s", secret, secret, secret, secret)} {
		if strings.Contains(s, secret.Reveal()) {
			t.Fatalf("the secret printed: %s", s)
		}
	}
	if list, err := c.List(ctx); err != nil || len(list) != 1 || list[0].URL != "https://x.ngrok.app/openai-webhook" {
		t.Fatalf("list %+v %v", list, err)
	}
	if err := c.Delete(ctx, ep.ID); err != nil || len(api.Endpoints()) != 0 {
		t.Fatalf("delete %v", err)
	}
	if err := c.Delete(ctx, ep.ID); err != nil {
		t.Fatalf("delete again: %v", err)
	}
	_, _, err = c.Create(ctx, "x", "http://x.example/hook", []string{openaiwebhook.EventRealtimeCallIncoming})
	var e *openaiwebhook.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Param != "url" || !e.Denied() {
		t.Fatalf("http URL: %v", err)
	}
	api.Forbid = true
	if _, _, err = c.Create(ctx, "x", "https://x.example/hook", []string{"realtime.call.incoming"}); !errors.As(err, &e) || e.Status != http.StatusForbidden {
		t.Fatalf("forbidden: %v", err)
	}
	bad, _ := openaiwebhook.New(openaiwebhook.Options{BaseURL: srv.URL + "/v1", APIKey: "sk-wrong-key"})
	if _, err := bad.List(ctx); err == nil || strings.Contains(err.Error(), "sk-") {
		t.Fatalf("wrong key: %v", err)
	}
}
