package session_test

import (
	"context"
	"strings"
	"testing"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// usageOf is a response.done usage with the given split, in the API's shape.
func usageOf(textIn, cachedText, audioIn, cachedAudio, textOut, audioOut int) *realtime.Usage {
	in, out := textIn+audioIn, textOut+audioOut
	return &realtime.Usage{TotalTokens: in + out, InputTokens: in, OutputTokens: out,
		InputTokenDetails: &realtime.InputTokenDetails{TextTokens: textIn, AudioTokens: audioIn, CachedTokens: cachedText + cachedAudio,
			CachedTokensDetails: &realtime.CachedTokenDetails{TextTokens: cachedText, AudioTokens: cachedAudio}},
		OutputTokenDetails: &realtime.OutputTokenDetails{TextTokens: textOut, AudioTokens: audioOut}}
}

// The cost of a call, derived by hand from the usage the model reported, at
// gpt-realtime's prices (pricing.Defaults: text $4 in, $0.40 cached, $16 out; audio
// $32 in, $0.40 cached, $64 out, per 1M tokens):
//
//	response 1: text in 1,500 of which 1,200 cached; audio in 1,234 of which 1,000
//	cached; out 150 text, 2,000 audio
//	  300 × $4/1M    = $0.0012      1,200 × $0.40/1M = $0.00048
//	  234 × $32/1M   = $0.007488    1,000 × $0.40/1M = $0.0004
//	  150 × $16/1M   = $0.0024      2,000 × $64/1M   = $0.128
//	  = $0.139968
//	response 2: text in 1,800 of which 1,500 cached; audio in 3,400 of which 3,234
//	cached; out 40 text, 600 audio
//	  300 × $4/1M    = $0.0012      1,500 × $0.40/1M = $0.0006
//	  166 × $32/1M   = $0.005312    3,234 × $0.40/1M = $0.0012936
//	   40 × $16/1M   = $0.00064       600 × $64/1M   = $0.0384
//	  = $0.0474456
//	the call: $0.139968 + $0.0474456 = $0.1874136
func TestFaultCallCostByHand(t *testing.T) {
	const want = 0.1874136
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.Model, o.Prices = "gpt-realtime", pricing.Defaults()
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	for _, u := range []*realtime.Usage{usageOf(1500, 1200, 1234, 1000, 150, 2000), usageOf(1800, 1500, 3400, 3234, 40, 600)} {
		r := tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(1, 800), Transcript: "Hi."}}, Usage: u})
		if err := r.Wait(tc.Ctx); err != nil {
			t.Fatal(err)
		}
	}
	last := waitEvent[callevent.CallUsage](tc.Ctx, t, tc.Rec, 2)
	if last.CostUSD == nil || *last.CostUSD != pricing.FromUSD(want).USD() {
		t.Fatalf("running cost %v, want $%v", last.CostUSD, want)
	}
	if tk := last.Tokens; tk.AudioIn != 1234+3400 || tk.CachedAudioIn != 4234 || tk.AudioOut != 2600 || tk.TextIn != 3300 || last.Model != "gpt-realtime" {
		t.Fatalf("totals %+v", last)
	}
	ended := tc.Hangup()
	if ended.CostUSD == nil || *ended.CostUSD != pricing.FromUSD(want).USD() {
		t.Fatalf("the call's cost %v, want $%v", ended.CostUSD, want)
	}
}

