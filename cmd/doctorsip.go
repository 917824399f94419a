package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/callagent/callagent/internal/publicurl"
	"github.com/callagent/callagent/internal/retry"
	"github.com/callagent/callagent/pkg/openaiwebhook"
	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/sipcall"
	"github.com/callagent/callagent/pkg/twiliorest"
)

// doctor's checks of transport sip (--sip, or transport: sip in callagent.yaml):
// what OpenAI and Twilio must hold for a call to reach callagent over SIP
// (docs/SIP.md, docs/DEPLOY.md#sip). With a public URL doctor checks serve's
// set-up, made by hand; without one, what dev --sip needs to make its own. Like
// the other checks they only read, and no secret is printed: the webhook
// secret is compared with the API's masked hint, never shown.

// Check ids of transport sip (stable: --json).
const (
	checkSIPProject  = "openai_project"
	checkSIPWebhooks = "openai_webhooks"
	checkSIPEndpoint = "openai_webhook_endpoint"
	checkSIPTrunk    = "sip_trunk"
)

const (
	openAIProjectSettings = "https://platform.openai.com/settings/organization/general"
	openAIWebhookSettings = "https://platform.openai.com/settings/project/webhooks"
)

// sipTarget is what the SIP checks compare with.
type sipTarget struct {
	project string // OPENAI_PROJECT_ID or --openai-project; "" when not set
	region  string // --sip-region
	// serve: a public URL is given, so serve's set-up (made by hand) is
	// checked; without one, dev --sip makes the endpoint and the trunk itself.
	serve bool
}

// uri is OpenAI's SIP endpoint for the project, as dev --sip sets it on its trunk
// and DEPLOY.md tells serve's users to; "" when the project is unknown or malformed.
func (s sipTarget) uri() string {
	if !projectIDOK(s.project) {
		return ""
	}
	return sipOptions{OpenAIProject: s.project, SIPRegion: s.region}.uri()
}

// projectIDOK is dev --sip's rule for a project id (sipOptions.resolve): proj_…,
// with nothing that would break the SIP URI it goes into.
func projectIDOK(id string) bool {
	return strings.HasPrefix(id, "proj_") && len(id) > len("proj_") && !strings.ContainsAny(id, "@;: /")
}

// sipProjectCheck says whether the project id is set and well-formed. dev --sip
// refuses to start without it; serve does not use it, but the trunk's
// origination URI cannot be checked without it.
func sipProjectCheck(t sipTarget) checkResult {
	const title = "OpenAI project"
	fix := "Copy the project id (proj_…) from " + openAIProjectSettings + " (under the project of OPENAI_API_KEY) into OPENAI_PROJECT_ID, or pass --openai-project."
	switch {
	case t.project == "" && t.serve:
		return problem(checkSIPProject, title, verdictWarn,
			"OPENAI_PROJECT_ID is not set: serve does not need it, but the SIP trunk's origination URI cannot be checked without it", fix)
	case t.project == "":
		return problem(checkSIPProject, title, verdictFail,
			"OPENAI_PROJECT_ID is not set: dev --sip points callagent's SIP trunk at the project's SIP endpoint with it", fix)
	case !projectIDOK(t.project):
		return problem(checkSIPProject, title, verdictFail, fmt.Sprintf("%q is not an OpenAI project id (proj_…)", t.project), fix)
	}
	return okResult(checkSIPProject, title, t.project+": calls come in at "+t.uri())
}

