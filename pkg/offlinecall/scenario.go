package offlinecall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/twiliotransport/twiliotest"
)

// Scenario scripts a simulated caller and what the call must show.
type Scenario struct {
	Name    string   `yaml:"name"`
	From    string   `yaml:"from"`
	To      string   `yaml:"to"`
	Timeout Duration `yaml:"timeout"` // for the whole call (default 2m)
	Turns   []Turn   `yaml:"turns"`
	Expect  Expect   `yaml:"expect"`

	dir string // where relative audio paths start
}

// Turn is one thing the caller does. Before saying something the caller waits for
// the agent to finish speaking, unless BargeInAfter says to talk over it.
type Turn struct {
	Say   string `yaml:"say"`   // simulated speech
	Audio string `yaml:"audio"` // or a WAV file (any rate; resampled to 8 kHz μ-law)
	// BargeInAfter speaks this long into the agent's next answer instead of waiting.
	BargeInAfter Duration `yaml:"barge_in_after"`
	DTMF         string   `yaml:"dtmf"` // keys to press
	Wait         Duration `yaml:"wait"` // a pause
	Hangup       bool     `yaml:"hangup"`
}

// Expect lists what must hold once the call is over.
type Expect struct {
	// Tools must each have been called.
	Tools []string `yaml:"tools"`
	// TranscriptContains must each appear in what the agent or the caller said
	// (case-insensitive).
	TranscriptContains []string `yaml:"transcript_contains"`
	// Ended is the end reason (agent_hangup, caller_hangup, transferred, ...).
	Ended string `yaml:"ended"`
	// MaxTurnLatency bounds every turn's latency.
	MaxTurnLatency Duration `yaml:"max_turn_latency"`
	// MinTurns and MinInterruptions are lower bounds.
	MinTurns         int `yaml:"min_turns"`
	MinInterruptions int `yaml:"min_interruptions"`
}

// Duration is a time.Duration written as "800ms" or "2s".
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads "800ms".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: want a duration such as 800ms or 2s, got %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// LoadScenario reads and checks a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	s := &Scenario{dir: filepath.Dir(path)}
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *Scenario) check() error {
	if len(s.Turns) == 0 {
		return errors.New("add turns: what the caller says and does")
	}
	for i, t := range s.Turns {
		n := 0
		for _, set := range []bool{t.Say != "", t.Audio != "", t.DTMF != "", t.Wait != 0, t.Hangup} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("turn %d: give exactly one of say, audio, dtmf, wait or hangup", i+1)
		}
		if t.BargeInAfter != 0 && t.Say == "" && t.Audio == "" {
			return fmt.Errorf("turn %d: barge_in_after goes with say or audio", i+1)
		}
		if strings.Trim(t.DTMF, "0123456789*#") != "" {
			return fmt.Errorf("turn %d: dtmf %q: use the keys 0-9, * and #", i+1, t.DTMF)
		}
	}
	return nil
}

// DefaultScenario is what `callagent simulate` does without a scenario: a question
// with a tool call, a barge-in, and a goodbye.
func DefaultScenario() *Scenario {
	return &Scenario{
		Name: "built-in demo",
		Turns: []Turn{
			{Say: "What's the weather in Paris?"},
			{Say: "Actually, how about London?", BargeInAfter: Duration(700 * time.Millisecond)},
			{Say: "Great, thanks. Goodbye!"},
		},
	}
}

// AudioScenario says a WAV file, waits for the answer and hangs up.
func AudioScenario(path string) *Scenario {
	return &Scenario{Name: filepath.Base(path), Turns: []Turn{{Audio: path}, {Wait: Duration(time.Second)}, {Hangup: true}}}
}

// Runner drives a simulated caller through a scenario.
type Runner struct {
	Caller *twiliotest.Caller
	// Speak renders a turn's say: text in the caller's voice (μ-law, 8 kHz). The
	// default is simulated speech (CallerVoice), which only the simulated model
	// understands; with the real model, a speech synthesizer.
	Speak func(ctx context.Context, text string) ([]byte, error)
	// AnswerWait bounds the wait for the agent to start answering (default 10s).
	AnswerWait time.Duration
	// Quiet is the silence after the agent's audio that means it has finished (default 700ms).
	Quiet time.Duration

	prepared map[int][]byte // by turn index
}

// Prepare renders every turn's speech before the call: a missing file or a failed
// synthesis is reported before anyone dials, and the time it takes does not become
// the caller's silence in the middle of the call.
func (r *Runner) Prepare(ctx context.Context, s *Scenario) error {
	r.prepared = map[int][]byte{}
	for i, t := range s.Turns {
		if t.Say == "" && t.Audio == "" {
			continue
		}
		speech, err := r.speech(ctx, s, t)
		if err != nil {
			return fmt.Errorf("%s, turn %d: %w", s.Name, i+1, err)
		}
		r.prepared[i] = speech
	}
	return nil
}

