// Package pricing prices what a call consumed: a table of the known models'
// prices (defaults in the binary, dated by AsOf, replaceable per model from
// callagent.yaml) and the arithmetic from usage to dollars.
//
// It is not a bill: OpenAI's invoice is the truth. Costs are computed in whole
// nano-dollars (1e-9 USD) so that token prices, which are exact in that unit, add
// up exactly; a model missing from the table has no price and its cost is unknown,
// never guessed.
package pricing

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// AsOf is the date the default prices were read from OpenAI's pages.
const AsOf = "2026-11-29"

// Rates are one model's prices. Token prices are USD per 1M tokens; duration
// prices USD per minute. A zero price is free (a model that has no audio output
// has no audio output tokens to price).
type Rates struct {
	TextInput        float64 `yaml:"text_input_per_mtok" json:"text_input_per_mtok"`
	CachedTextInput  float64 `yaml:"cached_text_input_per_mtok" json:"cached_text_input_per_mtok"`
	TextOutput       float64 `yaml:"text_output_per_mtok" json:"text_output_per_mtok"`
	AudioInput       float64 `yaml:"audio_input_per_mtok" json:"audio_input_per_mtok"`
	CachedAudioInput float64 `yaml:"cached_audio_input_per_mtok" json:"cached_audio_input_per_mtok"`
	AudioOutput      float64 `yaml:"audio_output_per_mtok" json:"audio_output_per_mtok"`
	ImageInput       float64 `yaml:"image_input_per_mtok" json:"image_input_per_mtok"`
	CachedImageInput float64 `yaml:"cached_image_input_per_mtok" json:"cached_image_input_per_mtok"`
	// PerMinute prices billed duration: a GPT-Live session's active time, or the
	// audio of a duration-billed transcription model (gpt-realtime-whisper).
	PerMinute float64 `yaml:"per_minute" json:"per_minute"`
	// StandbyPerMinute prices a GPT-Live session's standby time (WebRTC only).
	StandbyPerMinute float64 `yaml:"standby_per_minute" json:"standby_per_minute"`
}

// Fields names each price as callagent.yaml spells it, with a pointer to it, for
// validation and listings.
func (r *Rates) Fields() []Field {
	return []Field{
		{"text_input_per_mtok", &r.TextInput}, {"cached_text_input_per_mtok", &r.CachedTextInput},
		{"text_output_per_mtok", &r.TextOutput}, {"audio_input_per_mtok", &r.AudioInput},
		{"cached_audio_input_per_mtok", &r.CachedAudioInput}, {"audio_output_per_mtok", &r.AudioOutput},
		{"image_input_per_mtok", &r.ImageInput}, {"cached_image_input_per_mtok", &r.CachedImageInput},
		{"per_minute", &r.PerMinute}, {"standby_per_minute", &r.StandbyPerMinute},
	}
}

// Field is one price of Rates.
type Field struct {
	Name  string
	Value *float64
}

// Check reports the first price that is not a finite non-negative number.
func (r Rates) Check() error {
	for _, f := range r.Fields() {
		if v := *f.Value; math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("%s: %v is not a price (USD, zero or more)", f.Name, v)
		}
	}
	return nil
}

// Table maps model names to their prices.
type Table map[string]Rates