// sipWebhookChecks lists the project's webhook endpoints with the key: whether it
// may (webhooks), and, for serve, whether one sends the engine's incoming-call
// event to this server with the secret serve holds (endpoint).
func sipWebhookChecks(ctx context.Context, hc *http.Client, base, key, publicURL, secret string, events []string, t sipTarget) (webhooks, endpoint checkResult) {
	const title = "OpenAI webhooks"
	endpoint = sipEndpointSkipped(publicURL, secret, t, "")
	if key == "" {
		return skipped(checkSIPWebhooks, title, "no OpenAI API key to ask with"), endpoint
	}
	hooks, err := openaiwebhook.New(openaiwebhook.Options{BaseURL: httpBase(base), APIKey: key, HTTPClient: hc, Retry: retry.Policy{Attempts: 1}})
	if err != nil {
		return problem(checkSIPWebhooks, title, verdictFail, err.Error(), "Fix OPENAI_BASE_URL, or unset it for https://api.openai.com/v1."), endpoint
	}
	list, err := hooks.List(ctx)
	var e *openaiwebhook.Error
	switch {
	case errors.As(err, &e) && e.Status == http.StatusUnauthorized:
		return problem(checkSIPWebhooks, title, verdictFail, "OpenAI refused OPENAI_API_KEY when listing the project's webhook endpoints (HTTP 401)",
			"Create a key at "+openAIKeysURL+" in the project of the SIP calls and set OPENAI_API_KEY to it."), sipEndpointSkipped(publicURL, secret, t, "the key was refused")
	case errors.As(err, &e) && e.Denied():
		code := ""
		if e.Code != "" {
			code = " " + e.Code
		}
		detail := fmt.Sprintf("the key may not manage the project's webhook endpoints (HTTP %d%s)", e.Status, code)
		why := "the key may not list them"
		if t.serve || secret != "" {
			// serve never calls this API, nor dev with an endpoint of the user's.
			return problem(checkSIPWebhooks, title, verdictWarn, detail+": the endpoint cannot be checked",
				"Give the key the permission to manage webhooks (Webhooks: Write, in the key's permissions on "+openAIKeysURL+
					") for doctor to check the endpoint; the calls do not need it."), sipEndpointSkipped(publicURL, secret, t, why)
		}
		return problem(checkSIPWebhooks, title, verdictFail, detail+": dev --sip cannot create the endpoint for its tunnel",
			"Give the key the permission to manage webhooks (Webhooks: Write, in the key's permissions on "+openAIKeysURL+
				"), or create the endpoint by hand and set "+envWebhookSecret+" to its signing secret (docs/SIP.md)."), sipEndpointSkipped(publicURL, secret, t, why)
	case err != nil:
		return problem(checkSIPWebhooks, title, verdictWarn, "OpenAI did not answer as expected: "+err.Error(),
			"Check the network (a proxy? HTTPS_PROXY), or OPENAI_BASE_URL if you set one, then try again."), sipEndpointSkipped(publicURL, secret, t, "they could not be listed")
	}
	webhooks = okResult(checkSIPWebhooks, title, "the key may manage the project's webhook endpoints ("+plural(len(list), "endpoint")+")")
	if !t.serve {
		return webhooks, endpoint
	}
	return webhooks, sipEndpointCheck(list, webhookForSIP(publicURL), secret, events)
}

// sipEndpointSkipped is the endpoint check when the endpoints are not looked at:
// the secret's presence and form can still be told.
func sipEndpointSkipped(publicURL, secret string, t sipTarget, why string) checkResult {
	const title = "OpenAI webhook endpoint"
	if !t.serve {
		if r, bad := sipSecretProblem(secret, "your tunnel's "+server.PathSIPWebhook); secret != "" && bad {
			return r // dev --sip verifies with it: an endpoint of the user's
		}
		return skipped(checkSIPEndpoint, title, "dev --sip creates one for its tunnel (or uses yours, with "+envWebhookSecret+
			"); give --public-url to check serve's")
	}
	if r, bad := sipSecretProblem(secret, webhookForSIP(publicURL)); bad {
		return r
	}
	return skipped(checkSIPEndpoint, title, why+"; "+envWebhookSecret+" is set")
}

