package cmd

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/openaiwebhook"
	"github.com/callagent/callagent/pkg/openaiwebhook/openaiwebhooktest"
)

func TestDevSIPOptions(t *testing.T) {
	base := map[string]string{"OPENAI_API_KEY": "k", "NGROK_AUTHTOKEN": "n", "TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken}
	env := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	o, err := parseDev(t, env("OPENAI_PROJECT_ID", "proj_abc", "OPENAI_WEBHOOK_SECRET", "whsec_x"), "--sip", "--sip-region", "eu")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.uri(); got != "sip:proj_abc@sip-eu.api.openai.com;transport=tls" {
		t.Errorf("uri %s", got)
	}
	d := &devSession{o: o}
	if d.sipWebhookSecret() != "whsec_x" {
		t.Error("OPENAI_WEBHOOK_SECRET is not the secret without an endpoint of dev's")
	}
	if o, err := parseDev(t, env(), "--sip", "--openai-project", "proj_flag"); err != nil || o.uri() != "sip:proj_flag@sip.api.openai.com;transport=tls" {
		t.Errorf("flag: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sip"}, "OPENAI_PROJECT_ID"},
		{[]string{"--sip", "--openai-project", "abc"}, "starts with proj_"},
		{[]string{"--sip", "--openai-project", "proj_a@evil;x"}, "starts with proj_"},
		{[]string{"--sip", "--openai-project", "proj_a", "--sip-region", "us"}, "eu or in"},
		{[]string{"--openai-project", "proj_a"}, "--openai-project is for dev --sip"},
		{[]string{"--sip-region", "eu"}, "--sip-region is for dev --sip"},
	} {
		if _, err := parseDev(t, env(), c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v", c.args, err)
		}
	}
}

// TestFaultCreatedWebhookSecretRedacted: the signing secret of the endpoint dev
// --sip created is in no environment, so the call logs' and the terminal's
// redactor learns it from dev itself, and keeps it across a reload of the agents.
func TestFaultCreatedWebhookSecretRedacted(t *testing.T) {
	fake := &openaiwebhooktest.API{APIKey: "sk-test"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	hooks, err := openaiwebhook.New(openaiwebhook.Options{BaseURL: srv.URL + "/v1", APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := hooks.Create(context.Background(), "callagent dev", "https://x.ngrok.app/openai-webhook", []string{"realtime.call.incoming"})
	if err != nil || secret.Reveal() == "" {
		t.Fatalf("create: %v", err)
	}
	f, _, _ := testFactory()
	d := &devSession{sipProv: &devSIP{secret: secret}}
	red := newRedactor(f.Env, nil)
	updateRedactor(red, f.Env, nil, d.heldSecrets()...) // what startSIP and a reload do
	line := []byte(`{"msg":"echo ` + secret.Reveal() + `"}`)
	if out := string(red.Redact(line)); strings.Contains(out, secret.Reveal()) {
		t.Fatal("the created secret is not redacted") // the line is not printed: it holds the secret
	}
	if d.sipWebhookSecret() != secret.Reveal() {
		t.Error("the server would not verify with the created endpoint's secret")
	}
}
