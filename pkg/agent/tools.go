package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/twilio/twilio-go/twiml"

	"github.com/callagent/callagent/internal/redact"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/session"
)

// httpTool calls a URL with the model's arguments and gives the model the response.
type httpTool struct {
	spec    session.ToolSpec
	http    HTTPSpec
	client  *http.Client
	secrets *redact.Secrets
	// traceParent names the call's tool span for the service (nil: no header).
	traceParent func(callSID, toolCallID string) string
}

func newHTTPTool(spec *ToolSpec, client *http.Client, secrets *redact.Secrets, traceParent func(callSID, toolCallID string) string) session.Tool {
	return &httpTool{spec: toolSpec(spec), http: *spec.HTTP, client: client, secrets: secrets, traceParent: traceParent}
}

func (t *httpTool) Spec() session.ToolSpec { return t.spec }

// Call sends the arguments as a JSON body (as query parameters for GET and DELETE)
// and returns the body, cut at max_response_bytes. A non-2xx status is an error that
// the model hears about; secrets are scrubbed from whatever comes back.
func (t *httpTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	u := t.http.URL
	var body io.Reader
	if t.http.Method == http.MethodGet || t.http.Method == http.MethodDelete {
		q, err := queryFromArgs(args)
		if err != nil {
			return "", err
		}
		if len(q) > 0 {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + q.Encode()
		}
	} else {
		body = bytes.NewReader(args)
	}
	req, err := http.NewRequestWithContext(ctx, t.http.Method, u, body)
	if err != nil {
		return "", fmt.Errorf("build request: %s", t.scrub(err.Error()))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/plain;q=0.9, */*;q=0.5")
	req.Header.Set("User-Agent", "callagent")
	for k, v := range t.http.Headers {
		req.Header.Set(k, v)
	}
	if tp := t.traceHeader(ctx); tp != "" {
		req.Header.Set("Traceparent", tp) // after the configured headers: the trace's own
	}
	resp, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err() // the session words timeouts itself
		}
		return "", fmt.Errorf("%s %s: %s", t.http.Method, redactURL(t.http.URL), t.scrub(rootCause(err)))
	}
	defer resp.Body.Close()
	limit := int64(t.http.MaxResponseBytes)
	// Read past the limit by the longest form of a secret and scrub before
	// cutting: a secret across the cut is found whole, not left half.
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+int64(t.secrets.MaxLen())+1))
	if err != nil && ctx.Err() != nil {
		return "", ctx.Err()
	}
	text := t.scrub(string(data))
	if int64(len(data)) > limit {
		text = strings.ToValidUTF8(text[:min(int64(len(text)), limit)], "") + fmt.Sprintf("\n[response truncated at %d bytes]", limit)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet := text
		if len(snippet) > 300 {
			snippet = snippet[:300] + "…"
		}
		return "", fmt.Errorf("the service answered HTTP %d: %s", resp.StatusCode, strings.TrimSpace(snippet))
	}
	return text, nil
}

// traceHeader is the traceparent of this tool call's span, "" without tracing.
func (t *httpTool) traceHeader(ctx context.Context) string {
	if t.traceParent == nil {
		return ""
	}
	call, ok := session.CallFrom(ctx)
	id, idOK := session.ToolCallID(ctx)
	if !ok || !idOK {
		return ""
	}
	return t.traceParent(call.CallSID(), id)
}

// scrub removes the secrets from what the service said, in every encoding (the
// session scrubs again; this keeps the tool safe on its own).
func (t *httpTool) scrub(s string) string { return t.secrets.ReplaceString(s) }

// redactURL drops the query (which may hold keys) for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the tool's URL"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

func rootCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// queryFromArgs turns a JSON object's scalar members into query parameters.
func queryFromArgs(args json.RawMessage) (url.Values, error) {
	var m map[string]any
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, fmt.Errorf("the arguments are not a JSON object: %w", err)
	}
	q := url.Values{}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			q.Set(k, v)
		case nil:
		default:
			b, _ := json.Marshal(v)
			q.Set(k, string(b))
		}
	}
	return q, nil
}

// builtinTool returns a built-in tool.
func builtinTool(spec *ToolSpec, calls CallController) session.Tool {
	switch spec.Builtin {
	case BuiltinHangUp:
		return hangUpTool(spec, calls)
	case BuiltinTransfer:
		return transferTool(spec, calls)
	default:
		return weatherTool(spec)
	}
}

// playedLimit bounds the wait for a goodbye to be heard before hanging up anyway.
const playedLimit = 60 * time.Second

func hangUpTool(spec *ToolSpec, calls CallController) session.Tool {
	s := toolSpec(spec)
	if s.Description == "" {
		s.Description = "End the call. Say a short goodbye first: the call ends once your last words have been heard."
	}
	s.Background = true // nothing to say after hanging up
	s.Timeout = max(s.Timeout, playedLimit+10*time.Second)
	return session.NewTool(s, func(ctx context.Context, _ json.RawMessage) (string, error) {
		call, ok := session.CallFrom(ctx)
		if !ok {
			return "", errors.New("hang_up runs only during a call")
		}
		// Let the goodbye finish: wait for the mark after the last audio.
		wctx, cancel := context.WithTimeout(ctx, playedLimit)
		_ = call.WaitPlayed(wctx)
		cancel()
		var err error
		if calls != nil {
			endingByRequest(call, true)
			err = calls.Hangup(ctx, call.CallSID())
		}
		// Closing the stream ends the call too (the <Connect> action answers Hangup), so
		// the call ends even if the REST request failed.
		call.End(callevent.EndAgentHangup, err)
		return "The call has ended.", nil
	})
}

func transferTool(spec *ToolSpec, calls CallController) session.Tool {
	tr := spec.Transfer
	s := toolSpec(spec)
	if s.Description == "" {
		s.Description = "Transfer the caller to a person. Tell the caller first, briefly; the transfer happens once you have been heard."
	}
	if len(tr.Targets) > 0 && s.Parameters == nil {
		names := make([]string, 0, len(tr.Targets))
		for n := range tr.Targets {
			names = append(names, n)
		}
		slices.Sort(names)
		schema := map[string]any{"type": "object", "required": []string{"target"}, "properties": map[string]any{
			"target": map[string]any{"type": "string", "enum": names, "description": "who to transfer to"},
		}}
		s.Parameters, _ = json.Marshal(schema)
		s.Description += " Targets: " + strings.Join(names, ", ") + "."
	}
	s.Timeout = max(s.Timeout, playedLimit+20*time.Second)
	return session.NewTool(s, func(ctx context.Context, args json.RawMessage) (string, error) {
		call, ok := session.CallFrom(ctx)
		if !ok {
			return "", errors.New("transfer runs only during a call")
		}
		if calls == nil {
			return "", errors.New("transfers are not set up on this server (they need TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN): tell the caller you cannot transfer them")
		}
		number, name := tr.To, ""
		if len(tr.Targets) > 0 {
			var a struct{ Target string }
			_ = json.Unmarshal(args, &a)
			n, ok := tr.Targets[a.Target]
			if !ok {
				return "", fmt.Errorf("there is no transfer target %q", a.Target)
			}
			number, name = n, a.Target
		}
		if ref, ok := calls.(Referrer); ok { // a SIP call: a REFER, no TwiML (sip.go)
			wctx, cancel := context.WithTimeout(ctx, playedLimit)
			_ = call.WaitPlayed(wctx)
			cancel()
			endingByRequest(call, true)
			if err := ref.Refer(ctx, call.CallSID(), ReferTarget(number)); err != nil {
				endingByRequest(call, false) // the call goes on: a hang-up is the caller's again
				return "", fmt.Errorf("the transfer failed: %w", err)
			}
			call.End(callevent.EndTransferred, nil)
			return transferred(name), nil
		}
		verbs := []twiml.Element{}
		if tr.Announcement != "" {
			verbs = append(verbs, twiml.VoiceSay{Message: tr.Announcement})
		}
		verbs = append(verbs, twiml.VoiceDial{Number: number})
		doc, err := twiml.Voice(verbs)
		if err != nil {
			return "", err
		}
		wctx, cancel := context.WithTimeout(ctx, playedLimit)
		_ = call.WaitPlayed(wctx)
		cancel()
		if err := calls.Redirect(ctx, call.CallSID(), doc); err != nil {
			return "", fmt.Errorf("the transfer failed: %w", err)
		}
		call.End(callevent.EndTransferred, nil)
		return transferred(name), nil
	})
}

// transferred is the transfer tool's result.
func transferred(name string) string {
	if name != "" {
		return "The caller was transferred to " + name + "."
	}
	return "The caller was transferred."
}

// weatherTool is the demo tool of the default agent: made-up but stable weather, so
// the first call works with no account anywhere.
func weatherTool(spec *ToolSpec) session.Tool {
	s := toolSpec(spec)
	if s.Description == "" {
		s.Description = "Current weather for a city (demo data)."
	}
	if s.Parameters == nil {
		s.Parameters = json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","description":"city name"}},"required":["city"]}`)
	}
	return session.NewTool(s, func(ctx context.Context, args json.RawMessage) (string, error) {
		var a struct{ City string }
		if err := json.Unmarshal(args, &a); err != nil || strings.TrimSpace(a.City) == "" {
			return "", errors.New("say which city")
		}
		h := fnv.New32a()
		h.Write([]byte(strings.ToLower(strings.TrimSpace(a.City))))
		n := h.Sum32()
		skies := []string{"sunny", "partly cloudy", "cloudy", "light rain", "windy"}
		out, _ := json.Marshal(map[string]any{"city": a.City, "sky": skies[n%uint32(len(skies))],
			"temperature_c": int(n%30) + 2, "note": "demo data"})
		return string(out), nil
	})
}
