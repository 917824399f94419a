package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callagent/callagent/internal/publicurl"
	"github.com/callagent/callagent/internal/retry"
	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/server"
	"github.com/callagent/callagent/pkg/twiliorest"
)

// The checks of `callagent doctor` and of the start of dev and serve. Each check
// has a verdict and, when not ok, the fix in one sentence; doctor shows them all,
// dev and serve refuse to start on a failed one. The network checks run
// concurrently, each bounded by the run's timeout; nothing here changes anything
// at Twilio, OpenAI or ngrok.

// verdict is a check's outcome.
type verdict string

const (
	verdictOK      verdict = "ok"
	verdictWarn    verdict = "warn"    // works, but something may surprise the first call
	verdictFail    verdict = "fail"    // the first call would fail: doctor exits 1, dev and serve refuse to start
	verdictSkipped verdict = "skipped" // not checked; Detail says why
)

// checkResult is one check as doctor shows it and --json prints it. The JSON names
// are documented (README, "callagent doctor") and do not change.
type checkResult struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Verdict verdict `json:"verdict"`
	Detail  string  `json:"detail"`
	Fix     string  `json:"fix,omitempty"`
}

func okResult(id, title, detail string) checkResult {
	return checkResult{ID: id, Title: title, Verdict: verdictOK, Detail: detail}
}

func skipped(id, title, why string) checkResult {
	return checkResult{ID: id, Title: title, Verdict: verdictSkipped, Detail: why}
}

func problem(id, title string, v verdict, detail, fix string) checkResult {
	return checkResult{ID: id, Title: title, Verdict: v, Detail: detail, Fix: fix}
}

// Check ids (stable: --json).
const (
	checkConfig      = "config"
	checkOpenAIKey   = "openai_key"
	checkOpenAIModel = "openai_model"
	checkTwilio      = "twilio_credentials"
	checkNumber      = "twilio_number"
	checkNgrok       = "ngrok_token"
	checkPublicURL   = "public_url"
	checkClock       = "clock"
)

const (
	openAIKeysURL = "https://platform.openai.com/api-keys"
	twilioConsole = "https://console.twilio.com"
)

// clockSkewBound is the clock difference doctor warns about. The Date header has a
// resolution of one second and arrives within a request's round trip (bounded by
// the timeout), so a few seconds are measurement; nothing in a call depends on a
// tight clock (Twilio's signatures carry no time, stream credentials are minted and
// checked by the same server), but the call logs' times are compared with Twilio's
// console and OpenAI's usage by the minute, and a clock half a minute off is not
// synchronised at all (NTP keeps clocks within milliseconds): the next step is
// certificates refused and log times that match nothing.
const clockSkewBound = 30 * time.Second

// clockSample is one server's Date against the local clock.
type clockSample struct {
	source string
	skew   time.Duration // server minus local, at the middle of the request
}

// clockRecorder collects clock samples from the responses of its transports.
type clockRecorder struct {
	now     func() time.Time
	mu      sync.Mutex
	samples []clockSample
}

func (c *clockRecorder) transport(source string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return clockTransport{rec: c, source: source, next: next}
}

func (c *clockRecorder) all() []clockSample {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.samples)
}

type clockTransport struct {
	rec    *clockRecorder
	source string
	next   http.RoundTripper
}

func (t clockTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := t.rec.now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	got := t.rec.now()
	if date, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
		mid := sent.Add(got.Sub(sent) / 2)
		t.rec.mu.Lock()
		t.rec.samples = append(t.rec.samples, clockSample{source: t.source, skew: date.Sub(mid)})
		t.rec.mu.Unlock()
	}
	return resp, nil
}

// clockCheck judges the samples: the local clock is off when every service that
// answered says so (the smallest difference decides, so one server's bad clock
// does not blame ours).
func clockCheck(samples []clockSample) checkResult {
	const title = "Clock"
	if len(samples) == 0 {
		return skipped(checkClock, title, "no service answered with a Date to compare with")
	}
	best := samples[0]
	var sources []string
	for _, s := range samples {
		if s.skew.Abs() < best.skew.Abs() {
			best = s
		}
		if !slices.Contains(sources, s.source) {
			sources = append(sources, s.source)
		}
	}
	slices.Sort(sources)
	against := strings.Join(sources, " and ")
	if best.skew.Abs() <= clockSkewBound {
		return okResult(checkClock, title, fmt.Sprintf("within %s of %s", clockSkewBound, against))
	}
	dir := "behind"
	if best.skew < 0 {
		dir = "ahead of"
	}
	return problem(checkClock, title, verdictWarn,
		fmt.Sprintf("this machine's clock is %s %s %s's (more than %s)", best.skew.Abs().Round(time.Second), dir, best.source, clockSkewBound),
		"Synchronise the clock (turn on network time: timedatectl set-ntp true, or your system's date settings).")
}

