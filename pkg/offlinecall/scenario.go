package offlinecall

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/callagent/callagent/pkg/agent"
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
	// Approvals answer the approvals of tools under policy ask, by tool name:
	// approve or deny. They win over Options.Approve (simulate --approve).
	Approvals map[string]string `yaml:"approvals"`
	Expect    Expect            `yaml:"expect"`

	// Path is the file the scenario came from ("" when built in code).
	Path string `yaml:"-"`
	// Warnings are what LoadScenario accepted but would rather not (a deprecated
	// field), each as "file:line: what to do".
	Warnings []string `yaml:"-"`

	dir   string         // where relative audio paths start
	lines map[string]int // the line of a field ("expect.ended", "expect.tools.0", "approvals.NAME")
}

// Turn is one thing the caller does. Before saying something, pressing keys or
// hanging up, the caller waits for the agent's answer to its previous line to play
// out, unless BargeInAfter says to talk over it; a wait is a plain pause.
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
//
// A turn, here and in Summary, is one answer of the agent to the caller's speech:
// the caller stopped speaking and the agent's answer started playing (its latency
// is measured: a callevent.TurnLatency). The greeting, answers to key presses and
// anything the agent says unprompted are not turns.
type Expect struct {
	// Tools must each have been called (in any order, among others).
	Tools []string `yaml:"tools"`
	// ToolCalls, when given, are exactly the tool calls the call must make, in
	// this order (a replayed call expects its original's). An empty list given as
	// [] says no tool may be called.
	ToolCalls []string `yaml:"tool_calls"`
	// AgentSays must each appear in what the agent said (case-insensitive).
	AgentSays []string `yaml:"agent_says"`
	// CallerSays must each appear in what the caller said, as transcribed.
	CallerSays []string `yaml:"caller_says"`
	// TranscriptContains is the deprecated name of AgentSays: LoadScenario moves
	// it there with a warning. (It used to match the caller's words too.)
	TranscriptContains []string `yaml:"transcript_contains"`
	// Ended is the end reason (agent_hangup, caller_hangup, transferred, ...: one
	// of callevent.EndReasons).
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

// Approval answers.
const (
	Approve = "approve"
	Deny    = "deny"
)

// LoadScenario reads and checks a scenario file: every problem it finds is in the
// error, one per line, as file:line: what is wrong. The name defaults to the
// file's base name.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	s := &Scenario{dir: filepath.Dir(path), Path: path}
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		s.lines = map[string]int{}
		fieldLines(&root, "", s.lines)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if len(s.Expect.TranscriptContains) > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s: expect.transcript_contains is deprecated and now means agent_says "+
			"(what the agent said; it used to match the caller too): rename it agent_says, or use caller_says for the caller's words",
			s.at("expect.transcript_contains")))
		s.Expect.AgentSays = append(s.Expect.AgentSays, s.Expect.TranscriptContains...)
		s.Expect.TranscriptContains = nil
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// fieldLines records the line of every mapping key and sequence item under n, by
// dotted path.
func fieldLines(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			fieldLines(c, path, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			lines[p] = n.Content[i].Line
			fieldLines(n.Content[i+1], p, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s.%d", path, i)
			lines[p] = c.Line
			fieldLines(c, p, lines)
		}
	}
}

// at is "file:line" of a field, or what is known of it.
func (s *Scenario) at(field string) string {
	where := s.Path
	if where == "" {
		where = "scenario " + strconv.Quote(s.Name)
	}
	if l := s.lines[field]; l > 0 {
		return fmt.Sprintf("%s:%d", where, l)
	}
	return where
}