// sipSecretProblem says what is wrong with OPENAI_WEBHOOK_SECRET, never showing it.
func sipSecretProblem(secret, hook string) (checkResult, bool) {
	const title = "OpenAI webhook endpoint"
	fix := "Copy the signing secret (whsec_…) of the endpoint for " + hook + " into " + envWebhookSecret +
		" (it is shown once, at creation: rotate it in " + openAIWebhookSettings + " to see a new one)."
	if secret == "" {
		return problem(checkSIPEndpoint, title, verdictFail, envWebhookSecret+" is not set: serve verifies every incoming-call webhook with it", fix), true
	}
	if _, err := sipcall.Sign(secret, "msg_doctor", time.Unix(0, 0), nil); err != nil {
		return problem(checkSIPEndpoint, title, verdictFail, envWebhookSecret+" is not a signing secret: "+
			strings.TrimPrefix(err.Error(), sipcall.ErrBadSecret.Error()+": "), fix), true
	}
	return checkResult{}, false
}

// sipEndpointCheck finds the endpoint that sends events to hook and judges it:
// every event subscribed, and secret the endpoint's as far as its hint tells.
func sipEndpointCheck(list []openaiwebhook.Endpoint, hook, secret string, events []string) checkResult {
	const title = "OpenAI webhook endpoint"
	create := "In " + openAIWebhookSettings + " create an endpoint: URL " + hook + ", event " + strings.Join(events, ", ") +
		"; then put its signing secret in " + envWebhookSecret + "."
	var mine []openaiwebhook.Endpoint
	var others []string
	for _, e := range list {
		if sameWebhookURL(e.URL, hook) {
			mine = append(mine, e)
		} else {
			others = append(others, e.URL)
		}
	}
	if len(mine) == 0 {
		detail := "no webhook endpoint of the project sends to " + hook
		if len(others) > 0 {
			detail += " (it has " + strings.Join(others, ", ") + ")"
		}
		return problem(checkSIPEndpoint, title, verdictFail, detail, create)
	}
	var ep openaiwebhook.Endpoint
	found := false
	for _, e := range mine {
		if containsAll(e.EventTypes, events) {
			ep, found = e, true
			break
		}
	}
	if !found {
		e := mine[0]
		return problem(checkSIPEndpoint, title, verdictFail,
			fmt.Sprintf("the endpoint %s sends %s to %s, not %s: no call would reach serve", e.ID, orText(strings.Join(e.EventTypes, ", "), "no event"), hook, strings.Join(events, ", ")),
			"In "+openAIWebhookSettings+" add the event "+strings.Join(events, ", ")+" to the endpoint "+e.ID+".")
	}
	if r, bad := sipSecretProblem(secret, hook); bad {
		return r
	}
	if !hintMatches(ep.SecretHint, secret) {
		return problem(checkSIPEndpoint, title, verdictWarn,
			fmt.Sprintf("%s is not the signing secret of the endpoint %s (its hint differs): every webhook would be refused (401)", envWebhookSecret, ep.ID),
			"Copy the endpoint's signing secret into "+envWebhookSecret+" (rotate it in "+openAIWebhookSettings+" to see a new one).")
	}
	return okResult(checkSIPEndpoint, title, fmt.Sprintf("%s sends %s to %s; %s is set", ep.ID, strings.Join(events, ", "), hook, envWebhookSecret))
}

