package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/twiliorest"
)

type doctorOptions struct {
	Number    string
	PublicURL string
	JSON      bool
	Timeout   time.Duration
	commonOptions
	agentOverrides

	// Transport sip (--sip, or transport: sip in the configuration).
	OpenAIProject string // --openai-project, OPENAI_PROJECT_ID
	SIPRegion     string // --sip-region

	// From the environment (or .env).
	Twilio        twiliorest.Credentials
	TwilioBase    string
	TrunkingBase  string // CALLAGENT_TWILIO_TRUNKING_URL
	NgrokToken    string
	WebhookSecret string // OPENAI_WEBHOOK_SECRET
}

const defaultDoctorTimeout = 10 * time.Second

func newDoctorCmd(f *Factory, runF func(context.Context, *doctorOptions) error) *cobra.Command {
	opts := &doctorOptions{}
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check everything a first call depends on: keys, model access, the number, the public URL",
		Long: `Check, before the first call, everything it depends on, and say how to fix what is wrong:

  config              callagent.yaml (or --config) loads and validates
  openai_key          OPENAI_API_KEY is set and OpenAI accepts it
  openai_model        the key may use the configured model (GPT-Live: the live model and its backend)
  twilio_credentials  TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set and Twilio accepts them
  twilio_number       the number dev would use exists and where its calls go now
  ngrok_token         NGROK_AUTHTOKEN is set and well-formed (no tunnel is opened)
  public_url          --public-url (or CALLAGENT_PUBLIC_URL): https, answering /healthz, and the
                      URL Twilio will sign, to compare with the number's voice URL
  clock               this machine's clock against Twilio's and OpenAI's

With --sip (or transport: sip in callagent.yaml), also:

  openai_project           OPENAI_PROJECT_ID (or --openai-project) is set and a project id
  openai_webhooks          the key may manage the project's webhook endpoints
  openai_webhook_endpoint  with --public-url (serve): an endpoint sends the engine's
                           incoming-call event to PUBLIC_URL/openai-webhook, and
                           OPENAI_WEBHOOK_SECRET is set and its signing secret
  sip_trunk                with --public-url and Twilio credentials: the number's SIP trunk
                           sends its calls to sip:PROJECT@sip.api.openai.com;transport=tls

Each check is ok, warn, fail or skipped (with why). Nothing is changed anywhere: the requests
only read, concurrently, each bounded by --timeout. Exit status 1 when a check fails (warnings
do not fail). dev and serve run the key checks at start too (--skip-checks skips them).`,
		Example: `  callagent doctor
  callagent doctor --public-url https://calls.example.com     # before callagent serve
  callagent doctor --sip --public-url https://calls.example.com   # before callagent serve --sip
  callagent doctor --json | jq -r '.checks[] | select(.verdict != "ok") | .fix'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.resolve(cmd, f.Env); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return doctorRun(cmd.Context(), f, opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.Number, "number", "", "the Twilio number dev would use, in E.164 (default: the account's only number)")
	fl.StringVar(&opts.PublicURL, "public-url", "", "the https URL Twilio reaches serve (or dev --public-url) at")
	fl.BoolVar(&opts.JSON, "json", false, "print the checks as one JSON object on stdout")
	fl.DurationVar(&opts.Timeout, "timeout", defaultDoctorTimeout, "give up on a service that has not answered after this long")
	// Of the flags dev and serve share, those that change what a call needs.
	fl.StringVar(&opts.ConfigPath, "config", "", defaultConfigUsage)
	fl.StringVar(&opts.Model, "model", "", "check access to this model (default: the configuration's)")
	fl.BoolVar(&opts.SIP, "sip", false, "check transport sip's set-up: the project, the webhook endpoint and the SIP trunk (default: transport: in callagent.yaml)")
	fl.StringVar(&opts.OpenAIProject, "openai-project", "", "with --sip: the OpenAI project id (proj_…) the trunk must send calls to (default $OPENAI_PROJECT_ID)")
	fl.StringVar(&opts.SIPRegion, "sip-region", "", "with --sip: OpenAI's regional SIP endpoint the trunk must use, eu or in (default: any)")
	flagEnvHelp(fl)
	return c
}

func (o *doctorOptions) resolve(cmd *cobra.Command, env *Env) error {
	if err := o.commonOptions.resolve(cmd, env); err != nil {
		return err
	}
	if err := o.agentOverrides.resolve(cmd); err != nil {
		return err
	}
	if o.Number != "" {
		if err := checkE164("--number", o.Number); err != nil {
			return err
		}
	}
	if o.Timeout <= 0 {
		return commandLineError(errors.New("--timeout must be positive"))
	}
	o.Twilio, o.TwilioBase = twilioCredentials(env), env.Get("CALLAGENT_TWILIO_API_URL")
	o.NgrokToken = env.Get("NGROK_AUTHTOKEN")
	o.TrunkingBase = env.Get("CALLAGENT_TWILIO_TRUNKING_URL")
	if !o.SIP {
		for _, name := range []string{"openai-project", "sip-region"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("--%s is for --sip (or transport: sip in callagent.yaml)", name)
			}
		}
		return nil
	}
	if o.OpenAIProject == "" {
		o.OpenAIProject = env.Get("OPENAI_PROJECT_ID")
	}
	if o.SIPRegion != "" && o.SIPRegion != "eu" && o.SIPRegion != "in" {
		return usageErrorf("--sip-region %q: eu or in (or none, the global endpoint)", o.SIPRegion)
	}
	o.WebhookSecret = env.Get(envWebhookSecret)
	return nil
}

// doctorReport is what --json prints: every check in order, ok when none failed,
// and, when a public URL was given, the URL Twilio signs (over SIP: the URL
// OpenAI's webhooks reach).
type doctorReport struct {
	OK         bool          `json:"ok"`
	Checks     []checkResult `json:"checks"`
	WebhookURL string        `json:"webhook_url,omitempty"`
}

// errChecksFailed is doctor's error when a check failed: the report said which.
var errChecksFailed = errors.New("some checks failed: fix them (each says how) and run callagent doctor again")

// doctorRun runs every check and prints the report. Doctor opens no ngrok tunnel:
// the token is checked for presence and form only. A tunnel would take seconds, and
// on a free ngrok account (one agent session at a time) it would collide with a dev
// already running; dev's first step proves the token with ngrok's own answer.
func doctorRun(ctx context.Context, f *Factory, o *doctorOptions) error {
	rep := runDoctorChecks(ctx, f, o)
	if o.JSON {
		enc := json.NewEncoder(terminalJSONWriter{f.IO.Out})
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		renderChecks(f.IO.Out, newStyles(useColor(f.IO.OutTTY, f.Env)), rep.Checks)
	}
	if !rep.OK {
		return errChecksFailed
	}
	return nil
}

func runDoctorChecks(ctx context.Context, f *Factory, o *doctorOptions) doctorReport {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	clock := &clockRecorder{now: f.Now}
	client := func(source string) *http.Client {
		var next http.RoundTripper
		if f.HTTPClient != nil {
			next = f.HTTPClient.Transport
		}
		return &http.Client{Timeout: o.Timeout, Transport: clock.transport(source, next),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}

	// The configuration first (local, fast): it names the models.
	var models []string
	events := sipEvents("")
	configRes := okResult(checkConfig, "Configuration", "")
	if la, err := newAgentSource(o.ConfigPath, f.Env, o.agentOverrides, nil).load(); err != nil {
		configRes = problem(checkConfig, "Configuration", verdictFail, err.Error(),
			"Fix what it names (callagent config validate lists every problem as file:line).")
	} else {
		models = configModels(la.cfg)
		events = sipEvents(la.cfg.Model)
		configRes.Detail = la.from + ": " + la.cfg.Contents() + " · model " + la.cfg.Model
	}

	var keyRes, modelRes, twilioRes, numberRes, trunkRes, publicRes, hooksRes, endpointRes checkResult
	var sip *sipTarget
	if o.SIP {
		sip = &sipTarget{project: o.OpenAIProject, region: o.SIPRegion, serve: webhookFor(o.PublicURL) != ""}
	}
	var wg sync.WaitGroup
	wg.Go(func() { keyRes, modelRes = checkOpenAI(ctx, client("OpenAI"), o.BaseURL, o.APIKey, models) })
	// The number's check compares its voice URL with the URL Twilio signs, which
	// needs no request to know.
	webhook := webhookFor(o.PublicURL)
	tc := twilioCheck{creds: o.Twilio, baseURL: o.TwilioBase, trunkingBase: o.TrunkingBase, hc: client("Twilio"), number: o.Number,
		stateDir: func() (string, error) { return provision.StateDir(f.Env.Get) }, webhookURL: webhook, sip: sip}
	if sip != nil {
		tc.webhookURL, webhook = "", webhookForSIP(o.PublicURL)
		wg.Go(func() {
			hooksRes, endpointRes = sipWebhookChecks(ctx, client("OpenAI"), o.BaseURL, o.APIKey, o.PublicURL, o.WebhookSecret, events, *sip)
		})
	}
	wg.Go(func() { twilioRes, numberRes, trunkRes = tc.run(ctx) })
	wg.Go(func() { publicRes, _ = publicURLCheck(ctx, client("the public URL"), o.PublicURL, sip != nil) })
	wg.Wait()

	rep := doctorReport{OK: true, WebhookURL: webhook, Checks: []checkResult{
		configRes, keyRes, modelRes, twilioRes, numberRes, ngrokCheck(o.NgrokToken, o.PublicURL), publicRes,
	}}
	if sip != nil {
		rep.Checks = append(rep.Checks, sipProjectCheck(*sip), hooksRes, endpointRes, trunkRes)
	}
	rep.Checks = append(rep.Checks, clockCheck(onlyServices(clock.all())))
	for _, c := range rep.Checks {
		if c.Verdict == verdictFail {
			rep.OK = false
		}
	}
	return rep
}

// onlyServices keeps the clock samples of Twilio and OpenAI: the public URL is
// often this very machine.
func onlyServices(s []clockSample) []clockSample {
	out := s[:0:0]
	for _, x := range s {
		if x.source == "OpenAI" || x.source == "Twilio" {
			out = append(out, x)
		}
	}
	return out
}

// renderChecks writes the checks as a list: a mark, the title, what was found and,
// when not ok, the fix. Everything a service or a file said is sanitised.
func renderChecks(w io.Writer, st Styles, checks []checkResult) {
	width := 0
	for _, c := range checks {
		width = max(width, len(c.Title))
	}
	var fails, warns int
	for _, c := range checks {
		mark := st.OK.Render("✓")
		switch c.Verdict {
		case verdictWarn:
			mark, warns = st.Tool.Render("!"), warns+1
		case verdictFail:
			mark, fails = st.Error.Render("✗"), fails+1
		case verdictSkipped:
			mark = st.Dim.Render("·")
		}
		title := fmt.Sprintf("%-*s", width, c.Title)
		detail := sanitizeLines(c.Detail)
		if c.Verdict == verdictSkipped {
			detail = st.Dim.Render("skipped: " + detail)
		}
		fmt.Fprintf(w, "%s %s  %s\n", mark, title, strings.ReplaceAll(detail, "\n", "\n"+strings.Repeat(" ", width+4)))
		if c.Fix != "" {
			fmt.Fprintf(w, "  %s  %s %s\n", strings.Repeat(" ", width), st.Dim.Render("fix:"), sanitize(c.Fix))
		}
	}
	switch {
	case fails > 0:
		fmt.Fprintf(w, "\n%s\n", st.Error.Render(plural(fails, "check")+" failed")+warnings(warns))
	case warns > 0:
		fmt.Fprintf(w, "\n%s\n", st.OK.Render("Nothing failed")+warnings(warns))
	default:
		fmt.Fprintf(w, "\n%s\n", st.OK.Render("All checks passed."))
	}
}

func warnings(n int) string {
	if n == 0 {
		return "."
	}
	return ", " + plural(n, "warning") + "."
}
