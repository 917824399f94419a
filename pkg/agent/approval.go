package agent

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/callagent/callagent/pkg/session"
)

// WebhookApprover asks an HTTP endpoint whether a tool call may run: it POSTs
// {"call_sid","call_id","tool","arguments"} and expects 200 with {"approved": bool}
// (and optionally "reason"). Anything else, or no answer in time, denies the call.
// With a Secret each request is signed: X-Callagent-Signature: t=UNIX,v1=HEX, where
// HEX is the HMAC-SHA256 with the secret of "UNIX." followed by the body; a webhook
// checks it and rejects old timestamps (replays).
type WebhookApprover struct {
	URL    string
	Secret string
	Client *http.Client
	Now    func() time.Time // default time.Now
}

// SignatureHeader carries the approval webhook's signature.
const SignatureHeader = "X-Callagent-Signature"

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Approve implements session.Approver.
func (w *WebhookApprover) Approve(ctx context.Context, req session.ApprovalRequest) (bool, error) {
	body, _ := json.Marshal(map[string]string{"call_sid": req.CallSID, "call_id": req.CallID, "tool": req.Name, "arguments": req.Arguments})
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "callagent")
	if w.Secret != "" {
		now := time.Now
		if w.Now != nil {
			now = w.Now
		}
		hr.Header.Set(SignatureHeader, Sign(w.Secret, now(), body))
	}
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hr)
	if err != nil {
		return false, fmt.Errorf("approval webhook: %s", rootCause(err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("approval webhook answered HTTP %d", resp.StatusCode)
	}
	var ans struct {
		Approved *bool  `json:"approved"`
		Reason   string `json:"reason"`
	}
	if err := json.Unmarshal(data, &ans); err != nil || ans.Approved == nil {
		return false, fmt.Errorf(`approval webhook: want {"approved": true|false}, got %.100q`, data)
	}
	if !*ans.Approved && ans.Reason != "" {
		return false, fmt.Errorf("denied: %s", ans.Reason)
	}
	return *ans.Approved, nil
}

// Func makes a Go function a tool: the model's arguments are decoded into A (a
// struct matching schema, the JSON Schema of the arguments) and the returned text
// goes back to the model. An error goes back too, as text; the call goes on.
func Func[A any](name, description, schema string, fn func(ctx context.Context, args A) (string, error)) session.Tool {
	spec := session.ToolSpec{Name: name, Description: description}
	if schema != "" {
		spec.Parameters = json.RawMessage(schema)
	}
	return session.NewTool(spec, func(ctx context.Context, raw json.RawMessage) (string, error) {
		var a A
		if err := json.Unmarshal(raw, &a); err != nil {
			return "", fmt.Errorf("the arguments do not fit the tool: %w", err)
		}
		return fn(ctx, a)
	})
}
