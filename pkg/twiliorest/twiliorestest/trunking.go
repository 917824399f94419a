package twiliorestest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The Elastic SIP Trunking API, on its own host in Twilio (trunking.twilio.com):
// serve Trunking() on a second httptest server and point the client's trunking
// base URL at it. It shares the account, the numbers, the requests recorded and
// the failures asked for (FailNext, LoseNextAnswer, LateNextUpdate: by path
// suffix) with the API. What it enforces, as Twilio does:
//
//   - a trunk's domain name ends with .pstn.twilio.com and is unique; a deleted
//     trunk's domain stays taken (Twilio keeps it for up to 30 days): error 21248
//   - an origination URL needs Weight, Priority, Enabled, FriendlyName and SipUrl,
//     and the SipUrl is a sip: URI (sips: is refused)
//   - a number is on one trunk at most; putting it on a trunk clears its TwiML
//     App; its voice URL stays (unused while it is on the trunk)
//   - unknown trunks, origination URLs and numbers are 404 with error 20404
//
// The codes of the 400 answers other than 21248 are not documented by Twilio:
// the fake answers 20001, and callagent never depends on them.

// Trunk is a SIP trunk of the fake account.
type Trunk struct {
	SID          string `json:"sid"`
	AccountSID   string `json:"account_sid"`
	FriendlyName string `json:"friendly_name"`
	DomainName   string `json:"domain_name"`
}

// OriginationURL is an origination URL of a fake trunk.
type OriginationURL struct {
	SID          string `json:"sid"`
	AccountSID   string `json:"account_sid"`
	TrunkSID     string `json:"trunk_sid"`
	FriendlyName string `json:"friendly_name"`
	SIPURL       string `json:"sip_url"`
	Enabled      bool   `json:"enabled"`
	Priority     int    `json:"priority"`
	Weight       int    `json:"weight"`
}

type trunkState struct {
	trunks  map[string]*Trunk
	origins map[string][]*OriginationURL // trunk SID → its origination URLs
	taken   map[string]bool              // domain names no new trunk may have
	seq     int
}

func (t *trunkState) init() {
	if t.trunks == nil {
		t.trunks, t.origins, t.taken = map[string]*Trunk{}, map[string][]*OriginationURL{}, map[string]bool{}
	}
}

// Trunking is the Elastic SIP Trunking API's handler (trunking.twilio.com).
func (a *API) Trunking() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.front(w, r, a.serveTrunking) })
}

// AddTrunk adds a trunk to the fake account (one the user made), with its
// origination URLs; it returns the trunk's SID.
func (a *API) AddTrunk(t Trunk, origins ...OriginationURL) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.trunking.init()
	if t.SID == "" {
		t.SID = a.nextSID("TK")
	}
	t.AccountSID = a.AccountSID
	a.trunking.trunks[t.SID] = &t
	if t.DomainName != "" {
		a.trunking.taken[t.DomainName] = true
	}
	for _, o := range origins {
		o.TrunkSID, o.AccountSID = t.SID, a.AccountSID
		if o.SID == "" {
			o.SID = a.nextSID("OU")
		}
		a.trunking.origins[t.SID] = append(a.trunking.origins[t.SID], &o)
	}
	return t.SID
}

// TakeDomain makes a domain name taken, as by a trunk of another account.
func (a *API) TakeDomain(domain string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.trunking.init()
	a.trunking.taken[domain] = true
}

// Trunks returns the account's trunks, by SID.
func (a *API) Trunks() []Trunk {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Trunk
	for _, t := range a.trunking.trunks {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(x, y Trunk) int { return strings.Compare(x.SID, y.SID) })
	return out
}

// OriginationURLs returns a trunk's origination URLs.
func (a *API) OriginationURLs(trunkSID string) []OriginationURL {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []OriginationURL
	for _, o := range a.trunking.origins[trunkSID] {
		out = append(out, *o)
	}
	return out
}

