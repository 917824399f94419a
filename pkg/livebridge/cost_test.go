package livebridge_test

import (
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/live/livetest"
	"github.com/callagent/callagent/pkg/livebridge"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/session"
)

// backendRates are test prices for the delegated backend model (not callagent's
// defaults): $1.25/1M text in, $0.125/1M cached, $10/1M text out.
var backendRates = pricing.Rates{TextInput: 1.25, CachedTextInput: 0.125, TextOutput: 10}

func costOpts(backend string, maxCost float64) callConfig {
	return callConfig{opts: func(o *session.Options) {
		o.Agent = session.Agent{Name: "main", Instructions: "You are a weather line.", Tools: []session.Tool{weatherTool(new(int))}}
		o.Model = live.DefaultModel
		o.Prices = pricing.Defaults().With(pricing.Table{"gpt-5.5-mini": backendRates})
		o.MaxCost = maxCost
	}, bridge: livebridge.Options{BackendModel: backend}}
}

// delegate runs one delegated tool call: the twin's backend response completes
// with usage 120 input tokens (20 of them cached) and 30 output tokens.
func delegate(t *testing.T, c *liveCall) {
	t.Helper()
	del, err := c.Model.Delegate("get_weather", `{"city":"Paris"}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.Wait(c.ctx); err != nil {
		t.Fatal(err)
	}
}

func lastUsage(c *liveCall) (callevent.CallUsage, bool) {
	u := eventsOf[callevent.CallUsage](c)
	if len(u) == 0 {
		return callevent.CallUsage{}, false
	}
	return u[len(u)-1], true
}

// A Live call's cost is its billed seconds plus its delegated backend's tokens,
// and the final seconds are the ones session.closed reports after session.close.
// By hand, on gpt-live-1 ($0.05/min active) with the backend at backendRates:
//
//	60 s reported mid-call:        60 × $0.05/60             = $0.05
//	backend: 100 uncached in × $1.25/1M   = 125,000 n$
//	         20 cached in × $0.125/1M     =   2,500 n$
//	         30 out × $10/1M              = 300,000 n$       = $0.0004275
//	90 s in session.closed (final): 90 × $0.05/60           = $0.075
//	call: $0.075 + $0.0004275                                = $0.0754275
//
// On the old code Live usage was ignored: no call.usage, CallEnded's cost nil.
func TestFaultLiveCallCost(t *testing.T) {
	c := startCall(t, costOpts("gpt-5.5-mini", 0))
	mc := c.Model
	delegate(t, c)
	if err := mc.SendUsage(60); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the call's usage with 60 s", func() bool {
		u, ok := lastUsage(c)
		return ok && u.Tokens.Seconds == 60 && u.BackendTokens.TextIn == 120
	})
	u, _ := lastUsage(c)
	if want := pricing.Nanos(50_000_000 + 427_500).USD(); u.CostUSD == nil || *u.CostUSD != want {
		t.Errorf("running cost %v, want %v", u.CostUSD, want)
	}
	if u.Model != live.DefaultModel || u.BackendModel != "gpt-5.5-mini" ||
		u.BackendTokens != (callevent.TokenCounts{TextIn: 120, CachedTextIn: 20, TextOut: 30}) {
		t.Errorf("usage %+v", u)
	}
	mc.SetCloseUsage(90)
	c.Caller.Hangup()
	ended := c.Ended()
	if got := mc.Received(live.TypeSessionClose); len(got) != 1 {
		t.Errorf("session.close sent %d times, want once", len(got))
	}
	want := pricing.Nanos(75_000_000 + 427_500).USD()
	if ended.CostUSD == nil || *ended.CostUSD != want {
		t.Fatalf("call cost %v, want %v ($0.0754275: 90 s at $0.05/min plus the backend's tokens)", ended.CostUSD, want)
	}
	if u, _ := lastUsage(c); u.Tokens.Seconds != 90 || u.CostUSD == nil || *u.CostUSD != want {
		t.Errorf("final usage %+v", u)
	}
}

// A backend model without a price leaves the call's cost unknown: never made up
// from the voice seconds alone.
func TestLiveCostUnknownBackendPrice(t *testing.T) {
	c := startCall(t, costOpts("gpt-unpriced-backend", 0))
	delegate(t, c)
	if err := c.Model.SendUsage(30); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the call's usage", func() bool {
		u, ok := lastUsage(c)
		return ok && u.Tokens.Seconds == 30 && u.BackendModel == "gpt-unpriced-backend"
	})
	if u, _ := lastUsage(c); u.CostUSD != nil {
		t.Errorf("cost %v with an unpriced backend", *u.CostUSD)
	}
	c.Caller.Hangup()
	if ended := c.Ended(); ended.CostUSD != nil {
		t.Errorf("call cost %v with an unpriced backend", *ended.CostUSD)
	}
}

// Live bills seconds between turns: once they pass max_cost the agent is told
// to wrap up, says goodbye, and the call ends with reason max_cost.
// 60 s × $0.05/60 = $0.05 ≥ max_cost $0.04.
func TestFaultLiveMaxCost(t *testing.T) {
	cfg := costOpts("gpt-5.5-mini", 0.04)
	c := startCall(t, cfg)
	mc := c.Model
	if err := mc.SendUsage(60); err != nil {
		t.Fatal(err)
	}
	ev, err := mc.WaitEvent(c.ctx, live.TypeInstructionsAppend, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.(*live.InstructionsAppend).Content; got == "" {
		t.Error("empty wrap-up instructions")
	}
	if _, err := mc.Say(c.ctx, livetest.Speech{Text: "Goodbye.", Audio: tone(800)}); err != nil {
		t.Fatal(err)
	}
	ended := c.Ended()
	if ended.Reason != callevent.EndMaxCost || ended.CostUSD == nil || *ended.CostUSD < 0.04 {
		t.Fatalf("ended %s (%v), cost %v", ended.Reason, ended.Err, ended.CostUSD)
	}
}

// A Live peer that never answers session.close does not hold the call: Close
// waits CloseWait, then closes the socket; nothing is left running.
func TestLiveCloseUnansweredIsBounded(t *testing.T) {
	cfg := costOpts("gpt-5.5-mini", 0)
	cfg.bridge.CloseWait = 50 * time.Millisecond
	c := startCall(t, cfg)
	c.Model.HoldClose()
	if err := c.Model.SendUsage(12); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the call's usage", func() bool { u, ok := lastUsage(c); return ok && u.Tokens.Seconds == 12 })
	c.Caller.Hangup()
	ended := c.Ended()
	if got := c.Model.Received(live.TypeSessionClose); len(got) != 1 {
		t.Errorf("session.close sent %d times", len(got))
	}
	// 12 s × $0.05/60 = $0.01: the last figure Live reported.
	if want := pricing.Nanos(10_000_000).USD(); ended.CostUSD == nil || *ended.CostUSD != want {
		t.Errorf("call cost %v, want %v", ended.CostUSD, want)
	}
}

// The end of the call is billed too: at hang-up the leg sends session.close and
// waits for session.closed, whose final usage (here the only one: 90 s, no
// session.usage.updated before) is in CallEnded's cost: 90 × $0.05/60 = $0.075.
func TestFaultLiveFinalUsageFromSessionClosed(t *testing.T) {
	c := startCall(t, costOpts("gpt-5.5-mini", 0))
	c.Model.SetCloseUsage(90)
	// A session that never started has nothing to close: hang up once it has.
	c.waitFor("session.start", c.Model.Started)
	c.Caller.Hangup()
	ended := c.Ended()
	if got := c.Model.Received(live.TypeSessionClose); len(got) != 1 {
		t.Errorf("session.close sent %d times, want once", len(got))
	}
	if want := pricing.Nanos(75_000_000).USD(); ended.CostUSD == nil || *ended.CostUSD != want {
		t.Fatalf("call cost %v, want %v", ended.CostUSD, want)
	}
}
