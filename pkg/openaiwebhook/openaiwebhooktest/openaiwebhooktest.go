// Package openaiwebhooktest is a fake of OpenAI's webhook endpoints API
// (/v1/webhook_endpoints) for tests, an http.Handler to run on loopback with
// httptest. It is as strict as the API's reference: a Bearer key, a JSON body, an
// https URL of at most 2048 characters, a name of 1 to 256, at least one event
// type and only known ones; OpenAI's error object ({"error": {message, type,
// param, code}}) for every refusal; the signing secret only in the creation's
// answer. It records requests and fails on demand (FailNext), and can play a key
// without the permission to manage webhooks (Forbid).
package openaiwebhooktest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callagent/callagent/internal/eventrecord"
)

// EventTypes are the event types the fake accepts: those of the API reference,
// with GPT-Live's live.transport.incoming (set in the project's settings in the
// Live SIP guide).
var EventTypes = []string{"batch.completed", "batch.failed", "batch.expired", "batch.cancelled",
	"response.completed", "response.failed", "response.cancelled", "response.incomplete",
	"eval.run.succeeded", "eval.run.failed", "eval.run.canceled",
	"fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled",
	"realtime.call.incoming", "live.transport.incoming", "video.completed", "video.failed", "safety.alert.created"}

// Endpoint is an endpoint of the fake project, with its secret.
type Endpoint struct {
	ID         string   `json:"id"`
	Object     string   `json:"object"`
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	CreatedAt  int64    `json:"created_at"`
	Hint       string   `json:"signing_secret_hint"`
	Secret     string   `json:"-"`
}

// Request is one request the fake received.
type Request struct {
	Method, Path string
	Body         map[string]any
}

// API is the fake. The zero value with APIKey set is ready.
type API struct {
	APIKey string
	// Forbid answers every request as for a key without the permission to
	// manage the project's webhooks (403).
	Forbid bool
	// Events, when set, replaces EventTypes.
	Events []string

	mu        sync.Mutex
	endpoints []*Endpoint
	requests  []Request
	failNext  []failure
	seq       int
}

type failure struct {
	method string
	status int
}

// FailNext makes the next times requests with method answer status with OpenAI's
// error object, without being carried out.
func (a *API) FailNext(method string, status, times int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range times {
		a.failNext = append(a.failNext, failure{method, status})
	}
}

// Endpoints returns the project's endpoints, secrets included.
func (a *API) Endpoints() []Endpoint {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Endpoint
	for _, e := range a.endpoints {
		out = append(out, *e)
	}
	return out
}

// Add adds an endpoint, as made in the project's settings.
func (a *API) Add(e Endpoint) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	if e.ID == "" {
		e.ID = fmt.Sprintf("we_%024d", a.seq)
	}
	e.Object = "webhook_endpoint"
	a.endpoints = append(a.endpoints, &e)
}

// Requests returns the requests received, in order.
func (a *API) Requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.requests)
}

func apiError(w http.ResponseWriter, status int, typ, param, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var p, c any
	if param != "" {
		p = param
	}
	if code != "" {
		c = code
	}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": p, "code": c}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	var raw json.RawMessage
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil || json.Unmarshal(raw, &body) != nil {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "", "", "We could not parse the JSON body of your request.")
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, Request{Method: r.Method, Path: r.URL.Path, Body: body})
	if r.Header.Get("Authorization") != "Bearer "+a.APIKey || a.APIKey == "" {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "", "invalid_api_key", "Incorrect API key provided: sk-***.")
		return
	}
	for i, f := range a.failNext {
		if f.method == r.Method {
			a.failNext = slices.Delete(a.failNext, i, i+1)
			typ := "server_error"
			if f.status == http.StatusTooManyRequests {
				typ = "rate_limit_exceeded"
			}
			apiError(w, f.status, typ, "", "", "The server had an error while processing your request.")
			return
		}
	}
	if a.Forbid {
		apiError(w, http.StatusForbidden, "invalid_request_error", "", "",
			"You have insufficient permissions for this operation. Missing scopes: api.webhooks.write.")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/webhook_endpoints")
	if !ok {
		apiError(w, http.StatusNotFound, "invalid_request_error", "", "", "Invalid URL ("+r.Method+" "+r.URL.Path+")")
		return
	}
	switch {
	case rest == "" && r.Method == http.MethodGet:
		data := []Endpoint{}
		for i := len(a.endpoints) - 1; i >= 0; i-- { // newest first
			data = append(data, *a.endpoints[i])
		}
		var first, last any
		if len(data) > 0 {
			first, last = data[0].ID, data[len(data)-1].ID
		}
		list := map[string]any{"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": false}
		record("webhook_endpoints.list", list)
		writeJSON(w, list)
	case rest == "" && r.Method == http.MethodPost:
		a.create(w, body, raw)
	case strings.HasPrefix(rest, "/") && r.Method == http.MethodDelete:
		id := rest[1:]
		i := slices.IndexFunc(a.endpoints, func(e *Endpoint) bool { return e.ID == id })
		if i < 0 {
			apiError(w, http.StatusNotFound, "invalid_request_error", "", "", "No webhook endpoint found with id '"+id+"'.")
			return
		}
		a.endpoints = slices.Delete(a.endpoints, i, i+1)
		writeJSON(w, map[string]any{"id": id, "deleted": true, "object": "webhook_endpoint.deleted"})
	default:
		apiError(w, http.StatusNotFound, "invalid_request_error", "", "", "Invalid URL ("+r.Method+" "+r.URL.Path+")")
	}
}