func (a *API) nextSID(prefix string) string {
	a.trunking.seq++
	return fmt.Sprintf("%s%032d", prefix, a.trunking.seq)
}

func (a *API) serveTrunking(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.trunking.init()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "v1" || parts[1] != "Trunks" {
		apiError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	parts = parts[2:]
	if len(parts) == 0 {
		switch r.Method {
		case http.MethodGet:
			var list []Trunk
			for _, t := range a.trunking.trunks {
				list = append(list, *t)
			}
			slices.SortFunc(list, func(x, y Trunk) int { return strings.Compare(x.SID, y.SID) })
			writeJSON(w, map[string]any{"trunks": list, "meta": listMeta("trunks", r)})
		case http.MethodPost:
			a.createTrunk(w, r)
		default:
			apiError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		}
		return
	}
	t := a.trunking.trunks[parts[0]]
	if t == nil {
		apiError(w, http.StatusNotFound, 20404, "The requested resource /Trunks/"+parts[0]+" was not found")
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		writeJSON(w, t)
	case len(parts) == 1 && r.Method == http.MethodDelete:
		delete(a.trunking.trunks, t.SID)
		delete(a.trunking.origins, t.SID)
		for _, n := range a.numbers {
			if n.TrunkSID == t.SID {
				n.TrunkSID = ""
			}
		}
		w.WriteHeader(http.StatusNoContent) // its domain stays taken
	case len(parts) >= 2 && parts[1] == "OriginationUrls":
		a.origination(w, r, t, parts[2:])
	case len(parts) >= 2 && parts[1] == "PhoneNumbers":
		a.trunkNumber(w, r, t, parts[2:])
	default:
		apiError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	}
}

func listMeta(key string, r *http.Request) map[string]any {
	return map[string]any{"key": key, "page": 0, "page_size": 100, "first_page_url": r.URL.String(), "url": r.URL.String(),
		"next_page_url": nil, "previous_page_url": nil}
}

func (a *API) createTrunk(w http.ResponseWriter, r *http.Request) {
	domain := r.PostForm.Get("DomainName")
	if domain != "" {
		name, ok := strings.CutSuffix(domain, ".pstn.twilio.com")
		if !ok || name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			apiError(w, http.StatusBadRequest, 20001, "Invalid DomainName: letters, digits and - ending with pstn.twilio.com")
			return
		}
		if a.trunking.taken[domain] {
			apiError(w, http.StatusBadRequest, 21248, "Trunk Domain already taken")
			return
		}
		a.trunking.taken[domain] = true
	}
	t := &Trunk{SID: a.nextSID("TK"), AccountSID: a.AccountSID, FriendlyName: r.PostForm.Get("FriendlyName"), DomainName: domain}
	a.trunking.trunks[t.SID] = t
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, t)
}

