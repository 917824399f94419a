package server

import (
	"testing"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/prometheus/client_golang/prometheus"
)

// callagent_cost_usd_total adds what each call cost since its previous call.usage
// (the events carry running totals): two calls of $0.139968 and $0.0474456 count
// $0.1874136; a model without a price adds tokens, not cost; model names outside
// the price table are "other".
func TestFaultCostMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	usd := func(v float64) *float64 { return &v }
	h1, h2, h3 := callevent.Header{CallSID: "CA1"}, callevent.Header{CallSID: "CA2"}, callevent.Header{CallSID: "CA3"}
	for _, ev := range []callevent.Event{
		callevent.CallUsage{Header: h1, Model: "gpt-realtime", Tokens: callevent.TokenCounts{AudioIn: 1234, AudioOut: 2000}, CostUSD: usd(0.1)},
		callevent.CallUsage{Header: h2, Model: "gpt-realtime", Tokens: callevent.TokenCounts{AudioIn: 100}, CostUSD: usd(0.0474456)},
		callevent.CallUsage{Header: h1, Model: "gpt-realtime", Tokens: callevent.TokenCounts{AudioIn: 1234, AudioOut: 2500}, CostUSD: usd(0.139968),
			TranscriptionModel: "gpt-4o-mini-transcribe", TranscriptionTokens: callevent.TokenCounts{AudioIn: 30, TextOut: 8}},
		callevent.CallEnded{Header: h1, CostUSD: usd(0.139968)},
		callevent.CallEnded{Header: h2, CostUSD: usd(0.0474456)},
		callevent.CallUsage{Header: h3, Model: "my-own-voice", Tokens: callevent.TokenCounts{AudioIn: 7}},
		callevent.CallEnded{Header: h3},
	} {
		m.observe(ev)
	}
	if got := counterValue(t, reg, "callagent_cost_usd_total", "model", "gpt-realtime"); got < 0.1874136-1e-12 || got > 0.1874136+1e-12 {
		t.Errorf("callagent_cost_usd_total{model=gpt-realtime} = %v, want 0.1874136", got)
	}
	if got := counterValue(t, reg, "callagent_cost_usd_total", "model", "other"); got != 0 {
		t.Errorf("an unpriced model's cost counted: %v", got)
	}
	for _, c := range []struct {
		model, kind string
		want        float64
	}{
		{"gpt-realtime", "audio_in", 1334}, {"gpt-realtime", "audio_out", 2500},
		{"gpt-4o-mini-transcribe", "audio_in", 30}, {"gpt-4o-mini-transcribe", "text_out", 8}, {"other", "audio_in", 7},
	} {
		if got := counterValue(t, reg, "callagent_tokens_total", "kind", c.kind, "model", c.model); got != c.want {
			t.Errorf("callagent_tokens_total{model=%s,kind=%s} = %v, want %v", c.model, c.kind, got, c.want)
		}
	}
	if len(m.lastUsage) != 0 {
		t.Errorf("usage of ended calls kept: %v", m.lastUsage)
	}
}

// counterValue reads a counter through the registry, as a scrape would.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			for i, l := range m.GetLabel() {
				if 2*i+1 >= len(labels) || l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// A Live call's delegated backend tokens are counted under the backend model's
// label (its seconds are in the cost, not in the token counter).
func TestCostMetricLiveBackendTokens(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	usd := func(v float64) *float64 { return &v }
	h := callevent.Header{CallSID: "CA1"}
	m.observe(callevent.CallUsage{Header: h, Model: "gpt-live-1", Tokens: callevent.TokenCounts{Seconds: 60}, CostUSD: usd(0.05)})
	m.observe(callevent.CallUsage{Header: h, Model: "gpt-live-1", Tokens: callevent.TokenCounts{Seconds: 90}, CostUSD: usd(0.0754275),
		BackendModel: "gpt-5.5", BackendTokens: callevent.TokenCounts{TextIn: 120, CachedTextIn: 20, TextOut: 30}})
	if got := counterValue(t, reg, "callagent_cost_usd_total", "model", "gpt-live-1"); got < 0.0754275-1e-12 || got > 0.0754275+1e-12 {
		t.Errorf("cost %v, want 0.0754275", got)
	}
	if got := counterValue(t, reg, "callagent_tokens_total", "kind", "text_in", "model", "other"); got != 120 {
		t.Errorf("backend text_in %v, want 120", got)
	}
}