// hintMatches says whether secret may be the one the API's masked hint stands
// for: the hint's visible start and end (around its asterisks) are the secret's.
// A hint without asterisks (a form not known) or none tells nothing.
func hintMatches(hint, secret string) bool {
	first, last := strings.IndexByte(hint, '*'), strings.LastIndexByte(hint, '*')
	if first < 0 {
		return true
	}
	pre, suf := hint[:first], hint[last+1:]
	return len(secret) >= len(pre)+len(suf) && strings.HasPrefix(secret, pre) && strings.HasSuffix(secret, suf)
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// sameWebhookURL compares two https URLs as OpenAI would deliver to them: the
// host without case, a trailing slash aside.
func sameWebhookURL(a, b string) bool {
	norm := func(s string) string {
		pub, err := publicurl.ParseInsecureHTTP(strings.TrimSuffix(s, server.PathSIPWebhook))
		if err != nil || !strings.HasSuffix(strings.TrimSuffix(s, "/"), server.PathSIPWebhook) {
			return strings.TrimSuffix(s, "/")
		}
		return strings.ToLower(pub) + server.PathSIPWebhook
	}
	return norm(a) == norm(b)
}

// httpBase is OPENAI_BASE_URL as an https URL (the Realtime dials accept wss://).
func httpBase(base string) string {
	if rest, ok := strings.CutPrefix(base, "wss://"); ok {
		return "https://" + rest
	}
	if rest, ok := strings.CutPrefix(base, "ws://"); ok {
		return "http://" + rest
	}
	return base
}

// sipNumber judges where n's calls go over SIP (twilioCheck.run with sip set): for
// serve, on a trunk whose origination URI is the project's SIP endpoint; for dev
// --sip, free to be put on callagent's trunk.
func (t twilioCheck) sipNumber(ctx context.Context, rest *twiliorest.Client, p *provision.Provisioner, n provision.Number) (number, trunk checkResult) {
	const title, trunkTitle = "Phone number", "SIP trunk"
	num := n.PhoneNumber
	if !t.sip.serve {
		trunk = skipped(checkSIPTrunk, trunkTitle, "dev --sip sets the origination URI of callagent's trunk itself")
		sessions, _ := p.Sessions()
		for _, s := range sessions {
			if s.Number.SID == n.SID {
				return okResult(checkNumber, title, fmt.Sprintf("%s goes to the callagent dev running here (pid %d)", num, s.PID)), trunk
			}
		}
		if err := p.SIPPointable(ctx, n, false); err != nil {
			fix := "Run dev --sip with --take-over (it is put back on exit), or use another number (--number)."
			if errors.Is(err, provision.ErrOtherDev) {
				fix = "Stop that dev (it puts the number back), or run dev --sip with --take-over."
			}
			return problem(checkNumber, title, verdictWarn, err.Error(), fix), trunk
		}
		return okResult(checkNumber, title, num+" goes to "+n.Destination()+"; dev --sip puts it on callagent's SIP trunk while it runs and puts it back after"), trunk
	}
	uri := orText(t.sip.uri(), "sip:PROJECT_ID@sip.api.openai.com;transport=tls")
	if n.TrunkSID == "" {
		return problem(checkNumber, title, verdictWarn, num+" is on no SIP trunk: its calls go to "+n.Destination()+", not to OpenAI",
				"In the Twilio console (Elastic SIP Trunking › your trunk › Numbers) attach "+num+" to the trunk whose origination URI is "+uri+"."),
			skipped(checkSIPTrunk, trunkTitle, num+" is on no SIP trunk")
	}
	tr, err := rest.FetchTrunk(ctx, n.TrunkSID)
	if err != nil {
		return problem(checkNumber, title, verdictWarn, fmt.Sprintf("%s is on SIP trunk %s, which could not be read: %v", num, n.TrunkSID, err),
				"Check the network and https://status.twilio.com, then try again."),
			skipped(checkSIPTrunk, trunkTitle, "the trunk could not be read")
	}
	number = okResult(checkNumber, title, fmt.Sprintf("%s goes to SIP trunk %s (%s)", num, tr.SID, orText(tr.FriendlyName, tr.DomainName)))
	return number, t.trunkOrigination(ctx, rest, tr, uri)
}

// sipURIParts are what a trunk's origination URI says: OpenAI's SIP endpoint
// when host is one of OpenAI's, for the project user.
type sipURIParts struct {
	user, host string
	tls        bool
}

// openAISIPHosts are OpenAI's SIP endpoints: the global one and GPT-Live's regions.
var openAISIPHosts = []string{"sip.api.openai.com", "sip-eu.api.openai.com", "sip-in.api.openai.com"}

func parseSIPURI(s string) (sipURIParts, bool) {
	lower := strings.ToLower(s)
	rest, ok := strings.CutPrefix(lower, "sip:")
	if !ok {
		if rest, ok = strings.CutPrefix(lower, "sips:"); !ok {
			return sipURIParts{}, false
		}
	}
	start := len(s) - len(rest) // the user part keeps its case
	parts := strings.Split(s[start:], ";")
	user, hostport, ok := strings.Cut(parts[0], "@")
	if !ok {
		return sipURIParts{}, false
	}
	host, _, _ := strings.Cut(hostport, ":")
	p := sipURIParts{user: user, host: strings.ToLower(host)}
	for _, param := range parts[1:] {
		if strings.EqualFold(param, "transport=tls") {
			p.tls = true
		}
	}
	return p, true
}

// trunkOrigination checks that the trunk sends its calls to uri: an enabled
// origination URL at OpenAI's SIP endpoint for the project, over TLS.
func (t twilioCheck) trunkOrigination(ctx context.Context, rest *twiliorest.Client, tr twiliorest.Trunk, uri string) checkResult {
	const title = "SIP trunk"
	origins, err := rest.ListOriginationURLs(ctx, tr.SID)
	if err != nil {
		return problem(checkSIPTrunk, title, verdictWarn, fmt.Sprintf("the origination URLs of %s could not be read: %v", tr.SID, err),
			"Check the network and https://status.twilio.com, then try again.")
	}
	set := "In the Twilio console (Elastic SIP Trunking › " + tr.SID + " › Origination) set the origination URI to " + uri + "."
	var elsewhere, disabled []string
	var otherProject, noTLS, wrongRegion, unknownProject *twiliorest.OriginationURL
	for i, o := range origins {
		p, ok := parseSIPURI(o.SIPURL)
		switch {
		case !ok || !slices.Contains(openAISIPHosts, p.host):
			if o.Enabled {
				elsewhere = append(elsewhere, o.SIPURL)
			}
		case !o.Enabled:
			disabled = append(disabled, o.SIPURL)
		case t.sip.uri() == "":
			unknownProject = &origins[i]
		case p.user != t.sip.project:
			otherProject = &origins[i]
		case !p.tls:
			noTLS = &origins[i]
		case t.sip.region != "" && !strings.EqualFold(o.SIPURL, uri):
			wrongRegion = &origins[i]
		default:
			return okResult(checkSIPTrunk, title, fmt.Sprintf("%s sends its calls to %s", tr.SID, o.SIPURL))
		}
	}
	switch {
	case unknownProject != nil:
		return problem(checkSIPTrunk, title, verdictWarn, fmt.Sprintf("%s sends its calls to %s; without a valid OPENAI_PROJECT_ID its project cannot be checked", tr.SID, unknownProject.SIPURL),
			"Set OPENAI_PROJECT_ID (the project of OPENAI_API_KEY, on "+openAIProjectSettings+") and run doctor again.")
	case otherProject != nil:
		return problem(checkSIPTrunk, title, verdictFail, fmt.Sprintf("%s sends its calls to %s: another project than %s, whose key answers them", tr.SID, otherProject.SIPURL, t.sip.project), set)
	case noTLS != nil:
		return problem(checkSIPTrunk, title, verdictWarn, fmt.Sprintf("%s sends its calls to %s, without ;transport=tls", tr.SID, noTLS.SIPURL), set)
	case wrongRegion != nil:
		return problem(checkSIPTrunk, title, verdictWarn, fmt.Sprintf("%s sends its calls to %s, not to the --sip-region endpoint", tr.SID, wrongRegion.SIPURL), set)
	}
	detail := tr.SID + " has no origination URI: its calls go nowhere"
	switch {
	case len(disabled) > 0:
		detail = fmt.Sprintf("%s's origination URI to OpenAI is disabled (%s)", tr.SID, strings.Join(disabled, ", "))
	case len(elsewhere) > 0:
		detail = fmt.Sprintf("%s sends its calls to %s, not to OpenAI", tr.SID, strings.Join(elsewhere, ", "))
	}
	return problem(checkSIPTrunk, title, verdictFail, detail, set)
}
