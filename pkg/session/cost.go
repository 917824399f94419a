package session

import (
	"context"
	"fmt"
	"sync"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/pricing"
	"github.com/callagent/callagent/pkg/realtime"
)

// costState is the call's usage so far and what it cost: fed by the model pump
// (response.done, transcriptions), read at the end of the call.
type costState struct {
	report     sync.Mutex // one reportUsage at a time, so CallUsage totals never go back
	mu         sync.Mutex
	voice      pricing.Tokens   // the voice model's usage
	trans      pricing.Tokens   // the transcription model's
	transModel string           // the transcription model that billed (the last one)
	back       pricing.Tokens   // the delegated backend's (GPT-Live)
	backModel  string           // the backend model that billed (the last one)
	fromLeg    pricing.LegUsage // the UsageLeg's usage last reported
	final      bool             // the call ended: no wrap-up any more
	unsplit    bool             // usage came without its split by modality: its price is unknown
	reported   bool             // some usage was reported
	wrapping   bool             // the max_cost wrap-up is under way
	last       *float64         // the cost of the last CallUsage, nil when unknown
}

// costOf prices the usage so far; ok is false when a model that billed has no
// known price (or the usage had no split by modality).
func (s *Session) costOf(c *costState) (pricing.Nanos, bool) {
	if c.unsplit || s.opts.Prices == nil {
		return 0, false
	}
	r, ok := s.opts.Prices.Lookup(s.opts.Model)
	if !ok {
		return 0, false
	}
	total := r.Cost(c.voice)
	if c.trans != (pricing.Tokens{}) {
		tr, ok := s.opts.Prices.Lookup(c.transModel)
		if !ok {
			return 0, false
		}
		total += tr.Cost(c.trans)
	}
	if c.back != (pricing.Tokens{}) {
		br, ok := s.opts.Prices.Lookup(c.backModel)
		if !ok {
			return 0, false
		}
		total += br.Cost(c.back)
	}
	return total, true
}

// responseUsage adds what a response consumed and reports the call's totals. On a
// UsageLeg, the leg's own totals are read instead.
func (s *Session) responseUsage(u *realtime.Usage) {
	if ul, ok := s.model.(UsageLeg); ok {
		s.legUsage(ul, false)
		return
	}
	if u == nil {
		return
	}
	t, split := responseTokens(u)
	s.cost.mu.Lock()
	s.cost.voice = s.cost.voice.Add(t)
	s.cost.unsplit = s.cost.unsplit || !split
	s.cost.mu.Unlock()
	s.reportUsage()
}

// legUsage takes a UsageLeg's totals (they replace the voice and backend usage:
// the leg's figures are cumulative) and reports them when they changed, or when
// force is set and nothing was reported yet.
func (s *Session) legUsage(ul UsageLeg, force bool) {
	u := ul.Usage()
	s.cost.mu.Lock()
	changed := u != s.cost.fromLeg
	if changed {
		s.cost.fromLeg = u
		s.cost.voice, s.cost.back, s.cost.backModel = u.Voice, u.Backend, u.BackendModel
	}
	report := changed || (force && !s.cost.reported)
	s.cost.mu.Unlock()
	if report {
		s.reportUsage()
	}
}

// pollLegUsage reports a UsageLeg's usage when it changed (watchdog): GPT-Live
// bills seconds between turns, and max_cost must see them.
func (s *Session) pollLegUsage() {
	s.mu.Lock()
	ul, ok := s.model.(UsageLeg)
	s.mu.Unlock()
	if ok {
		s.legUsage(ul, false)
	}
}

// finalUsage reads a UsageLeg's last totals once the leg is closed (GPT-Live's
// session.closed carries the final usage), before CallEnded takes the cost.
func (s *Session) finalUsage(model ModelLeg) {
	ul, ok := model.(UsageLeg)
	if !ok {
		return
	}
	s.cost.mu.Lock()
	s.cost.final = true
	s.cost.mu.Unlock()
	s.legUsage(ul, false)
}

