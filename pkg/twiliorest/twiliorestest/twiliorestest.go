// Package twiliorestest is a fake of Twilio's REST API (the parts callagent uses) for
// tests, in the manner of net/http/httptest: an http.Handler to run on loopback with
// httptest.NewServer, with the real twilio-go client pointed at it through a base URL
// override. It checks Basic authentication, answers errors as Twilio does (status,
// code, message), records every request, and can fail, lose or delay answers on
// demand (an update Twilio applies after its client timed out: LateNextUpdate).
//
// It is not a Twilio simulator: only the account (fetch), calls (create, update)
// and incoming phone numbers (list, fetch, update) exist, and no webhook is ever
// requested.
package twiliorestest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// API is a fake Twilio REST API, an http.Handler to run on loopback: point the real
// twilio-go client at it with a base URL override. It checks Basic authentication
// and records every request. The zero value with AccountSID and AuthToken set is
// ready to use.
type API struct {
	AccountSID string
	AuthToken  string
	// AccountStatus is the account's status (default "active"; "suspended" or
	// "closed" as Twilio reports them).
	AccountStatus string

	mu       sync.Mutex
	requests []Request
	calls    map[string]string // call SID → status
	fail     map[string]int    // path suffix → status to answer with
	lose     map[string]int    // path suffix → status to answer the next POST with, once carried out
	failNext []failNext        // answers before the request is looked at, each used once
	late     map[string]bool   // path suffix → the next POST takes effect only after its client gave up
	held     []*http.Request   // POSTs of late whose client gave up, waiting for ApplyLate
	heldCh   chan struct{}     // closed and replaced each time a request is held
	numbers  []*PhoneNumber
	callSeq  int
	trunking trunkState // trunking.go
}

// PhoneNumber is a number of the fake account, as the IncomingPhoneNumbers resource
// has it.
type PhoneNumber struct {
	SID                 string `json:"sid"`
	PhoneNumber         string `json:"phone_number"`
	FriendlyName        string `json:"friendly_name"`
	VoiceURL            string `json:"voice_url"`
	VoiceMethod         string `json:"voice_method"`
	VoiceFallbackURL    string `json:"voice_fallback_url"`
	VoiceFallbackMethod string `json:"voice_fallback_method"`
	VoiceApplicationSID string `json:"voice_application_sid"`
	TrunkSID            string `json:"trunk_sid"`
}

// AddNumber adds a phone number to the fake account.
func (a *API) AddNumber(n PhoneNumber) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := n
	a.numbers = append(a.numbers, &c)
}

// ReplaceNumber changes a number as someone in the console would.
func (a *API) ReplaceNumber(n PhoneNumber) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range a.numbers {
		if x.SID == n.SID {
			*x = n
		}
	}
}

// Number returns the current configuration of a number.
func (a *API) Number(sid string) PhoneNumber {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range a.numbers {
		if n.SID == sid {
			return *n
		}
	}
	return PhoneNumber{}
}

// Request is one request the fake received.
type Request struct {
	At     time.Time
	Method string
	Path   string
	Form   url.Values
}

// SetCall declares a call and its status (in-progress, completed, ...).
func (a *API) SetCall(sid, status string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.calls == nil {
		a.calls = map[string]string{}
	}
	a.calls[sid] = status
}

// CallStatus returns a call's status.
func (a *API) CallStatus(sid string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[sid]
}

// Fail makes requests whose path ends with suffix answer with status.
func (a *API) Fail(suffix string, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail == nil {
		a.fail = map[string]int{}
	}
	a.fail[suffix] = status
}

type failNext struct {
	method, suffix string
	status         int
}

// FailNext makes the next times requests with method whose path ends with suffix
// answer with status and Twilio's error body, without being carried out: 429
// (Twilio's error 20429, Too Many Requests) or 5xx, then the API answers again.
func (a *API) FailNext(method, suffix string, status, times int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range times {
		a.failNext = append(a.failNext, failNext{method, suffix, status})
	}
}