func (a *API) create(w http.ResponseWriter, body map[string]any, raw json.RawMessage) {
	for k := range body {
		if k != "name" && k != "url" && k != "event_types" {
			apiError(w, http.StatusBadRequest, "invalid_request_error", k, "unknown_parameter", "Unknown parameter: '"+k+"'.")
			return
		}
	}
	name, _ := body["name"].(string)
	u, _ := body["url"].(string)
	events, _ := body["event_types"].([]any)
	known := a.Events
	if known == nil {
		known = EventTypes
	}
	switch {
	case len(name) < 1 || len(name) > 256:
		apiError(w, http.StatusBadRequest, "invalid_request_error", "name", "", "name must be 1 to 256 characters.")
		return
	case !strings.HasPrefix(u, "https://") || len(u) > 2048:
		apiError(w, http.StatusBadRequest, "invalid_request_error", "url", "", "url must be an HTTPS URL of at most 2048 characters.")
		return
	case len(events) == 0:
		apiError(w, http.StatusBadRequest, "invalid_request_error", "event_types", "", "event_types must have at least 1 item.")
		return
	}
	e := &Endpoint{Object: "webhook_endpoint", Name: name, URL: u, CreatedAt: time.Now().Unix()}
	for _, ev := range events {
		s, _ := ev.(string)
		if !slices.Contains(known, s) {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "event_types", "", fmt.Sprintf("Invalid event type: '%s'.", s))
			return
		}
		e.EventTypes = append(e.EventTypes, s)
	}
	var key [24]byte
	rand.Read(key[:])
	a.seq++
	e.ID = fmt.Sprintf("we_%024d", a.seq)
	e.Secret = "whsec_" + base64.StdEncoding.EncodeToString(key[:])
	e.Hint = "whsec_****" + e.Secret[len(e.Secret)-4:]
	a.endpoints = append(a.endpoints, e)
	out := map[string]any{"id": e.ID, "object": e.Object, "name": e.Name, "url": e.URL, "event_types": e.EventTypes,
		"created_at": e.CreatedAt, "signing_secret": e.Secret, "signing_secret_hint": e.Hint}
	if rec := eventrecord.FromEnv(eventrecord.SIPPrefix); rec != nil {
		rec.Record("webhook_endpoints.create", raw)
		record("webhook_endpoints.created", map[string]any{"id": e.ID, "object": e.Object, "name": e.Name, "url": e.URL,
			"event_types": e.EventTypes, "created_at": e.CreatedAt, "signing_secret": "whsec_recorded", "signing_secret_hint": e.Hint})
	}
	writeJSON(w, out)
}

// record hands an answer of the fake to the conformance recorder
// (internal/eventrecord, sip-PID.jsonl), kind naming its TypeScript type for
// scripts/conformance. A secret is never recorded: the caller replaces it.
func record(kind string, v any) {
	rec := eventrecord.FromEnv(eventrecord.SIPPrefix)
	if rec == nil {
		return
	}
	if body, err := json.Marshal(v); err == nil {
		rec.Record(kind, body)
	}
}