// Defaults returns the prices callagent knows, as of AsOf. Sources (OpenAI's model
// pages, each with its price table, read on AsOf):
//
//	https://developers.openai.com/api/docs/models/gpt-realtime-2
//	https://developers.openai.com/api/docs/models/gpt-realtime-2.1
//	https://developers.openai.com/api/docs/models/gpt-realtime-2.1-mini
//	https://developers.openai.com/api/docs/models/gpt-realtime-1.5
//	https://developers.openai.com/api/docs/models/gpt-realtime (and gpt-realtime-mini, named
//	  in the quick comparisons of the pages above at the same text prices)
//	https://developers.openai.com/api/docs/models/gpt-4o-mini-realtime-preview
//	https://developers.openai.com/api/docs/models/gpt-live-1.1 (Active $0.05/min,
//	  Standby $0.02/min; gpt-live-1 is billed the same, per the voice latency and
//	  cost guide https://developers.openai.com/api/docs/guides/voice-latency-cost)
//	https://developers.openai.com/api/docs/models/compare?model=gpt-4o-mini-transcribe
//	  ($1.25/1M input, $5/1M output: callagent's default transcription model)
//	https://developers.openai.com/api/docs/models/gpt-realtime-whisper ($0.017/min)
func Defaults() Table {
	flagship := Rates{TextInput: 4, CachedTextInput: 0.40, TextOutput: 16,
		AudioInput: 32, CachedAudioInput: 0.40, AudioOutput: 64, ImageInput: 5, CachedImageInput: 0.50}
	reasoning := flagship
	reasoning.TextOutput = 24
	mini := Rates{TextInput: 0.60, CachedTextInput: 0.06, TextOutput: 2.40,
		AudioInput: 10, CachedAudioInput: 0.30, AudioOutput: 20, ImageInput: 0.80, CachedImageInput: 0.08}
	live := Rates{PerMinute: 0.05, StandbyPerMinute: 0.02}
	return Table{
		"gpt-realtime":                 flagship,
		"gpt-realtime-1.5":             flagship,
		"gpt-realtime-2":               reasoning,
		"gpt-realtime-2.1":             reasoning,
		"gpt-realtime-mini":            mini,
		"gpt-realtime-2.1-mini":        mini,
		"gpt-4o-mini-realtime-preview": {TextInput: 0.60, CachedTextInput: 0.30, TextOutput: 2.40, AudioInput: 10, CachedAudioInput: 0.30, AudioOutput: 20},
		"gpt-live-1":                   live,
		"gpt-live-1.1":                 live,
		"gpt-4o-mini-transcribe":       {TextInput: 1.25, AudioInput: 1.25, TextOutput: 5},
		"gpt-realtime-whisper":         {PerMinute: 0.017},
	}
}

