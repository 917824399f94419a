package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/internal/syncbuf"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

const sipSecret = "whsec_c2lwLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY="

const sipConfig = `agents:
  - name: front
    instructions: You answer the phone for Acme.
    voice: cedar
    greeting: Greet the caller.
    tools: [weather, transfer, hang_up]
tools:
  - builtin: weather
  - builtin: transfer
    transfer:
      to: "+14155550199"
  - builtin: hang_up
`

// sipHarness is a dev harness whose model hands every connection (a sideband, or
// a Media Streams call's session) to the test.
func sipHarness(t *testing.T) (*devHarness, chan *realtimetest.ModelConn, string) {
	t.Helper()
	h := newDevHarness(t)
	conns := make(chan *realtimetest.ModelConn, 8)
	h.model.Script = func(ctx context.Context, c *realtimetest.ModelConn) error {
		conns <- c
		<-ctx.Done()
		return nil
	}
	// The session asks for a response after a tool's output (and for the
	// greeting): the answer after the weather tool is the agent's line.
	h.model.AutoRespond = func(c *realtimetest.ModelConn, _ *realtime.ResponseCreate) realtimetest.ResponseSpec {
		for _, it := range c.CreatedItems() {
			if it.Type == realtime.ItemFunctionCallOutput && strings.Contains(it.Output, "Paris") {
				return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Transcript: "It is sunny in Paris.", Audio: silence(3200)}}}
			}
		}
		return realtimetest.ResponseSpec{}
	}
	h.env["OPENAI_WEBHOOK_SECRET"] = sipSecret
	path := filepath.Join(t.TempDir(), "callagent.yaml")
	if err := os.WriteFile(path, []byte(sipConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return h, conns, path
}

func (h *devHarness) ring(ctx context.Context, o realtimetest.SIPRing) *realtimetest.SIPCall {
	h.t.Helper()
	o.WebhookURL, o.From, o.To = "http://"+h.addr+"/openai-webhook", "sip:+15550100001@pstn.twilio.com", "sip:+14155550100@sip.api.openai.com"
	if o.Secret == "" {
		o.Secret = sipSecret
	}
	call, err := h.model.RingSIP(ctx, o)
	if err != nil && o.Attempts == 0 {
		h.t.Fatal(err)
	}
	return call
}

// converse is one conversation, the same over SIP and Media Streams: the caller
// asks, the model calls the weather tool, the session asks for the answer
// (AutoRespond gives it) and the terminal shows it.
func converse(ctx context.Context, h *devHarness, c *realtimetest.ModelConn, greeting bool) {
	h.t.Helper()
	if greeting {
		if _, err := c.WaitEvent(ctx, realtime.TypeResponseCreate, 1); err != nil {
			h.t.Fatal(err)
		}
		if err := c.WaitFor(ctx, "the greeting's end", func() bool { return !c.Active() }); err != nil {
			h.t.Fatal(err)
		}
	}
	c.CallerSays("What is the weather in Paris?", 0)
	c.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{Name: "weather", Arguments: `{"city":"Paris"}`}}}})
	h.waitOut("It is sunny in Paris.")
}

