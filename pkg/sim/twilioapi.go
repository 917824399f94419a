package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// TwilioAPI is a fake Twilio REST API (the parts callagent uses), an http.Handler to
// run on loopback: point the real twilio-go client at it with a base URL override.
// It checks Basic authentication and records every request.
type TwilioAPI struct {
	AccountSID string
	AuthToken  string

	mu       sync.Mutex
	requests []APIRequest
	calls    map[string]string // call SID → status
	fail     map[string]int    // path suffix → status to answer with
}

// APIRequest is one request the fake received.
type APIRequest struct {
	At     time.Time
	Method string
	Path   string
	Form   url.Values
}

// SetCall declares a call and its status (in-progress, completed, ...).
func (a *TwilioAPI) SetCall(sid, status string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.calls == nil {
		a.calls = map[string]string{}
	}
	a.calls[sid] = status
}

// CallStatus returns a call's status.
func (a *TwilioAPI) CallStatus(sid string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[sid]
}

// Fail makes requests whose path ends with suffix answer with status.
func (a *TwilioAPI) Fail(suffix string, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail == nil {
		a.fail = map[string]int{}
	}
	a.fail[suffix] = status
}

// Requests returns the requests received, in order.
func (a *TwilioAPI) Requests() []APIRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]APIRequest(nil), a.requests...)
}

func (a *TwilioAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	a.mu.Lock()
	a.requests = append(a.requests, APIRequest{At: time.Now(), Method: r.Method, Path: r.URL.Path, Form: r.PostForm})
	status := 0
	for suffix, code := range a.fail {
		if strings.HasSuffix(r.URL.Path, suffix) {
			status = code
		}
	}
	a.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if !ok || user != a.AccountSID || pass != a.AuthToken {
		apiError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if status != 0 {
		apiError(w, status, 20500, "Internal Server Error")
		return
	}
	prefix := "/2010-04-01/Accounts/" + a.AccountSID + "/"
	rest, found := strings.CutPrefix(r.URL.Path, prefix)
	if !found {
		apiError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	if sid, ok := strings.CutPrefix(rest, "Calls/"); ok && r.Method == http.MethodPost {
		a.updateCall(w, strings.TrimSuffix(sid, ".json"), r.PostForm)
		return
	}
	apiError(w, http.StatusNotFound, 20404, "The requested resource was not found")
}

func (a *TwilioAPI) updateCall(w http.ResponseWriter, sid string, form url.Values) {
	a.mu.Lock()
	status, known := a.calls[sid]
	a.mu.Unlock()
	switch {
	case !known:
		apiError(w, http.StatusNotFound, 20404, fmt.Sprintf("The requested resource /Calls/%s.json was not found", sid))
		return
	case status != "in-progress" && form.Get("Twiml") != "":
		apiError(w, http.StatusBadRequest, 21220, "Call is not in-progress. Cannot redirect.")
		return
	}
	if form.Get("Status") == "completed" || form.Get("Twiml") != "" {
		a.SetCall(sid, "completed")
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"sid": sid, "account_sid": a.AccountSID, "status": a.CallStatus(sid)})
}

func apiError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
}