// Run plays the scenario's turns and returns when the caller hangs up or the call ends.
func (r *Runner) Run(ctx context.Context, s *Scenario) error {
	if r.AnswerWait == 0 {
		r.AnswerWait = 10 * time.Second
	}
	if r.Quiet == 0 {
		r.Quiet = 700 * time.Millisecond
	}
	c := r.Caller
	heard := 0 // agent audio received before the current turn
	for i, t := range s.Turns {
		select {
		case <-c.Done():
			return nil // the agent hung up
		default:
		}
		switch {
		case t.Say != "" || t.Audio != "":
			speech, ok := r.prepared[i]
			if !ok {
				var err error
				if speech, err = r.speech(ctx, s, t); err != nil {
					return fmt.Errorf("turn %d: %w", i+1, err)
				}
			}
			if t.BargeInAfter > 0 {
				if err := r.waitAgentStarts(ctx, heard); err != nil {
					return err
				}
				sleep(ctx, t.BargeInAfter.D())
			} else if err := r.waitAgentDone(ctx, heard); err != nil {
				return err
			}
			c.Say(speech)
			if err := c.WaitSent(ctx); err != nil {
				return err
			}
			// What the agent says next counts from the end of this line: audio of an
			// answer the line cut off, still arriving while it was spoken, is not an
			// answer to it.
			heard = len(c.Received())
		case t.DTMF != "":
			for _, d := range t.DTMF {
				if err := c.SendDTMF(string(d)); err != nil {
					return err
				}
				sleep(ctx, 150*time.Millisecond)
			}
		case t.Wait > 0:
			sleep(ctx, t.Wait.D())
		case t.Hangup:
			if err := r.waitAgentDone(ctx, heard); err != nil {
				return err
			}
			return c.Hangup()
		}
	}
	// The script is done: the agent may still answer and hang up.
	select {
	case <-c.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (r *Runner) speech(ctx context.Context, s *Scenario, t Turn) ([]byte, error) {
	if t.Say != "" {
		if r.Speak != nil {
			return r.Speak(ctx, t.Say)
		}
		return CallerVoice.Speak(t.Say), nil
	}
	path := t.Audio
	if !filepath.IsAbs(path) && s.dir != "" {
		path = filepath.Join(s.dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	snd, err := audio.ReadWAV(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return audio.ToMulaw8k(snd), nil
}

// waitAgentStarts waits until agent audio beyond heard arrives.
func (r *Runner) waitAgentStarts(ctx context.Context, heard int) error {
	wctx, cancel := context.WithTimeout(ctx, r.AnswerWait)
	defer cancel()
	err := r.Caller.WaitFor(wctx, "the agent to answer", func() bool { return len(r.Caller.Received()) > heard })
	if err != nil && ctx.Err() == nil {
		return nil // the agent did not answer: go on
	}
	return err
}

// waitAgentDone waits until the agent has answered and its audio has played out,
// followed by a moment of quiet. An agent that does not answer is not waited for
// beyond AnswerWait.
func (r *Runner) waitAgentDone(ctx context.Context, heard int) error {
	if err := r.waitAgentStarts(ctx, heard); err != nil {
		return err
	}
	c := r.Caller
	for {
		n := len(c.Received())
		if c.PlayedOut(time.Now()) {
			// Played out: done if nothing more arrives for a moment.
			select {
			case <-time.After(r.Quiet):
			case <-ctx.Done():
				return ctx.Err()
			case <-c.Done():
				return nil
			}
			if len(c.Received()) == n {
				return nil
			}
			continue
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Done():
			return nil
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// Check returns what does not hold in events, one sentence each.
func (e Expect) Check(events []callevent.Event) []string {
	var failures []string
	called := map[string]bool{}
	var said []string
	var ended *callevent.CallEnded
	var latencies []time.Duration
	interruptions := 0
	for _, ev := range events {
		switch ev := ev.(type) {
		case callevent.ToolCall:
			called[ev.Name] = true
		case callevent.AgentTranscript:
			said = append(said, ev.Text)
		case callevent.CallerTranscript:
			said = append(said, ev.Text)
		case callevent.TurnLatency:
			latencies = append(latencies, ev.Latency)
		case callevent.Interruption:
			interruptions++
		case callevent.CallEnded:
			ended = &ev
		}
	}
	for _, t := range e.Tools {
		if !called[t] {
			failures = append(failures, fmt.Sprintf("expected a call to tool %q; called: %s", t, keyList(called)))
		}
	}
	all := strings.ToLower(strings.Join(said, "\n"))
	for _, want := range e.TranscriptContains {
		if !strings.Contains(all, strings.ToLower(want)) {
			failures = append(failures, fmt.Sprintf("expected the transcript to contain %q", want))
		}
	}
	if e.Ended != "" && (ended == nil || string(ended.Reason) != e.Ended) {
		got := "did not end"
		if ended != nil {
			got = "ended " + string(ended.Reason)
		}
		failures = append(failures, fmt.Sprintf("expected the call to end %s; it %s", e.Ended, got))
	}
	if max := e.MaxTurnLatency.D(); max > 0 {
		for i, l := range latencies {
			if l > max {
				failures = append(failures, fmt.Sprintf("turn %d took %v to answer, over %v", i+1, l.Round(time.Millisecond), max))
			}
		}
	}
	if len(latencies) < e.MinTurns {
		failures = append(failures, fmt.Sprintf("expected at least %d turns, got %d", e.MinTurns, len(latencies)))
	}
	if interruptions < e.MinInterruptions {
		failures = append(failures, fmt.Sprintf("expected at least %d interruptions, got %d", e.MinInterruptions, interruptions))
	}
	return failures
}

func keyList(m map[string]bool) string {
	if len(m) == 0 {
		return "none"
	}
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return strings.Join(k, ", ")
}