// A SIP call end to end on the twins: the webhook verified, the call accepted
// with the agent's session, a tool call over the sideband, a transfer by refer;
// then a call the agent hangs up through the API.
func TestSIPCallEndToEnd(t *testing.T) {
	leakcheck.Check(t)
	h, conns, path := sipHarness(t)
	h.start("--sip", "--no-provision", "--config", path)
	h.waitErr("/openai-webhook")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	call := h.ring(ctx, realtimetest.SIPRing{})
	raw, err := call.Accepted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var acc realtime.SessionConfig
	if err := json.Unmarshal(raw, &acc); err != nil {
		t.Fatal(err)
	}
	var tools []string
	for _, tl := range acc.Tools {
		tools = append(tools, tl.Name)
	}
	if acc.Instructions != "You answer the phone for Acme." || acc.Model != "gpt-realtime" || acc.Audio == nil ||
		acc.Audio.Output.Voice.String != "cedar" || !slices.Equal(tools, []string{"weather", "transfer", "hang_up"}) {
		t.Fatalf("accepted with %s", raw)
	}
	sb, err := call.Sideband(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-conns
	converse(ctx, h, sb, true)
	// A key press: the sideband's input_audio_buffer.dtmf_event_received reaches
	// the model as a Twilio key press does.
	if err := sb.PressDTMF("5"); err != nil {
		t.Fatal(err)
	}
	h.waitOut("pressed 5")
	if _, err := sb.WaitEvent(ctx, realtime.TypeConversationItemCreate, 2); err != nil {
		t.Fatal(err)
	}
	sb.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{FunctionCall: &realtimetest.FunctionCall{Name: "transfer", Arguments: `{}`}}}})
	select {
	case <-call.Done():
	case <-ctx.Done():
		t.Fatal("the call was not transferred")
	}
	if call.State() != realtimetest.SIPReferred || call.ReferredTo() != "tel:+14155550199" {
		t.Fatalf("call %s, referred to %q", call.State(), call.ReferredTo())
	}
	h.waitOut("the call was transferred")
	if n := len(sb.Received(realtime.TypeSessionUpdate)); n != 0 {
		t.Errorf("%d session.update on the sideband: the accept stated the session", n)
	}

	second := h.ring(ctx, realtimetest.SIPRing{})
	sb2, err := second.Sideband(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-conns
	sb2.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Transcript: "Goodbye!", Audio: silence(800)},
		{FunctionCall: &realtimetest.FunctionCall{Name: "hang_up", Arguments: `{}`}}}})
	h.agentHungUp(ctx, second)
	h.showsAndLogs(call.ID(), []string{"What is the weather in Paris?", "It is sunny in Paris.", "weather", "Goodbye!"},
		[]string{"debug.http", "call.started", "call.config", "caller.transcript", "tool.call", "tool.result", "agent.transcript", "turn.latency", "call.ended"})
}

// sipTwinCall is a SIP call on either OpenAI twin.
type sipTwinCall interface {
	Done() <-chan struct{}
	HungUp() bool
	State() string
}

// agentHungUp waits until the agent's hang-up has ended call through the API and
// dev has said so, then stops dev.
func (h *devHarness) agentHungUp(ctx context.Context, call sipTwinCall) {
	h.t.Helper()
	select {
	case <-call.Done():
	case <-ctx.Done():
		h.t.Fatal("the agent's hang-up did not end the call")
	}
	if !call.HungUp() {
		h.t.Fatalf("call %s, not hung up by the app", call.State())
	}
	h.waitOut("the agent hung up")
	h.stop()
}

// showsAndLogs checks that the terminal showed each of shown and that the log of
// call id has each event type of logged.
func (h *devHarness) showsAndLogs(id string, shown, logged []string) {
	h.t.Helper()
	out := h.out.String()
	for _, want := range shown {
		if !strings.Contains(out, want) {
			h.t.Errorf("the terminal does not show %q:\n%s", want, out)
		}
	}
	types := logTypes(h.t, filepath.Join(h.env["CALLAGENT_STATE_DIR"], "calls"), id)
	for _, want := range logged {
		if !slices.Contains(types, want) {
			h.t.Errorf("the call log has no %s: %v", want, types)
		}
	}
}

