package pricing

import "testing"

// Token prices are exact in nano-dollars: 1,234 audio input tokens at $32/1M are
// $0.039488, 1,000 cached at $0.40/1M $0.0004, 2,000 audio output at $64/1M $0.128.
func TestCostIsExact(t *testing.T) {
	r, ok := Defaults().Lookup("gpt-realtime")
	if !ok {
		t.Fatal("gpt-realtime has no price")
	}
	got := r.Cost(Tokens{AudioIn: 2234, CachedAudioIn: 1000, AudioOut: 2000})
	if want := Nanos(39_488_000 + 400_000 + 128_000_000); got != want {
		t.Fatalf("cost %d nano-dollars, want %d", got, want)
	}
	if got.String() != "$0.1679" {
		t.Fatalf("shown as %s", got)
	}
}

// GPT-Live bills by the second: 90 s active at $0.05/min is $0.075 (OpenAI's own
// example in the voice latency and cost guide).
func TestLiveBillsBySecond(t *testing.T) {
	r, _ := Defaults().Lookup("gpt-live-1.1")
	if got := r.Cost(Tokens{Seconds: 90}); got != FromUSD(0.075) {
		t.Fatalf("90 s of gpt-live-1.1: %s", got)
	}
}

func TestLookup(t *testing.T) {
	tab := Defaults().With(Table{"my-voice": {AudioInput: 1}, "gpt-realtime": {AudioInput: 40}})
	for _, c := range []struct {
		model string
		ok    bool
		audio float64
	}{
		{"gpt-realtime", true, 40}, {"gpt-realtime-2025-08-28", true, 40}, {"gpt-realtime-mini", true, 10},
		{"my-voice", true, 1}, {"gpt-nosuch", false, 0}, {"gpt-nosuch-2025-08-28", false, 0},
	} {
		r, ok := tab.Lookup(c.model)
		if ok != c.ok || r.AudioInput != c.audio {
			t.Errorf("%s: %v %v", c.model, r.AudioInput, ok)
		}
	}
	if d, _ := Defaults().Lookup("gpt-realtime"); d.AudioInput != 32 {
		t.Error("With changed the defaults")
	}
}
