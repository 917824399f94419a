package cmd

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/live/livetest"
)

// sipLiveHarness is a dev harness whose OpenAI is the GPT-Live twin, with the SIP
// agent on gpt-live-1.
func sipLiveHarness(t *testing.T) (*devHarness, *livetest.Model, string) {
	t.Helper()
	h := newDevHarness(t)
	model := &livetest.Model{APIKey: "sk-test"}
	srv := httptest.NewServer(model)
	t.Cleanup(func() {
		model.Close()
		srv.Close()
	})
	h.env["OPENAI_BASE_URL"] = srv.URL + "/v1"
	h.env["OPENAI_WEBHOOK_SECRET"] = sipSecret
	path := filepath.Join(t.TempDir(), "callagent.yaml")
	if err := os.WriteFile(path, []byte("model: gpt-live-1\n"+sipConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return h, model, path
}

func (h *devHarness) ringLive(ctx context.Context, m *livetest.Model, o livetest.SIPRing) *livetest.SIPCall {
	h.t.Helper()
	o.WebhookURL, o.From, o.To = "http://"+h.addr+"/openai-webhook", "sip:+15550100001@pstn.twilio.com", "sip:+14155550100@sip.api.openai.com"
	if o.Secret == "" {
		o.Secret = sipSecret
	}
	call, err := m.RingSIP(ctx, o)
	if err != nil && o.Attempts == 0 {
		h.t.Fatal(err)
	}
	return call
}

// A GPT-Live SIP call end to end on the twins: the live.transport.incoming webhook
// verified, the call accepted with the agent's session translated for Live (the
// model, instructions, voice, the agent's tools as the delegation's), the attach
// socket run through the bridge (a delegated tool call answered, transcripts,
// usage), a transfer by refer; then a call the agent hangs up through the API.
func TestSIPLiveCallEndToEnd(t *testing.T) {
	leakcheck.Check(t)
	h, model, path := sipLiveHarness(t)
	h.start("--sip", "--no-provision", "--config", path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	call := h.ringLive(ctx, model, livetest.SIPRing{})
	raw, err := call.Accepted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var acc struct {
		Type string `json:"type"`
		live.SessionConfig
	}
	if err := json.Unmarshal(raw, &acc); err != nil {
		t.Fatal(err)
	}
	var tools []string
	if d := acc.Delegation; d != nil && d.Responses != nil {
		for _, tl := range d.Responses.Tools {
			tools = append(tools, tl.Name)
		}
	}
	if acc.Type != "live" || acc.Model != "gpt-live-1" || acc.Instructions != "You answer the phone for Acme." ||
		acc.Audio == nil || acc.Audio.Format != nil || acc.Audio.Output == nil || acc.Audio.Output.Voice.Name != "cedar" ||
		acc.Delegation.Type != live.DelegateResponses || !slices.Equal(tools, []string{"weather", "transfer", "hang_up"}) {
		t.Fatalf("accepted with %s", raw)
	}
	sb, err := call.Sideband(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The greeting is told as instructions to follow now.
	if _, err := sb.WaitEvent(ctx, live.TypeInstructionsAppend, 1); err != nil {
		t.Fatal(err)
	}
	// The caller's audio, reflected on the attach socket, then its transcript:
	// callagent passes on the words, never the audio.
	if err := sb.CallerSays("What is the weather in Paris?", 0); err != nil {
		t.Fatal(err)
	}
	d, err := sb.Delegate("weather", `{"city":"Paris"}`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Wait(ctx)
	if err != nil || !strings.Contains(out, "Paris") {
		t.Fatalf("the weather tool's output %q, %v", out, err)
	}
	if _, err := sb.Say(ctx, livetest.Speech{Text: "It is sunny in Paris.", Audio: make([]byte, 4800)}); err != nil {
		t.Fatal(err)
	}
	h.waitOut("It is sunny in Paris.")
	// A key press on the attach socket reaches the model as silent context.
	if err := sb.PressDTMF("5"); err != nil {
		t.Fatal(err)
	}
	h.waitOut("pressed 5")
	if _, err := sb.WaitEvent(ctx, live.TypeThinkingAppend, 1); err != nil {
		t.Fatal(err)
	}
	if err := sb.SendUsage(30); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Delegate("transfer", `{}`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Done():
	case <-ctx.Done():
		t.Fatal("the call was not transferred")
	}
	if call.State() != livetest.SIPReferred || call.ReferredTo() != "tel:+14155550199" {
		t.Fatalf("call %s, referred to %q", call.State(), call.ReferredTo())
	}
	h.waitOut("the call was transferred")
	for _, typ := range []string{live.TypeSessionStart, live.TypeInputAudioAppend} {
		if n := len(sb.Received(typ)); n != 0 {
			t.Errorf("%d %s on the attach socket", n, typ)
		}
	}
	if errs := sb.ErrorsSent(); len(errs) != 0 {
		t.Errorf("the twin refused: %+v", errs)
	}

	second := h.ringLive(ctx, model, livetest.SIPRing{Deprecated: true})
	sb2, err := second.Sideband(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb2.Say(ctx, livetest.Speech{Text: "Goodbye!", Audio: make([]byte, 960)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb2.Delegate("hang_up", `{}`); err != nil {
		t.Fatal(err)
	}
	h.agentHungUp(ctx, second)
	h.showsAndLogs(call.ID(), []string{"What is the weather in Paris?", "It is sunny in Paris.", "weather", "Goodbye!", "gpt-live-1"},
		[]string{"debug.http", "call.started", "call.config", "caller.transcript", "tool.call", "tool.result", "agent.transcript", "call.usage", "call.ended"})
	// No turn.latency: nothing on the attach socket says when the caller stopped
	// speaking (docs/SIP.md), and callagent does not guess.
	if types := logTypes(t, filepath.Join(h.env["CALLAGENT_STATE_DIR"], "calls"), call.ID()); slices.Contains(types, "turn.latency") {
		t.Errorf("a GPT-Live SIP call logged a turn.latency: %v", types)
	}
}

// TestFaultSIPLiveUnsignedWebhookAcceptsNoCall: the GPT-Live twin delivers an
// unsigned, a wrongly signed, a stale and an other secret's live.transport.incoming
// to dev --sip on gpt-live-1: every delivery is refused and the call is never
// accepted (it rings on, nothing attaches).
func TestFaultSIPLiveUnsignedWebhookAcceptsNoCall(t *testing.T) {
	leakcheck.Check(t)
	h, model, path := sipLiveHarness(t)
	h.start("--sip", "--no-provision", "--config", path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A signed call first: the engine is served (so a refusal below is the signature's).
	ok := h.ringLive(ctx, model, livetest.SIPRing{})
	if _, err := ok.Accepted(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range []livetest.SIPRing{{Unsigned: true}, {BadSignature: true}, {Secret: "whsec_b3RoZXItc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY="}, {Stale: true}} {
		o.Attempts, o.RetryDelay = 2, time.Millisecond
		call := h.ringLive(ctx, model, o)
		for _, d := range call.Deliveries() {
			if d.Status != 401 {
				t.Errorf("%+v: delivery answered %d, want 401", o, d.Status)
			}
		}
		if len(call.Deliveries()) != 2 || call.State() != livetest.SIPRinging {
			t.Fatalf("%+v: %d deliveries, call %s", o, len(call.Deliveries()), call.State())
		}
	}
	ok.CallerHangup()
	h.waitOut("call ended")
	h.stop()
	if n := strings.Count(h.out.String(), "call ended"); n != 1 {
		t.Errorf("%d calls shown, want the signed one:\n%s", n, h.out.String())
	}
}