// openAIProbe is one GET /v1/models/{model}.
type openAIProbe struct {
	model  string
	status int    // 0: no answer
	code   string // the error's code, if any
	err    error  // no answer
}

// modelsURL is OpenAI's model retrieval URL under base (OPENAI_BASE_URL, which
// names the /v1 root, as the Realtime and Live dials take it).
func modelsURL(base, model string) string {
	if base == "" {
		base = realtime.DefaultBaseURL
	}
	base = strings.TrimSuffix(base, "/")
	if rest, ok := strings.CutPrefix(base, "wss://"); ok {
		base = "https://" + rest
	} else if rest, ok := strings.CutPrefix(base, "ws://"); ok {
		base = "http://" + rest
	}
	return base + "/models/" + url.PathEscape(model)
}

func probeModel(ctx context.Context, hc *http.Client, base, key, model string) openAIProbe {
	p := openAIProbe{model: model}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, modelsURL(base, model), nil)
	if err != nil {
		p.err = fmt.Errorf("OPENAI_BASE_URL %q: want https://host/v1", base)
		return p
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said by the caller; the error alone holds no key
		}
		p.err = err
		return p
	}
	defer resp.Body.Close()
	p.status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		var body struct {
			Error struct {
				Code *string `json:"code"`
			} `json:"error"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) == nil && body.Error.Code != nil {
			p.code = *body.Error.Code
		}
	}
	return p
}

// configModels are the models a call of cfg uses: the Realtime model, or the
// GPT-Live model and its delegated backend's.
func configModels(cfg *agent.Config) []string {
	if agent.LiveModel(cfg.Model) {
		return []string{cfg.Model, cfg.LiveBackendModel()}
	}
	return []string{cfg.Model}
}

// checkOpenAI asks for each model with the key: the key is good when any answer is
// not a 401, and the key may use a model when its answer is 200. models is nil
// when the configuration did not load: the key is then tried on the default model
// and access is not judged.
func checkOpenAI(ctx context.Context, hc *http.Client, base, key string, models []string) (keyRes, modelRes checkResult) {
	const keyTitle, modelTitle = "OpenAI API key", "Model access"
	if key == "" {
		return problem(checkOpenAIKey, keyTitle, verdictFail, "OPENAI_API_KEY is not set",
				"Create a key at "+openAIKeysURL+" and export OPENAI_API_KEY or put it in .env."),
			skipped(checkOpenAIModel, modelTitle, "no OpenAI API key to ask with")
	}
	ask := models
	if len(ask) == 0 {
		ask = []string{realtime.DefaultModel}
	}
	probes := make([]openAIProbe, len(ask))
	var wg sync.WaitGroup
	for i, m := range ask {
		wg.Go(func() { probes[i] = probeModel(ctx, hc, base, key, m) })
	}
	wg.Wait()

	where := "OpenAI"
	if base != "" && base != realtime.DefaultBaseURL {
		where = sanitizeURL(base) + " (OPENAI_BASE_URL)"
	}
	// The key.
	authenticated, unreachable := false, error(nil)
	for _, p := range probes {
		switch {
		case p.status == http.StatusUnauthorized:
			return problem(checkOpenAIKey, keyTitle, verdictFail,
					fmt.Sprintf("%s refused OPENAI_API_KEY (HTTP 401 %s)", where, orText(p.code, "no key")),
					"Create a key at "+openAIKeysURL+" and set OPENAI_API_KEY to it (a key from another project or a revoked one is refused)."),
				skipped(checkOpenAIModel, modelTitle, "the key was refused")
		case p.err != nil:
			unreachable = p.err
		default:
			authenticated = true
		}
	}
	switch {
	case authenticated:
		keyRes = okResult(checkOpenAIKey, keyTitle, where+" accepted OPENAI_API_KEY")
	default:
		return problem(checkOpenAIKey, keyTitle, verdictWarn, fmt.Sprintf("%s did not answer: %v", where, unreachable),
				"Check the network (a proxy? HTTPS_PROXY), or OPENAI_BASE_URL if you set one; the key could not be tried."),
			skipped(checkOpenAIModel, modelTitle, "OpenAI did not answer")
	}
	if len(models) == 0 {
		return keyRes, skipped(checkOpenAIModel, modelTitle, "the configuration did not load: its model is unknown")
	}
	// Access to each model.
	var ok, notFound, unknown []string
	quota := false
	for _, p := range probes {
		switch {
		case p.status == http.StatusOK:
			ok = append(ok, p.model)
		case p.status == http.StatusNotFound && p.code == "model_not_found":
			// Only the API's own answer: a proxy or gateway in front (OPENAI_BASE_URL)
			// may not serve /v1/models at all, which says nothing of the model.
			notFound = append(notFound, p.model)
		case p.status == http.StatusTooManyRequests && p.code == "insufficient_quota":
			quota = true
		case p.err != nil:
			unknown = append(unknown, fmt.Sprintf("%s (no answer: %v)", p.model, p.err))
		default:
			unknown = append(unknown, fmt.Sprintf("%s (HTTP %d %s)", p.model, p.status, p.code))
		}
	}
	engine := "Realtime"
	if agent.LiveModel(models[0]) {
		engine = "GPT-Live"
	}
	switch {
	case quota:
		return keyRes, problem(checkOpenAIModel, modelTitle, verdictFail, "the key's project has no credit left (HTTP 429 insufficient_quota)",
			"Add credit or raise the budget at https://platform.openai.com/settings/organization/billing.")
	case len(notFound) > 0:
		fix := "Choose a model the key's project may use (--model, or model: in callagent.yaml), or allow it in the project's settings (Limits) at https://platform.openai.com/settings."
		if engine == "GPT-Live" && notFound[0] != models[0] {
			fix = "Choose a backend the key's project may use (live: backend_model: in callagent.yaml), or allow it in the project's settings (Limits) at https://platform.openai.com/settings."
		}
		return keyRes, problem(checkOpenAIModel, modelTitle, verdictFail,
			fmt.Sprintf("the key has no access to %s (HTTP 404 model_not_found)", strings.Join(notFound, " and ")), fix)
	case len(unknown) > 0:
		return keyRes, problem(checkOpenAIModel, modelTitle, verdictWarn, "not confirmed: "+strings.Join(unknown, "; "),
			"A restricted key needs Models: Read for this check (calls need only Realtime); otherwise try again, and see https://status.openai.com.")
	}
	detail := engine + ": " + strings.Join(ok, ", ")
	if engine == "GPT-Live" {
		detail = fmt.Sprintf("GPT-Live: %s, backend %s", models[0], models[1])
	}
	return keyRes, okResult(checkOpenAIModel, modelTitle, detail)
}

// twilioMissing lists the Twilio variables that are missing or malformed, each
// with its fix; signatures says TWILIO_AUTH_TOKEN is needed even with an API key
// (it signs webhooks).
func twilioMissing(c twiliorest.Credentials, signatures bool) []string {
	var out []string
	if c.AccountSID == "" {
		out = append(out, "TWILIO_ACCOUNT_SID is not set (the Account SID, AC…, on "+twilioConsole+")")
	}
	switch {
	case c.APIKey != "" && c.APISecret == "":
		out = append(out, "TWILIO_API_KEY is set without TWILIO_API_SECRET: set both, or use TWILIO_AUTH_TOKEN")
	case c.AuthToken == "" && (signatures || c.APIKey == ""):
		out = append(out, "TWILIO_AUTH_TOKEN is not set (the Auth Token, on "+twilioConsole+")")
	}
	if len(out) == 0 {
		if err := c.Check(); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

// twilioCheck proves the credentials by fetching the account, then finds the
// number dev would use and says where its calls go.
type twilioCheck struct {
	creds        twiliorest.Credentials
	baseURL      string // CALLAGENT_TWILIO_API_URL
	trunkingBase string // CALLAGENT_TWILIO_TRUNKING_URL
	hc           *http.Client
	number       string // --number, or "" for the account's only number
	stateDir     func() (string, error)
	webhookURL   string     // PUBLIC/incoming-call when a public URL is known (Media Streams)
	sip          *sipTarget // transport sip: the number goes to a SIP trunk (doctorsip.go)
}

// run returns the credentials' and the number's checks and, over SIP, the
// number's trunk's (zero otherwise).
func (t twilioCheck) run(ctx context.Context) (creds, number, trunk checkResult) {
	creds, rest, why := t.fetchAccount(ctx)
	if t.sip != nil {
		trunk = skipped(checkSIPTrunk, "SIP trunk", why)
	}
	if rest == nil {
		return creds, skipped(checkNumber, "Phone number", why), trunk
	}
	p, n, res, ok := t.findNumber(ctx, rest)
	switch {
	case !ok && t.sip != nil:
		return creds, res, skipped(checkSIPTrunk, "SIP trunk", "no number to look at")
	case !ok:
		return creds, res, trunk
	case t.sip != nil:
		number, trunk = t.sipNumber(ctx, rest, p, n)
		return creds, number, trunk
	}
	return creds, t.whereItGoes(p, n), trunk
}

// fetchAccount proves the credentials. It returns the client when they work, or
// why the number cannot be looked up.
func (t twilioCheck) fetchAccount(ctx context.Context) (checkResult, *twiliorest.Client, string) {
	const title = "Twilio credentials"
	if missing := twilioMissing(t.creds, false); t.sip != nil && t.sip.serve && len(missing) > 0 {
		// serve --sip makes no Twilio request: the credentials only let doctor
		// look at the number's trunk.
		if t.creds == (twiliorest.Credentials{}) {
			return skipped(checkTwilio, title, "no Twilio credentials: serve --sip needs none (set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN for doctor to check the number's SIP trunk)"),
				nil, "no Twilio credentials to look it up with"
		}
		return problem(checkTwilio, title, verdictWarn, strings.Join(missing, "; "),
			"Set them for doctor to check the number's SIP trunk (serve --sip itself needs none)."), nil, "incomplete Twilio credentials"
	}
	if t.webhookURL != "" && t.creds.AccountSID == "" && t.creds.AuthToken != "" && t.creds.APIKey == "" {
		// serve needs only the auth token (signatures); without the SID it cannot be tried.
		return problem(checkTwilio, title, verdictWarn, "TWILIO_ACCOUNT_SID is not set: TWILIO_AUTH_TOKEN cannot be tried, nor the number looked up",
			"Set TWILIO_ACCOUNT_SID (on "+twilioConsole+"): serve needs it only to hang up and transfer, doctor to check the token and the number."), nil, "no TWILIO_ACCOUNT_SID"
	}
	if missing := twilioMissing(t.creds, false); len(missing) > 0 {
		return problem(checkTwilio, title, verdictFail, strings.Join(missing, "; "),
			"Export them or put them in .env (dev needs them to point your number; serve only to hang up and transfer)."), nil, "no Twilio credentials"
	}
	rest, err := twiliorest.New(twiliorest.Options{Credentials: t.creds, BaseURL: t.baseURL, TrunkingBaseURL: t.trunkingBase, HTTPClient: t.hc, Retry: retry.Policy{Attempts: 1}})
	if err != nil {
		return problem(checkTwilio, title, verdictFail, err.Error(), "Fix CALLAGENT_TWILIO_API_URL (or CALLAGENT_TWILIO_TRUNKING_URL), or unset it for Twilio's."), nil, "no Twilio client"
	}
	acct, err := rest.FetchAccount(ctx)
	var te *twiliorest.Error
	switch {
	case errors.As(err, &te) && te.Status == http.StatusUnauthorized:
		return problem(checkTwilio, title, verdictFail, fmt.Sprintf("Twilio refused the credentials (HTTP 401, error %d)", te.Code),
			"Copy the Account SID and Auth Token again from "+twilioConsole+" (a live account's, not the test credentials; a rotated token stops working)."), nil, "Twilio refused the credentials"
	case err != nil:
		return problem(checkTwilio, title, verdictWarn, "Twilio did not answer as expected: "+err.Error(),
			"Check the network and https://status.twilio.com, then try again."), nil, "Twilio did not answer"
	case acct.Status != "" && acct.Status != "active":
		return problem(checkTwilio, title, verdictFail, fmt.Sprintf("the account %s is %s", acct.SID, acct.Status),
			"Reactivate the account in "+twilioConsole+" (calls to a "+acct.Status+" account are not answered)."), nil, "the account is " + acct.Status
	}
	detail := "Twilio account " + acct.SID
	if acct.Type != "" {
		detail += " (" + acct.Type + ", " + orText(acct.Status, "active") + ")"
	}
	if t.creds.APIKey != "" && t.creds.AuthToken == "" {
		return problem(checkTwilio, title, verdictWarn, detail+" through an API key; TWILIO_AUTH_TOKEN is not set",
			"Set TWILIO_AUTH_TOKEN too: webhooks are signed with it, API keys cannot check signatures."), rest, ""
	}
	return okResult(checkTwilio, title, detail), rest, ""
}

// findNumber finds the number dev would use; when it cannot, ok is false and res
// says why.
func (t twilioCheck) findNumber(ctx context.Context, rest *twiliorest.Client) (p *provision.Provisioner, n provision.Number, res checkResult, ok bool) {
	const title = "Phone number"
	dir, err := t.stateDir()
	if err != nil {
		return nil, n, problem(checkNumber, title, verdictWarn, err.Error(), "Set CALLAGENT_STATE_DIR to a directory of your own."), false
	}
	p, err = provision.New(rest, provision.Options{StateDir: dir})
	if err != nil {
		return nil, n, problem(checkNumber, title, verdictWarn, err.Error(), "Set CALLAGENT_STATE_DIR to a directory of your own."), false
	}
	n, err = p.Find(ctx, t.number)
	var several *provision.SeveralNumbersError
	switch {
	case errors.As(err, &several):
		return nil, n, problem(checkNumber, title, verdictWarn, err.Error(),
			"Choose one with --number +1… (or CALLAGENT_NUMBER in .env): dev asks for it too."), false
	case err != nil && strings.Contains(err.Error(), "no phone numbers"):
		return nil, n, problem(checkNumber, title, verdictFail, "the Twilio account has no phone numbers",
			"Buy one in the Twilio console (Phone Numbers › Buy a number)."), false
	case err != nil:
		return nil, n, problem(checkNumber, title, verdictFail, err.Error(), "Give one of the account's numbers with --number (callagent numbers lists them)."), false
	}
	return p, n, checkResult{}, true
}

// whereItGoes judges where n's calls go: nowhere, to a TwiML App or a trunk, to a
// callagent dev (this machine's or another's), to this server, or elsewhere.
func (t twilioCheck) whereItGoes(p *provision.Provisioner, n provision.Number) checkResult {
	const title = "Phone number"
	num := n.PhoneNumber
	if err := n.Pointable(false); err != nil {
		v, fix := verdictFail, "Use another number (--number), or remove it from the SIP trunk in the Twilio console."
		if n.TrunkSID == "" {
			v, fix = verdictWarn, "Run dev with --take-over (the app is unbound while dev runs and bound again after), or use another number."
		}
		return problem(checkNumber, title, v, num+" goes to "+n.Destination()+": a voice URL would not be used", fix)
	}
	if _, ok := provision.DevOf(n.VoiceURL); ok {
		sessions, _ := p.Sessions()
		for _, s := range sessions {
			if s.Number.SID == n.SID {
				return okResult(checkNumber, title, fmt.Sprintf("%s goes to the callagent dev running here (pid %d)", num, s.PID))
			}
		}
		pending, _ := p.Pending()
		for _, s := range pending {
			if s.SID == n.SID {
				return problem(checkNumber, title, verdictWarn, num+" still goes to a callagent dev that did not stop cleanly: "+n.VoiceURL,
					"Run callagent numbers --restore (or callagent dev, which puts it back first).")
			}
		}
		return problem(checkNumber, title, verdictWarn, num+" goes to another callagent dev (another machine or state directory): "+n.VoiceURL,
			"Stop that dev (it puts the number back), or run dev with --take-over; dev refuses the number otherwise.")
	}
	switch {
	case t.webhookURL != "" && n.VoiceURL == t.webhookURL:
		return okResult(checkNumber, title, num+" goes to this server: "+n.VoiceURL)
	case t.webhookURL != "" && n.VoiceURL == "":
		return problem(checkNumber, title, verdictWarn, num+" has no voice URL: its calls go nowhere",
			"Set its voice URL to "+t.webhookURL+" (POST) in the Twilio console, or run callagent dev, which points it while it runs.")
	case t.webhookURL != "":
		return problem(checkNumber, title, verdictWarn, num+" goes to "+n.Destination()+", not to this server ("+t.webhookURL+")",
			"Set its voice URL to "+t.webhookURL+" (POST) in the Twilio console, or run callagent dev, which points it while it runs and puts it back after.")
	}
	return okResult(checkNumber, title, num+" goes to "+n.Destination()+"; dev points it here while it runs and puts it back after")
}

// ngrokCheck says whether the ngrok authtoken is there and looks like one. It does
// not open a tunnel: see doctorRun.
func ngrokCheck(token, publicURL string) checkResult {
	const title = "ngrok authtoken"
	switch {
	case token == "" && publicURL != "":
		return skipped(checkNgrok, title, "NGROK_AUTHTOKEN is not set, and a public URL is given: dev uses it instead of an ngrok tunnel")
	case token == "":
		return problem(checkNgrok, title, verdictFail, "NGROK_AUTHTOKEN is not set: dev opens an ngrok tunnel with it",
			"Copy it from https://dashboard.ngrok.com/get-started/your-authtoken into .env, or give dev --public-url.")
	case strings.TrimSpace(token) != token || strings.ContainsAny(token, `"'`):
		return problem(checkNgrok, title, verdictFail, "NGROK_AUTHTOKEN has spaces or quotes around it",
			"Remove them: the token is letters, digits and underscores.")
	case len(token) < 20 || strings.IndexFunc(token, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0:
		return problem(checkNgrok, title, verdictFail, "NGROK_AUTHTOKEN does not look like an ngrok authtoken",
			"Copy it again from https://dashboard.ngrok.com/get-started/your-authtoken (it is letters, digits and an underscore).")
	}
	return okResult(checkNgrok, title, "set and well-formed (proved when dev opens its tunnel)")
}