// snapshot matches a dated snapshot's suffix (gpt-realtime-2025-08-28).
var snapshot = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}$`)

// Lookup finds a model's prices: by its name, else by the name without a dated
// snapshot suffix. ok is false for a model the table does not know.
func (t Table) Lookup(model string) (Rates, bool) {
	if r, ok := t[model]; ok {
		return r, true
	}
	if base := snapshot.ReplaceAllString(model, ""); base != model {
		r, ok := t[base]
		return r, ok
	}
	return Rates{}, false
}

// With returns a copy of t with the models of over replaced by their prices there.
func (t Table) With(over Table) Table {
	out := make(Table, len(t)+len(over))
	for k, v := range t {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// Models lists the table's models, sorted.
func (t Table) Models() []string {
	ms := make([]string, 0, len(t))
	for m := range t {
		ms = append(ms, m)
	}
	sort.Strings(ms)
	return ms
}

// Tokens is what a call (or a response) consumed, by kind. Cached counts are
// subsets of the input counts of their modality, as the API reports them.
type Tokens struct {
	TextIn        int64   `json:"text_in,omitempty"`
	CachedTextIn  int64   `json:"cached_text_in,omitempty"`
	AudioIn       int64   `json:"audio_in,omitempty"`
	CachedAudioIn int64   `json:"cached_audio_in,omitempty"`
	ImageIn       int64   `json:"image_in,omitempty"`
	CachedImageIn int64   `json:"cached_image_in,omitempty"`
	TextOut       int64   `json:"text_out,omitempty"`
	AudioOut      int64   `json:"audio_out,omitempty"`
	Seconds       float64 `json:"seconds,omitempty"`         // billed duration (GPT-Live active time, whisper audio)
	StandbySecs   float64 `json:"standby_seconds,omitempty"` // GPT-Live standby time
}

// LegUsage is what a model leg that counts its own usage (GPT-Live) consumed so
// far: totals, not increments.
type LegUsage struct {
	Voice        Tokens // the voice model's (GPT-Live: Seconds, StandbySecs)
	Backend      Tokens // the delegated backend's tokens
	BackendModel string // the backend model that billed (the last one)
}

// Add returns t + u.
func (t Tokens) Add(u Tokens) Tokens {
	return Tokens{TextIn: t.TextIn + u.TextIn, CachedTextIn: t.CachedTextIn + u.CachedTextIn,
		AudioIn: t.AudioIn + u.AudioIn, CachedAudioIn: t.CachedAudioIn + u.CachedAudioIn,
		ImageIn: t.ImageIn + u.ImageIn, CachedImageIn: t.CachedImageIn + u.CachedImageIn,
		TextOut: t.TextOut + u.TextOut, AudioOut: t.AudioOut + u.AudioOut,
		Seconds: t.Seconds + u.Seconds, StandbySecs: t.StandbySecs + u.StandbySecs}
}

// Total is every token counted (input, of which cached, plus output).
func (t Tokens) Total() int64 { return t.TextIn + t.AudioIn + t.ImageIn + t.TextOut + t.AudioOut }

// Nanos is an amount of money in nano-dollars (1e-9 USD).
type Nanos int64

// USD is n in dollars.
func (n Nanos) USD() float64 { return float64(n) / 1e9 }

// String shows n in dollars with four decimals under a dollar ("$0.0395"), two
// above ("$12.40").
func (n Nanos) String() string { return FormatUSD(n.USD()) }

// FormatUSD shows an amount of dollars as String does.
func FormatUSD(usd float64) string {
	if usd < 1 {
		return fmt.Sprintf("$%.4f", usd)
	}
	return fmt.Sprintf("$%.2f", usd)
}

// FromUSD converts dollars to nano-dollars, rounded.
func FromUSD(usd float64) Nanos { return Nanos(math.Round(usd * 1e9)) }

// perToken is the price of one token in nano-dollars, from a price per 1M tokens
// (exact for prices with at most three decimals, as OpenAI's are).
func perToken(perMTok float64) Nanos { return Nanos(math.Round(perMTok * 1000)) }

// Cost prices t: uncached input at the input prices, cached input at the cached
// prices, output at the output prices, duration at the per-minute prices.
func (r Rates) Cost(t Tokens) Nanos {
	c := Nanos(t.TextIn-t.CachedTextIn)*perToken(r.TextInput) + Nanos(t.CachedTextIn)*perToken(r.CachedTextInput) +
		Nanos(t.AudioIn-t.CachedAudioIn)*perToken(r.AudioInput) + Nanos(t.CachedAudioIn)*perToken(r.CachedAudioInput) +
		Nanos(t.ImageIn-t.CachedImageIn)*perToken(r.ImageInput) + Nanos(t.CachedImageIn)*perToken(r.CachedImageInput) +
		Nanos(t.TextOut)*perToken(r.TextOutput) + Nanos(t.AudioOut)*perToken(r.AudioOutput)
	c += Nanos(math.Round(t.Seconds * r.PerMinute / 60 * 1e9))
	c += Nanos(math.Round(t.StandbySecs * r.StandbyPerMinute / 60 * 1e9))
	return c
}

// Basis says in a few words how a model is priced, for banners: "$32/1M audio in,
// $64/1M audio out" or "$0.05/min"; false when the table has no price for it. The
// caller says where the prices come from (AsOf for the defaults).
func (t Table) Basis(model string) (string, bool) {
	r, ok := t.Lookup(model)
	if !ok {
		return "", false
	}
	var parts []string
	if r.AudioInput > 0 || r.AudioOutput > 0 {
		parts = append(parts, fmt.Sprintf("$%g/1M audio in, $%g/1M audio out", r.AudioInput, r.AudioOutput))
	}
	if r.PerMinute > 0 {
		parts = append(parts, fmt.Sprintf("$%g/min", r.PerMinute))
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("$%g/1M text in, $%g/1M text out", r.TextInput, r.TextOutput))
	}
	return strings.Join(parts, ", "), true
}