// check is the file's own consistency, before any agent is known.
func (s *Scenario) check() error {
	var issues []string
	issue := func(field, format string, args ...any) {
		issues = append(issues, s.at(field)+": "+fmt.Sprintf(format, args...))
	}
	if len(s.Turns) == 0 {
		issue("turns", "add turns: what the caller says and does")
	}
	for i, t := range s.Turns {
		field := fmt.Sprintf("turns.%d", i)
		n := 0
		for _, set := range []bool{t.Say != "", t.Audio != "", t.DTMF != "", t.Wait != 0, t.Hangup} {
			if set {
				n++
			}
		}
		if n != 1 {
			issue(field, "turn %d: give exactly one of say, audio, dtmf, wait or hangup", i+1)
		}
		if t.BargeInAfter != 0 && t.Say == "" && t.Audio == "" {
			issue(field, "turn %d: barge_in_after goes with say or audio", i+1)
		}
		if strings.Trim(t.DTMF, "0123456789*#") != "" {
			issue(field, "turn %d: dtmf %q: use the keys 0-9, * and #", i+1, t.DTMF)
		}
	}
	if e := s.Expect.Ended; e != "" && !slices.Contains(callevent.EndReasons, callevent.EndReason(e)) {
		issue("expect.ended", "expect.ended: %q is not a way a call ends: use one of %s", e, endReasonList())
	}
	for _, tool := range slices.Sorted(maps.Keys(s.Approvals)) {
		if a := s.Approvals[tool]; a != Approve && a != Deny {
			issue("approvals."+tool, "approvals.%s: %q: use approve or deny", tool, a)
		}
	}
	if len(issues) > 0 {
		return &ScenarioError{Issues: issues}
	}
	return nil
}