// publicURLCheck checks the public URL serve (or dev --public-url) is reached at:
// https, and answering /healthz. It returns the URL Twilio will sign, or "".
// With sip the webhook is OpenAI's, at /openai-webhook.
func publicURLCheck(ctx context.Context, hc *http.Client, raw string, sip bool) (checkResult, string) {
	const title = "Public URL"
	if raw == "" {
		return skipped(checkPublicURL, title, "no --public-url or CALLAGENT_PUBLIC_URL: dev's ngrok tunnel gives one (serve needs one)"), ""
	}
	pub, err := publicurl.ParseInsecureHTTP(raw)
	if err != nil {
		return problem(checkPublicURL, title, verdictFail, err.Error(), "Give the https URL of your tunnel or proxy, like https://agent.example.com."), ""
	}
	webhook, signs := webhookFor(pub), "Twilio will sign "
	if sip {
		webhook, signs = webhookForSIP(pub), "OpenAI's webhooks go to "
	}
	if strings.HasPrefix(pub, "http://") {
		return problem(checkPublicURL, title, verdictFail, pub+" is http: "+publicurl.ReasonHTTP,
			"Use the https URL of the same tunnel or proxy (https://"+strings.TrimPrefix(pub, "http://")+" if it serves TLS)."), webhook
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pub+server.PathHealth, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return okResult(checkPublicURL, title, pub+server.PathHealth+" answered; "+signs+webhook), webhook
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return problem(checkPublicURL, title, verdictWarn, fmt.Sprintf("%s%s did not answer (%v); %s%s", pub, server.PathHealth, err, signs, webhook),
		"Start callagent serve (or dev --public-url) and make the tunnel or proxy forward to its --addr."), webhook
}

// webhookFor is the URL Twilio signs for calls to a server at the public URL raw,
// or "" when raw is not a public URL.
func webhookFor(raw string) string { return publicPath(raw, server.PathIncomingCall) }

// webhookForSIP is the URL OpenAI's webhooks reach a server at the public URL raw,
// or "" when raw is not a public URL.
func webhookForSIP(raw string) string { return publicPath(raw, server.PathSIPWebhook) }

// publicPath is path on the server at the public URL raw, or "" when raw is not a
// public URL.
func publicPath(raw, path string) string {
	pub, err := publicurl.ParseInsecureHTTP(raw)
	if err != nil {
		return ""
	}
	return pub + path
}

// sanitizeURL is base without user info (a proxy's password).
func sanitizeURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return "OPENAI_BASE_URL"
	}
	return u.Redacted()
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