// LoseNextAnswer makes the next POST whose path ends with suffix take effect, then
// answer with status: a change Twilio made whose answer was lost on the way back
// (a timeout, a proxy's 502).
func (a *API) LoseNextAnswer(suffix string, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lose == nil {
		a.lose = map[string]int{}
	}
	a.lose[suffix] = status
}

// LateNextUpdate makes the next POST whose path ends with suffix go unanswered
// until its client gives up (its timeout), and take effect only when ApplyLate is
// called after that: Twilio applying a change after the client stopped waiting, so
// that a look in between still sees the number as it was.
func (a *API) LateNextUpdate(suffix string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.late == nil {
		a.late = map[string]bool{}
	}
	a.late[suffix] = true
}

// ApplyLate waits until a request of LateNextUpdate has been given up by its
// client (or ctx ends), then carries out every such request held and returns how
// many it carried out.
func (a *API) ApplyLate(ctx context.Context) int {
	for {
		a.mu.Lock()
		held, ch := a.held, a.heldCh
		if len(held) > 0 {
			a.held = nil
		} else if ch == nil {
			ch = make(chan struct{})
			a.heldCh = ch
		}
		a.mu.Unlock()
		if len(held) > 0 {
			for _, r := range held {
				serve := a.serve
				if strings.HasPrefix(r.URL.Path, "/v1/") {
					serve = a.serveTrunking
				}
				serve(discardWriter{header: http.Header{}}, r)
			}
			return len(held)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0
		}
	}
}

// Requests returns the requests received, in order.
func (a *API) Requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Request(nil), a.requests...)
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.front(w, r, a.serve) }

// front records, authenticates and applies the failures asked for, then has
// serve carry out the request.
func (a *API) front(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request)) {
	_ = r.ParseForm()
	a.mu.Lock()
	a.requests = append(a.requests, Request{At: time.Now(), Method: r.Method, Path: r.URL.Path, Form: r.PostForm})
	status, lost := 0, 0
	for suffix, code := range a.fail {
		if code != 0 && strings.HasSuffix(r.URL.Path, suffix) {
			status = code
		}
	}
	for suffix, code := range a.lose {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, suffix) {
			lost = code
			delete(a.lose, suffix)
		}
	}
	late := false
	for suffix := range a.late {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, suffix) {
			late = true
			delete(a.late, suffix)
		}
	}
	if lost == 0 && !late {
		for i, f := range a.failNext {
			if f.method == r.Method && strings.HasSuffix(r.URL.Path, f.suffix) {
				status = f.status
				a.failNext = append(a.failNext[:i:i], a.failNext[i+1:]...)
				break
			}
		}
	}
	a.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if !ok || user != a.AccountSID || pass != a.AuthToken {
		apiError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if status == http.StatusTooManyRequests {
		apiError(w, status, 20429, "Too Many Requests")
		return
	}
	if status != 0 {
		apiError(w, status, 20500, "Internal Server Error")
		return
	}
	if late {
		// No answer while the client waits; the change is made once it gave up.
		<-r.Context().Done()
		held := r.Clone(context.Background())
		held.PostForm = r.PostForm
		a.mu.Lock()
		a.held = append(a.held, held)
		if a.heldCh != nil {
			close(a.heldCh)
			a.heldCh = nil
		}
		a.mu.Unlock()
		return
	}
	if lost != 0 {
		serve(discardWriter{header: http.Header{}}, r)
		apiError(w, lost, 20500, "Bad Gateway")
		return
	}
	serve(w, r)
}

type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

// serve carries out an authenticated request.
func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/2010-04-01/Accounts/"+a.AccountSID+".json" && r.Method == http.MethodGet {
		a.account(w)
		return
	}
	prefix := "/2010-04-01/Accounts/" + a.AccountSID + "/"
	rest, found := strings.CutPrefix(r.URL.Path, prefix)
	if !found {
		apiError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	switch {
	case rest == "Calls.json" && r.Method == http.MethodPost:
		a.createCall(w, r.PostForm)
		return
	case strings.HasPrefix(rest, "Calls/") && r.Method == http.MethodPost:
		a.updateCall(w, strings.TrimSuffix(strings.TrimPrefix(rest, "Calls/"), ".json"), r.PostForm)
		return
	case rest == "IncomingPhoneNumbers.json" && r.Method == http.MethodGet:
		a.listNumbers(w, r)
		return
	case strings.HasPrefix(rest, "IncomingPhoneNumbers/"):
		a.number(w, r, strings.TrimSuffix(strings.TrimPrefix(rest, "IncomingPhoneNumbers/"), ".json"))
		return
	}
	apiError(w, http.StatusNotFound, 20404, "The requested resource was not found")
}

