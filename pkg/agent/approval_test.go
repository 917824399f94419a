package agent_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/session"
)

// The approval webhook's answers, and its signature checked the way a receiver
// would check it.
func TestWebhookApprover(t *testing.T) {
	const secret = "whsec-0123456789"
	now := time.Unix(1795000000, 0)
	var answer string
	var status int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get(agent.SignatureHeader)
		ts, mac, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",v1=")
		h := hmac.New(sha256.New, []byte(secret))
		h.Write([]byte(ts + "."))
		h.Write(body)
		if ts != "1795000000" || !hmac.Equal([]byte(mac), []byte(hex.EncodeToString(h.Sum(nil)))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if !strings.Contains(string(body), `"tool":"refund"`) || !strings.Contains(string(body), `"call_sid":"CA1"`) {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	a := &agent.WebhookApprover{URL: srv.URL, Secret: secret, Now: func() time.Time { return now }}
	req := session.ApprovalRequest{CallSID: "CA1", CallID: "c1", Name: "refund", Arguments: `{"amount":20}`}
	ctx := context.Background()
	for _, tc := range []struct {
		status  int
		answer  string
		ok      bool
		errText string
	}{
		{200, `{"approved":true}`, true, ""},
		{200, `{"approved":false,"reason":"over the limit"}`, false, "denied: over the limit"},
		{200, `{"approved":false}`, false, ""},
		{200, `{"ok":true}`, false, `want {"approved": true|false}`},
		{500, `oops`, false, "HTTP 500"},
	} {
		status, answer = tc.status, tc.answer
		ok, err := a.Approve(ctx, req)
		if ok != tc.ok || (tc.errText == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.errText) {
			t.Errorf("%d %s: %v %v", tc.status, tc.answer, ok, err)
		}
	}
	// Signed with another secret: the receiver refuses, and the call is denied.
	status, answer = 200, `{"approved":true}`
	bad := &agent.WebhookApprover{URL: srv.URL, Secret: "another-secret", Now: func() time.Time { return now }}
	if ok, err := bad.Approve(ctx, req); ok || err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("wrong secret: %v %v", ok, err)
	}
	// No answer in time: denied.
	// The handler leaves the body unread, so the server may not notice the client
	// leaving; release it when the test ends.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if ok, err := (&agent.WebhookApprover{URL: slow.URL}).Approve(tctx, req); ok || err == nil {
		t.Errorf("timeout: %v %v", ok, err)
	}
}

func TestWebhookSecretConfig(t *testing.T) {
	yaml := "approval:\n  policy: ask\n  webhook: https://approve.example.com/hook\n  webhook_secret: ${APPROVAL_SECRET}\n" +
		"agents:\n  - name: a\n    instructions: Hi.\n"
	cfg, err := agent.Parse("callagent.yaml", []byte(yaml), func(k string) string {
		return map[string]string{"APPROVAL_SECRET": "whsec-value-123"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Approval.WebhookSecret != "whsec-value-123" || !strings.Contains(strings.Join(cfg.Secrets(), " "), "whsec-value-123") {
		t.Errorf("webhook_secret not expanded from ${APPROVAL_SECRET}, or not among the values redacted from logs (%d values)", len(cfg.Secrets()))
	}
	_, err = agent.Parse("callagent.yaml", []byte("approval:\n  webhook_secret: x\nagents:\n  - name: a\n    instructions: Hi.\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "callagent.yaml:2:19: approval.webhook_secret without approval.webhook") {
		t.Errorf("secret without webhook: %v", err)
	}
}