// logTypes are the event types of the logged call id, in order.
func logTypes(t *testing.T, dir, id string) []string {
	t.Helper()
	var path string
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := calllog.Find(dir, id)
		if err == nil {
			path = p
			if s, err := calllog.Summarize(p); err == nil && s.Ended {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ended call log of %s in %s (%v)", id, dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var types []string
	err := calllog.ReadFile(path, func(l calllog.Line, _ callevent.Event) { types = append(types, l.Type) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	return types
}

// TestFaultSIPUnsignedWebhookAcceptsNoCall: OpenAI's twin delivers an unsigned,
// then a wrongly signed, webhook to dev --sip: every delivery is refused and the
// call is never accepted (it rings on at the twin, no sideband opens).
func TestFaultSIPUnsignedWebhookAcceptsNoCall(t *testing.T) {
	leakcheck.Check(t)
	h, conns, path := sipHarness(t)
	h.start("--sip", "--no-provision", "--config", path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, o := range []realtimetest.SIPRing{{Unsigned: true}, {BadSignature: true}, {Secret: "whsec_b3RoZXItc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY="}, {Stale: true}} {
		o.Attempts = 2
		call := h.ring(ctx, o)
		for _, d := range call.Deliveries() {
			if d.Status != 401 {
				t.Errorf("%+v: delivery answered %d, want 401", o, d.Status)
			}
		}
		if len(call.Deliveries()) != 2 || call.State() != realtimetest.SIPRinging {
			t.Fatalf("%+v: %d deliveries, call %s", o, len(call.Deliveries()), call.State())
		}
	}
	select {
	case <-conns:
		t.Fatal("a sideband was opened for an unsigned webhook")
	default:
	}
	h.stop()
	if strings.Contains(h.out.String(), "call started") || strings.Contains(h.out.String(), "●") {
		t.Errorf("a call was shown:\n%s", h.out.String())
	}
}

// The terminal and the call log of a SIP call are those of a Media Streams call
// with the same conversation: the same lines, the same events.
func TestSIPCallRendersLikeMediaStreams(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ms, msConns, path := sipHarness(t)
	// No greeting: its response and the caller's first words race on the twin,
	// on either transport, and a barge-in may or may not be shown.
	if err := os.WriteFile(path, []byte(strings.Replace(sipConfig, "    greeting: Greet the caller.\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ms.start("--config", path)
	caller := ms.place(ctx, "CA00000000000000000000000000000042")
	mc := <-msConns
	converse(ctx, ms, mc, false)
	caller.Hangup()
	caller.Close()
	ms.waitOut("call ended")
	ms.stop()

	sip, sipConns, _ := sipHarness(t)
	sip.start("--sip", "--no-provision", "--config", path)
	call := sip.ring(ctx, realtimetest.SIPRing{})
	sc := <-sipConns
	converse(ctx, sip, sc, false)
	call.CallerHangup()
	sip.waitOut("call ended")
	sip.stop()

	msLines, sipLines := renderedKinds(ms.out.String()), renderedKinds(sip.out.String())
	if !slices.Equal(msLines, sipLines) {
		t.Errorf("the terminal differs:\nMedia Streams:\n%q\nSIP:\n%q\n(raw SIP output:\n%s)", msLines, sipLines, sip.out.String())
	}
	msTypes := logTypes(t, filepath.Join(ms.env["CALLAGENT_STATE_DIR"], "calls"), "CA00000000000000000000000000000042")
	sipTypes := logTypes(t, filepath.Join(sip.env["CALLAGENT_STATE_DIR"], "calls"), call.ID())
	if a, b := eventKinds(msTypes), eventKinds(sipTypes); !slices.Equal(a, b) {
		t.Errorf("the call logs differ:\nMedia Streams: %v\nSIP:           %v", a, b)
	}
}

var (
	timeOfLine = regexp.MustCompile(`^\s*\d\d:\d\d:\d\d(\.\d+)?\s*`)
	numbers    = regexp.MustCompile(`\d+(\.\d+)?\s*(ms|s|KB|B)?`)
	callIDs    = regexp.MustCompile(`(CA[0-9a-f]{32}|rtc_\w+)`)
)

// renderedKinds are dev's lines with times, durations, ids and numbers taken out.
func renderedKinds(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		l = callIDs.ReplaceAllString(timeOfLine.ReplaceAllString(l, ""), "ID")
		l = numbers.ReplaceAllString(l, "N")
		// Caller frames exist on Media Streams only.
		l = strings.Replace(l, ", Ncaller frames held meanwhile", "", 1)
		// Usage arrives with each response and each transcription, in an order
		// neither transport fixes: its lines are left out.
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "· cost") {
			lines = append(lines, l)
		}
	}
	return lines
}

// eventKinds are the event types logged, each once, sorted: the order of
// concurrent events (a transcript and a turn's latency) is not the transports'.
// turn.playout (Twilio's echo of the answer's first frame, when it comes before
// the hang-up) has no SIP counterpart: the audio is OpenAI's (docs/CONFIG.md).
func eventKinds(types []string) []string {
	out := slices.DeleteFunc(slices.Clone(types), func(t string) bool { return t == "turn.playout" })
	slices.Sort(out)
	return slices.Compact(out)
}

// serve --sip: the webhook is served at /openai-webhook, a call is accepted and
// run on its sideband, and neither secret reaches the log.
func TestServeSIP(t *testing.T) {
	leakcheck.Check(t)
	model := &realtimetest.Model{APIKey: "sk-test"}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()
	defer model.Close()
	f, _, errOut := testFactory()
	out := &syncbuf.Buffer{}
	f.IO.Out = out
	opts := &serveOptions{Addr: "127.0.0.1:0", PublicURL: "https://calls.example.com", agentOverrides: agentOverrides{Model: "gpt-realtime", SIP: true},
		DrainTimeout: time.Second, LogFormat: "json", LogLevel: "info", WebhookSecret: sipSecret,
		commonOptions: commonOptions{APIKey: "sk-test", BaseURL: modelSrv.URL + "/v1", callLog: callLogOptions{Dir: t.TempDir()}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveRun(ctx, f, opts) }()
	addr := ""
	for addr == "" {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, errOut)
		case <-time.After(5 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "callagent serving" {
				addr, _ = line["listen"].(string)
				if line["openai_webhook"] != "https://calls.example.com/openai-webhook" || line["transport"] != "sip" {
					t.Errorf("logged %v", line)
				}
			}
		}
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer rcancel()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	call, err := model.RingSIP(rctx, realtimetest.SIPRing{WebhookURL: "http://" + addr + "/openai-webhook", Secret: sipSecret, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Sideband(rctx); err != nil {
		t.Fatal(err)
	}
	call.CallerHangup()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"call.ended"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no call.ended in the log:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), call.ID()) {
		t.Errorf("the call's id is not in the log:\n%s", out.String())
	}
	if strings.Contains(out.String(), "sk-test") || strings.Contains(out.String(), sipSecret) {
		t.Fatal("a secret reached the log")
	}
}

func TestSIPOptions(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "sk-test", "CALLAGENT_PUBLIC_URL": "https://calls.example.com"}
	// Without TWILIO_AUTH_TOKEN, and without the webhook secret: the secret is missing.
	_, err := parseServe(t, env, "", "--sip")
	if err == nil || !strings.Contains(err.Error(), "OPENAI_WEBHOOK_SECRET") || strings.Contains(err.Error(), "TWILIO_AUTH_TOKEN") {
		t.Fatalf("serve --sip without the secret: %v", err)
	}
	env["OPENAI_WEBHOOK_SECRET"] = sipSecret
	o, err := parseServe(t, env, "", "--sip")
	if err != nil || !o.SIP || o.WebhookSecret != sipSecret {
		t.Fatalf("serve --sip: %+v, %v", o, err)
	}
	if _, err := parseServe(t, env, "", "--sip", "--record-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--record-dir") {
		t.Fatalf("serve --sip --record-dir: %v", err)
	}
	// transport: sip in the file is --sip.
	path := filepath.Join(t.TempDir(), "callagent.yaml")
	os.WriteFile(path, []byte("transport: sip\n"+sipConfig), 0o644)
	if o, err := parseServe(t, env, "", "--config", path); err != nil || !o.SIP {
		t.Fatalf("serve with transport: sip: %+v, %v", o, err)
	}
}

// config validate: what has no effect over SIP is a note, GPT-Live's differences
// too; an unknown transport is refused.
func TestSIPConfigValidate(t *testing.T) {
	inDir(t, func(dir string) {
		cfg := "transport: sip\naudio_format: pcma\n" + strings.Replace(sipConfig, `      to: "+14155550199"`, "      to: \"+14155550199\"\n      announcement: Connecting you now.", 1)
		os.WriteFile("callagent.yaml", []byte(cfg), 0o644)
		stdout, stderr, code := execute("config", "validate")
		if code != ExitOK || !strings.Contains(stdout, "is valid") {
			t.Fatalf("validate: exit %d\n%s%s", code, stdout, stderr)
		}
		for _, want := range []string{"calls are not recorded", "audio_format has no effect over SIP", "transfer.announcement has no effect over SIP"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("no note %q:\n%s", want, stderr)
			}
		}
		os.WriteFile("callagent.yaml", []byte("transport: sip\nmodel: gpt-live-1\n"+sipConfig), 0o644)
		stdout, stderr, code = execute("config", "validate")
		if code != ExitOK || !strings.Contains(stdout, "is valid") || !strings.Contains(stderr, "GPT-Live over SIP: barge-in is OpenAI's") {
			t.Fatalf("validate GPT-Live over SIP: exit %d\n%s%s", code, stdout, stderr)
		}
		for file, want := range map[string]string{
			"transport: carrier-pigeon\n" + sipConfig: `callagent.yaml:1:12: transport "carrier-pigeon": use media_streams`,
		} {
			os.WriteFile("callagent.yaml", []byte(file), 0o644)
			f, _, _ := testFactory()
			root := NewRootCmd(f)
			root.SetArgs([]string{"config", "validate"})
			err := root.ExecuteContext(context.Background())
			if ExitCode(context.Background(), err) != ExitUsage || !strings.Contains(fmt.Sprint(err), want) {
				t.Errorf("want %q, got %v", want, err)
			}
		}
	})
}

// A reload cannot switch dev between Media Streams and SIP: the server, the
// tunnel and the number were set up for the transport it started with.
func TestDevReloadKeepsTheTransport(t *testing.T) {
	leakcheck.Check(t)
	h, _, path := sipHarness(t)
	h.start("--config", path)
	os.WriteFile(path, []byte("transport: sip\n"+sipConfig), 0o644)
	h.waitErr("transport changed")
	h.stop()
}

// A guardrail trip over SIP: OpenAI holds the audio it generated for the phone
// (its output audio buffer), so cancelling the answer is not enough; the session
// clears that buffer (output_audio_buffer.clear on the sideband) and the caller
// hears no more of the answer.
func TestFaultSIPGuardrailClearsBufferedAudio(t *testing.T) {
	leakcheck.Check(t)
	h, conns, path := sipHarness(t)
	cfg := strings.Replace(sipConfig, "    greeting: Greet the caller.\n", "    guardrails:\n      deny_phrases: [account number]\n", 1)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	h.start("--sip", "--no-provision", "--config", path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call := h.ring(ctx, realtimetest.SIPRing{})
	sb := <-conns
	sb.CallerSays("What is my account?", 0)
	// Ten seconds of audio, five of them sent at once: OpenAI plays them to the
	// phone whatever happens to the response.
	sb.Respond(ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Transcript: "Your account number is 1234 5678.",
		Audio: silence(80000)}}, ChunkBytes: 40000, Pace: time.Second})
	h.waitOut("account number")
	if _, err := sb.WaitEvent(ctx, realtime.TypeOutputAudioBufferClear, 1); err != nil {
		t.Fatalf("the audio buffered for the phone was not cleared: %v", err)
	}
	if err := sb.WaitFor(ctx, "the audio cleared", func() bool { return !sb.PlayingAudio() }); err != nil {
		t.Fatal(err)
	}
	call.CallerHangup()
	h.waitOut("call ended")
	h.stop()
}