// A model without a price: usage is counted, the cost is unknown, not zero.
func TestFaultUnknownModelCostUnknown(t *testing.T) {
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.Model, o.Prices = "gpt-nosuch-voice", pricing.Defaults()
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	r := tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(1, 800), Transcript: "Hi."}}})
	if err := r.Wait(tc.Ctx); err != nil {
		t.Fatal(err)
	}
	u := waitEvent[callevent.CallUsage](tc.Ctx, t, tc.Rec, 1)
	if u.CostUSD != nil || u.Tokens.AudioOut == 0 {
		t.Fatalf("usage of an unpriced model: %+v", u)
	}
	if ended := tc.Hangup(); ended.CostUSD != nil {
		t.Fatalf("the call's cost: %v, want unknown", *ended.CostUSD)
	}
	if _, err := session.New(session.Options{Caller: nopCaller{}, Dial: func(context.Context) (session.ModelLeg, error) { return nil, nil }, Model: "gpt-nosuch-voice", Prices: pricing.Defaults(), MaxCost: 1}); err == nil ||
		!strings.Contains(err.Error(), "price") {
		t.Fatalf("MaxCost without a price: %v", err)
	}
}

// The twin bills audio by its duration: 1 s of agent audio is 20 output tokens (one
// per 50 ms), and the next response's input holds it, the previous input cached.
func TestTwinBillsAudioByDuration(t *testing.T) {
	b := newBridge(t, bridgeConfig{Options: func(o *session.Options) {
		o.Model, o.Prices = "gpt-realtime", pricing.Defaults()
		o.Agent.Instructions = "You answer the phone for a bakery."
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	for range 2 {
		r := tc.Model.Respond(tc.Ctx, realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(1, 8000), Transcript: "One second."}}})
		if err := r.Wait(tc.Ctx); err != nil {
			t.Fatal(err)
		}
	}
	dones := func() []callevent.ResponseDone {
		waitEvent[callevent.CallUsage](tc.Ctx, t, tc.Rec, 2)
		return eventsOf[callevent.ResponseDone](tc.Rec)
	}()
	u := waitEvent[callevent.CallUsage](tc.Ctx, t, tc.Rec, 2)
	if u.Tokens.AudioOut != 40 || u.Tokens.AudioIn != 20 || u.Tokens.CachedTextIn == 0 || u.CostUSD == nil {
		t.Fatalf("twin's billing: %+v", u)
	}
	for _, d := range dones {
		if d.Usage == nil || d.Usage.TotalTokens != d.Usage.InputTokens+d.Usage.OutputTokens || len(d.Usage.InputTokenDetails) == 0 {
			t.Fatalf("response.done usage %+v", d.Usage)
		}
	}
	tc.Hangup()
}

// Past max_cost the agent is told to wrap up, its goodbye plays, then the call ends.
func TestFaultMaxCostWrapsUpThenHangsUp(t *testing.T) {
	model := &realtimetest.Model{AutoRespond: func(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
		// Each response costs $0.139968 (see TestFaultCallCostByHand).
		return realtimetest.ResponseSpec{Items: []realtimetest.ItemSpec{{Audio: noise(1, 800), Transcript: "Goodbye!"}},
			Usage: usageOf(1500, 1200, 1234, 1000, 150, 2000)}
	}}
	b := newBridge(t, bridgeConfig{Model: model, Options: func(o *session.Options) {
		o.Model, o.Prices, o.MaxCost = "gpt-realtime", pricing.Defaults(), 0.10
		o.Greeting = "Say hello."
	}})
	tc := b.Start(twiliotest.CallerOptions{})
	ended := tc.Ended()
	if ended.Reason != callevent.EndMaxCost || ended.CostUSD == nil || *ended.CostUSD < 0.10 {
		t.Fatalf("ended %s (%v), cost %v", ended.Reason, ended.Err, ended.CostUSD)
	}
	items := tc.Model.CreatedItems()
	if len(items) != 1 || items[0].Role != "system" || !strings.Contains(items[0].Content[0].Text, "budget") {
		t.Fatalf("wrap-up message %+v", items)
	}
	if n := len(tc.Model.Received(realtime.TypeResponseCreate)); n != 2 {
		t.Fatalf("%d response.create: want the greeting and the goodbye", n)
	}
	if err := tc.Model.WaitClosed(tc.Ctx); err != nil {
		t.Fatal(err)
	}
	if err := tc.Caller.WaitClosed(tc.Ctx); err != nil {
		t.Fatal(err)
	}
}