// account answers the Accounts resource as Twilio does, auth token included (a
// client must not keep or show it).
func (a *API) account(w http.ResponseWriter) {
	status := a.AccountStatus
	if status == "" {
		status = "active"
	}
	writeJSON(w, map[string]any{"sid": a.AccountSID, "owner_account_sid": a.AccountSID, "friendly_name": "My first Twilio account",
		"status": status, "type": "Full", "auth_token": a.AuthToken,
		"date_created": "Thu, 01 Jan 2026 00:00:00 +0000", "date_updated": "Thu, 01 Jan 2026 00:00:00 +0000",
		"uri": "/2010-04-01/Accounts/" + a.AccountSID + ".json"})
}

func (a *API) listNumbers(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	var list []PhoneNumber
	for _, n := range a.numbers {
		if f := r.URL.Query().Get("PhoneNumber"); f == "" || f == n.PhoneNumber {
			list = append(list, *n)
		}
	}
	a.mu.Unlock()
	writeJSON(w, map[string]any{"incoming_phone_numbers": list, "page": 0, "page_size": 100, "next_page_uri": nil})
}

func (a *API) number(w http.ResponseWriter, r *http.Request, sid string) {
	a.mu.Lock()
	var n *PhoneNumber
	for _, x := range a.numbers {
		if x.SID == sid {
			n = x
		}
	}
	if n == nil {
		a.mu.Unlock()
		apiError(w, http.StatusNotFound, 20404, "The requested resource /IncomingPhoneNumbers/"+sid+".json was not found")
		return
	}
	if r.Method == http.MethodPost {
		for field, dst := range map[string]*string{"VoiceUrl": &n.VoiceURL, "VoiceMethod": &n.VoiceMethod,
			"VoiceFallbackUrl": &n.VoiceFallbackURL, "VoiceFallbackMethod": &n.VoiceFallbackMethod,
			"VoiceApplicationSid": &n.VoiceApplicationSID} {
			if vals, ok := r.PostForm[field]; ok {
				*dst = vals[0]
			}
		}
		// A number has a trunk or a TwiML App, never both: setting one clears the
		// other (Twilio's IncomingPhoneNumber TrunkSid).
		if vals, ok := r.PostForm["TrunkSid"]; ok {
			if vals[0] != "" && a.trunking.trunks[vals[0]] == nil {
				a.mu.Unlock()
				apiError(w, http.StatusNotFound, 20404, "The requested resource /Trunks/"+vals[0]+" was not found")
				return
			}
			n.TrunkSID = vals[0]
			if n.TrunkSID != "" {
				n.VoiceApplicationSID = ""
			}
		} else if r.PostForm.Get("VoiceApplicationSid") != "" {
			n.TrunkSID = ""
		}
	}
	cur := *n
	a.mu.Unlock()
	writeJSON(w, cur)
}

func (a *API) createCall(w http.ResponseWriter, form url.Values) {
	if form.Get("To") == "" || form.Get("From") == "" || (form.Get("Url") == "" && form.Get("Twiml") == "") {
		apiError(w, http.StatusBadRequest, 21201, "To, From and Url are required")
		return
	}
	a.mu.Lock()
	a.callSeq++
	sid := fmt.Sprintf("CA%032d", a.callSeq)
	a.mu.Unlock()
	a.SetCall(sid, "queued")
	writeJSON(w, map[string]any{"sid": sid, "status": "queued", "to": form.Get("To"), "from": form.Get("From")})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (a *API) updateCall(w http.ResponseWriter, sid string, form url.Values) {
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