func (a *API) origination(w http.ResponseWriter, r *http.Request, t *Trunk, rest []string) {
	list := a.trunking.origins[t.SID]
	if len(rest) == 0 {
		switch r.Method {
		case http.MethodGet:
			out := []OriginationURL{}
			for _, o := range list {
				out = append(out, *o)
			}
			writeJSON(w, map[string]any{"origination_urls": out, "meta": listMeta("origination_urls", r)})
		case http.MethodPost:
			o := &OriginationURL{SID: a.nextSID("OU"), AccountSID: a.AccountSID, TrunkSID: t.SID}
			for _, k := range []string{"Weight", "Priority", "Enabled", "FriendlyName", "SipUrl"} {
				if _, ok := r.PostForm[k]; !ok {
					apiError(w, http.StatusBadRequest, 20001, "Missing required parameter "+k+" in the post body")
					return
				}
			}
			if !a.setOrigination(w, o, r) {
				return
			}
			a.trunking.origins[t.SID] = append(list, o)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			writeJSON(w, o)
		default:
			apiError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		}
		return
	}
	i := slices.IndexFunc(list, func(o *OriginationURL) bool { return o.SID == rest[0] })
	if i < 0 || len(rest) > 1 {
		apiError(w, http.StatusNotFound, 20404, "The requested resource /Trunks/"+t.SID+"/OriginationUrls/"+rest[0]+" was not found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, list[i])
	case http.MethodPost:
		c := *list[i]
		if a.setOrigination(w, &c, r) {
			*list[i] = c
			writeJSON(w, c)
		}
	case http.MethodDelete:
		a.trunking.origins[t.SID] = slices.Delete(list, i, i+1)
		w.WriteHeader(http.StatusNoContent)
	default:
		apiError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

// setOrigination applies the form's fields to o, or answers the error.
func (a *API) setOrigination(w http.ResponseWriter, o *OriginationURL, r *http.Request) bool {
	f := r.PostForm
	if v, ok := f["SipUrl"]; ok {
		if !strings.HasPrefix(v[0], "sip:") {
			apiError(w, http.StatusBadRequest, 20001, "SipUrl must be a sip: URI (sips: is not supported)")
			return false
		}
		o.SIPURL = v[0]
	}
	if v, ok := f["FriendlyName"]; ok {
		if len(v[0]) > 64 {
			apiError(w, http.StatusBadRequest, 20001, "FriendlyName is longer than 64 characters")
			return false
		}
		o.FriendlyName = v[0]
	}
	if v, ok := f["Enabled"]; ok {
		b, err := strconv.ParseBool(v[0])
		if err != nil {
			apiError(w, http.StatusBadRequest, 20001, "Enabled must be true or false")
			return false
		}
		o.Enabled = b
	}
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"Priority", &o.Priority, 0, 65535}, {"Weight", &o.Weight, 1, 65535}} {
		v, ok := f[p.name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v[0])
		if err != nil || n < p.min || n > p.max {
			apiError(w, http.StatusBadRequest, 20001, fmt.Sprintf("%s must be an integer from %d to %d", p.name, p.min, p.max))
			return false
		}
		*p.dst = n
	}
	return true
}

func (a *API) trunkNumber(w http.ResponseWriter, r *http.Request, t *Trunk, rest []string) {
	find := func(sid string) *PhoneNumber {
		for _, n := range a.numbers {
			if n.SID == sid {
				return n
			}
		}
		return nil
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		out := []PhoneNumber{}
		for _, n := range a.numbers {
			if n.TrunkSID == t.SID {
				out = append(out, *n)
			}
		}
		writeJSON(w, map[string]any{"phone_numbers": out, "meta": listMeta("phone_numbers", r)})
	case len(rest) == 0 && r.Method == http.MethodPost:
		sid := r.PostForm.Get("PhoneNumberSid")
		n := find(sid)
		switch {
		case sid == "":
			apiError(w, http.StatusBadRequest, 20001, "Missing required parameter PhoneNumberSid in the post body")
			return
		case n == nil:
			apiError(w, http.StatusNotFound, 20404, "The requested resource /IncomingPhoneNumbers/"+sid+" was not found")
			return
		case n.TrunkSID != "":
			apiError(w, http.StatusBadRequest, 20001, "Phone number "+n.PhoneNumber+" is already associated with trunk "+n.TrunkSID)
			return
		}
		n.TrunkSID, n.VoiceApplicationSID = t.SID, ""
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		writeJSON(w, n)
	case len(rest) == 1 && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
		n := find(rest[0])
		if n == nil || n.TrunkSID != t.SID {
			apiError(w, http.StatusNotFound, 20404, "The requested resource /Trunks/"+t.SID+"/PhoneNumbers/"+rest[0]+" was not found")
			return
		}
		if r.Method == http.MethodGet {
			writeJSON(w, n)
			return
		}
		n.TrunkSID = ""
		w.WriteHeader(http.StatusNoContent)
	default:
		apiError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	}
}