// transcriptionUsage adds what a transcription of the caller's speech consumed.
func (s *Session) transcriptionUsage(u *realtime.TranscriptionUsage) {
	if u == nil {
		return
	}
	var t pricing.Tokens
	switch u.Type {
	case realtime.UsageDuration:
		t.Seconds = u.Seconds
	default:
		t.TextOut = int64(u.OutputTokens)
		if d := u.InputTokenDetails; d != nil {
			t.TextIn, t.AudioIn = int64(d.TextTokens), int64(d.AudioTokens)
		} else {
			t.AudioIn = int64(u.InputTokens) // what a transcription model is given is audio
		}
	}
	s.mu.Lock()
	var model string
	if tr := s.agent.Transcription; tr != nil {
		model = tr.Model
	}
	s.mu.Unlock()
	s.cost.mu.Lock()
	s.cost.trans = s.cost.trans.Add(t)
	s.cost.transModel = model
	s.cost.mu.Unlock()
	s.reportUsage()
}

// reportUsage emits the call's running usage and cost, and starts the wrap-up once
// the cost passed MaxCost. Model pump, watchdog, and Run once the legs are closed.
func (s *Session) reportUsage() {
	c := &s.cost
	c.report.Lock()
	defer c.report.Unlock()
	c.mu.Lock()
	c.reported = true
	ev := callevent.CallUsage{Header: s.hdr(), Model: s.opts.Model, Tokens: callevent.TokenCounts(c.voice),
		TranscriptionTokens: callevent.TokenCounts(c.trans), MaxCostUSD: s.opts.MaxCost}
	if c.trans != (pricing.Tokens{}) {
		ev.TranscriptionModel = c.transModel
	}
	if c.back != (pricing.Tokens{}) {
		ev.BackendModel, ev.BackendTokens = c.backModel, callevent.TokenCounts(c.back)
	}
	cost, known := s.costOf(c)
	c.last = nil
	if known {
		usd := cost.USD()
		c.last, ev.CostUSD = &usd, &usd
	}
	over := known && s.opts.MaxCost > 0 && cost >= pricing.FromUSD(s.opts.MaxCost) && !c.wrapping && !c.final
	if over {
		c.wrapping = true
	}
	c.mu.Unlock()
	s.emit(ev)
	if over {
		s.tasks.Go(s.costWrapUp)
	}
}

// costWrapUp tells the agent the call's budget is spent, lets its goodbye play,
// then ends the call (reason max_cost): max_call_duration's wrap-up, for money.
func (s *Session) costWrapUp() {
	if err := s.Instruct(s.opts.MaxCostMessage); err == nil {
		ctx, cancel := context.WithTimeout(s.workCtx, idleGoodbyeLimit)
		_ = s.WaitPlayed(ctx)
		cancel()
	}
	s.end(callevent.EndMaxCost, fmt.Errorf("the call's cost passed max_cost $%g", s.opts.MaxCost))
}

// endCost is the call's cost for CallEnded: nil when unknown or never reported.
func (s *Session) endCost() *float64 {
	s.cost.mu.Lock()
	defer s.cost.mu.Unlock()
	if !s.cost.reported {
		return nil
	}
	return s.cost.last
}

// responseTokens is a response's usage by kind; split is false when the API did
// not say which input or output tokens were audio, which leaves the price unknown.
func responseTokens(u *realtime.Usage) (t pricing.Tokens, split bool) {
	split = true
	if d := u.InputTokenDetails; d != nil {
		t.TextIn, t.AudioIn, t.ImageIn = int64(d.TextTokens), int64(d.AudioTokens), int64(d.ImageTokens)
		if c := d.CachedTokensDetails; c != nil {
			t.CachedTextIn, t.CachedAudioIn, t.CachedImageIn = int64(c.TextTokens), int64(c.AudioTokens), int64(c.ImageTokens)
		} else if d.CachedTokens > 0 {
			split = false
		}
	} else if u.InputTokens > 0 {
		split = false
	}
	if d := u.OutputTokenDetails; d != nil {
		t.TextOut, t.AudioOut = int64(d.TextTokens), int64(d.AudioTokens)
	} else if u.OutputTokens > 0 {
		split = false
	}
	return t, split
}