func endReasonList() string {
	var names []string
	for _, r := range callevent.EndReasons {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

// ScenarioError is a scenario that cannot run as written: each issue is
// "file:line: what is wrong: what to do".
type ScenarioError struct {
	Issues []string
}

func (e *ScenarioError) Error() string { return strings.Join(e.Issues, "\n") }

// CheckAgent checks the scenario against the agent configuration it will call,
// before the call: the tools its expectations and approvals name must be tools
// the agents can call.
func (s *Scenario) CheckAgent(cfg *agent.Config) error {
	names, prefixes := ToolNames(cfg)
	known := func(name string) bool {
		return slices.Contains(names, name) || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
	}
	list := strings.Join(names, ", ")
	if list == "" {
		list = "none"
	}
	var issues []string
	for i, tool := range s.Expect.Tools {
		if !known(tool) {
			issues = append(issues, fmt.Sprintf("%s: expect.tools: %q is not a tool of the agents in %s: their tools are %s",
				s.at(fmt.Sprintf("expect.tools.%d", i)), tool, configName(cfg), list))
		}
	}
	for i, tool := range s.Expect.ToolCalls {
		if !known(tool) {
			issues = append(issues, fmt.Sprintf("%s: expect.tool_calls: %q is not a tool of the agents in %s: their tools are %s",
				s.at(fmt.Sprintf("expect.tool_calls.%d", i)), tool, configName(cfg), list))
		}
	}
	for _, tool := range slices.Sorted(maps.Keys(s.Approvals)) {
		if !known(tool) {
			issues = append(issues, fmt.Sprintf("%s: approvals: %q is not a tool of the agents in %s: their tools are %s",
				s.at("approvals."+tool), tool, configName(cfg), list))
		}
	}
	if len(issues) > 0 {
		return &ScenarioError{Issues: issues}
	}
	return nil
}

func configName(cfg *agent.Config) string {
	if cfg.Path == "" {
		return "the built-in configuration"
	}
	return cfg.Path
}

// ToolNames returns the names of the tools cfg's agents can call, sorted: its tools
// and the handoffs (transfer_to_AGENT); and the prefixes of hosted MCP tools'
// names ("LABEL."), whose tools are known only to the MCP server.
func ToolNames(cfg *agent.Config) (names, prefixes []string) {
	for _, t := range cfg.Tools {
		if t.MCP != nil {
			prefixes = append(prefixes, t.MCP.ServerLabel+".")
			continue
		}
		names = append(names, t.Name)
	}
	for _, a := range cfg.Agents {
		for _, h := range a.Handoffs {
			names = append(names, "transfer_to_"+h)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), prefixes
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
	// NoGreeting says the agent does not speak first: the caller's first line is
	// said at once instead of after the greeting (or AnswerWait without one).
	NoGreeting bool

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
	// Before the caller's first line there is nothing to answer: only a greeting
	// to wait for.
	awaited := !r.NoGreeting
	waitDone := func() error {
		if !awaited {
			// A moment after the call connects, as a person takes: with silence
			// suppressed, the gap is what tells callagent to pad the silence that
			// ends the caller's turn (the greeting's silence does it otherwise).
			sleep(ctx, firstLinePause)
			return nil
		}
		return r.waitAgentDone(ctx, heard)
	}
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
			} else if err := waitDone(); err != nil {
				return err
			}
			c.Say(speech)
			if err := c.WaitSent(ctx); err != nil {
				return err
			}
			// What the agent says next counts from the end of this line: audio of an
			// answer the line cut off, still arriving while it was spoken, is not an
			// answer to it.
			heard, awaited = len(c.Received()), true
			c.Say(comfortNoise)
		case t.DTMF != "":
			// Keys are pressed once the answer to the previous line has played, as a
			// caller does; what the agent says next answers the keys.
			if err := waitDone(); err != nil {
				return err
			}
			for _, d := range t.DTMF {
				if err := c.SendDTMF(string(d)); err != nil {
					return err
				}
				sleep(ctx, 150*time.Millisecond)
			}
			heard, awaited = len(c.Received()), true
		case t.Wait > 0:
			sleep(ctx, t.Wait.D())
		case t.Hangup:
			if err := waitDone(); err != nil {
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

// comfortNoise follows each line: near-silence (not the μ-law silence a carrier
// suppresses), as many carriers send, so the model hears the caller's turn end
// from the frames themselves. Without it the end of every turn depends on
// callagent padding the suppressed silence, which a starved caller on a loaded
// machine (many scenarios at once, -race) defeats: its late audio stops the pad
// for the rest of the call, and the turn never ends.
var comfortNoise = bytes.Repeat([]byte{0xFE}, 600*8)

// firstLinePause is the caller's silence before its first line when the agent
// does not greet.
const firstLinePause = 400 * time.Millisecond

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
	var calls []string // in order
	var agentSaid, callerSaid []string
	var ended *callevent.CallEnded
	var latencies []time.Duration
	interruptions := 0
	for _, ev := range events {
		switch ev := ev.(type) {
		case callevent.ToolCall:
			called[ev.Name] = true
			calls = append(calls, ev.Name)
		case callevent.AgentTranscript:
			agentSaid = append(agentSaid, ev.Text)
		case callevent.CallerTranscript:
			callerSaid = append(callerSaid, ev.Text)
		case callevent.TurnLatency:
			latencies = append(latencies, ev.Latency)
		case callevent.Interruption:
			interruptions++
		case callevent.CallEnded:
			ended = &ev
		}
	}
	if e.ToolCalls != nil && !slices.Equal(e.ToolCalls, calls) {
		failures = append(failures, fmt.Sprintf("expected the tool calls, in order: %s; the call made: %s", nameList(e.ToolCalls), nameList(calls)))
	}
	for _, t := range e.Tools {
		if !called[t] {
			failures = append(failures, fmt.Sprintf("expected a call to tool %q; called: %s", t, keyList(called)))
		}
	}
	says := func(who string, said, wants []string) {
		all := strings.ToLower(strings.Join(said, "\n"))
		for _, want := range wants {
			if !strings.Contains(all, strings.ToLower(want)) {
				failures = append(failures, fmt.Sprintf("expected the %s to say %q", who, want))
			}
		}
	}
	says("agent", agentSaid, append(slices.Clip(e.AgentSays), e.TranscriptContains...))
	says("caller", callerSaid, e.CallerSays)
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
		failures = append(failures, fmt.Sprintf("expected at least %d turns (answers of the agent to the caller), got %d", e.MinTurns, len(latencies)))
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
