package offlinecall

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

// Brain is the simulated Realtime model behind `callagent simulate`: it hears the
// caller with energy VAD, understands simulated speech (Transcribe), calls the tools
// the session offers when the caller asks for them (weather in a city, hanging up,
// transfers, handoffs, any tool named in the request) and answers in simulated speech
// with matching transcripts, a little faster than real time. Like the real API it is
// interrupted by the caller and honors truncation. It is a test double with a few
// rules, not a language model: real speech it reports as heard but not understood.
type Brain struct {
	// Pace is the time to generate 100 ms of audio (default 50 ms).
	Pace time.Duration
	// ThinkTime delays each answer, as a model does (default 150 ms).
	ThinkTime time.Duration
}

// Model returns a fake Realtime server driven by the brain.
func (b *Brain) Model() *realtimetest.Model {
	return &realtimetest.Model{Script: b.script, AutoRespond: b.respond}
}

// script listens to the caller of one connection until it closes.
func (b *Brain) script(ctx context.Context, c *realtimetest.ModelConn) error {
	if _, err := c.WaitEvent(ctx, realtime.TypeSessionUpdate, 1); err != nil {
		return nil
	}
	var v *vad
	pos := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.Done():
			return nil
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		td := turnDetection(c)
		if v == nil {
			silence := 500
			if td != nil && td.SilenceDurationMs != nil {
				silence = *td.SilenceDurationMs
			}
			v = newVAD(silence)
		}
		heard := c.AudioIn()
		for ; pos+vadFrame <= len(heard); pos += vadFrame {
			started, stopped := v.feed(heard[pos:pos+vadFrame], pos)
			if started {
				c.SpeechStarted()
			}
			if stopped {
				text, ok := Transcribe(heard[max(0, v.startedAt-vadFrame) : pos+vadFrame])
				spoke := time.Duration(v.lastLoudAt-v.startedAt) * time.Millisecond / 8
				if !ok {
					text = ""
				}
				c.SpeechStopped(text)
				if td == nil || td.CreateResponse == nil || *td.CreateResponse {
					b.answerSpeech(ctx, c, text, ok, spoke)
				}
			}
		}
	}
}

// turnDetection is the session's turn detection as the server holds it (every update
// merged in); nil when it is off.
func turnDetection(c *realtimetest.ModelConn) *realtime.TurnDetection {
	if a := c.Session().Audio; a != nil && a.Input != nil {
		return a.Input.TurnDetection
	}
	return nil
}

// tools returns the function tools of the current session.
func tools(c *realtimetest.ModelConn) []realtime.Tool {
	var out []realtime.Tool
	for _, t := range c.Session().Tools {
		if t.Type == "function" {
			out = append(out, t)
		}
	}
	return out
}

var (
	cityAfterIn = regexp.MustCompile(`\b(?:in|for|about)\s+([A-Z][\p{L}'-]*(?:\s+[A-Z][\p{L}'-]*)*)`)
	followUp    = regexp.MustCompile(`(?i)\b(?:how|what) about\s+[A-Z]`)
)

// answerSpeech answers what the caller said (a server VAD turn).
func (b *Brain) answerSpeech(ctx context.Context, c *realtimetest.ModelConn, text string, understood bool, spoke time.Duration) {
	var items []realtimetest.ItemSpec
	for _, st := range plan(text, understood, spoke, tools(c)) {
		if st.call == "" {
			items = append(items, realtimetest.ItemSpec{Audio: AgentVoice.Speak(st.say), Transcript: st.say})
		} else {
			items = append(items, realtimetest.ItemSpec{FunctionCall: &realtimetest.FunctionCall{Name: st.call, Arguments: st.args}})
		}
	}
	b.reply(ctx, c, items)
}

// step is what the brain does next: say something, or call a tool.
type step struct {
	say, call, args string
}

// plan is the brain's rules: what to say and which tools to call for what the
// caller said, given the session's function tools. Both engines' brains use it.
func plan(text string, understood bool, spoke time.Duration, fns []realtime.Tool) []step {
	lower := strings.ToLower(text)
	var steps []step
	say := func(s string) { steps = append(steps, step{say: s}) }
	call := func(name string, args any) {
		a, _ := json.Marshal(args)
		steps = append(steps, step{call: name, args: string(a)})
	}
	has := func(name string) bool {
		_, ok := findTool(fns, name)
		return ok
	}
	switch {
	case !understood:
		say(fmt.Sprintf("I heard you speak for %.1f seconds. I'm the simulated model: I only understand simulated speech.", spoke.Seconds()))
	case containsAny(lower, "bye", "that's all", "hang up") && has("hang_up"):
		say("Goodbye, thanks for calling!")
		call("hang_up", map[string]any{})
	case (strings.Contains(lower, "weather") || followUp.MatchString(text)) && has("weather"):
		city := "your city"
		if m := cityAfterIn.FindStringSubmatch(text); m != nil {
			city = strings.TrimRight(m[1], "?.!")
		}
		call("weather", map[string]any{"city": city})
	case containsAny(lower, "transfer", "a person", "a human", "someone") && has("transfer"):
		t, _ := findTool(fns, "transfer")
		say("Let me transfer you.")
		call("transfer", transferArgs(t, lower))
	default:
		if name, ok := namedTool(fns, lower); ok {
			if strings.HasPrefix(name, "transfer_to_") {
				say("Let me hand you over.")
			}
			call(name, map[string]any{})
			break
		}
		if text == "" {
			say("Sorry, I didn't catch that.")
		} else {
			say("You said: " + strings.TrimRight(text, ".!?") + ". What else can I do for you?")
		}
	}
	return steps
}

func findTool(fns []realtime.Tool, name string) (realtime.Tool, bool) {
	for _, t := range fns {
		if t.Name == name {
			return t, true
		}
	}
	return realtime.Tool{}, false
}

// namedTool finds a tool the caller named ("check the order status" → order_status,
// "billing" → transfer_to_billing).
func namedTool(fns []realtime.Tool, lower string) (string, bool) {
	for _, t := range fns {
		name := strings.TrimPrefix(t.Name, "transfer_to_")
		if strings.Contains(lower, strings.ReplaceAll(name, "_", " ")) || strings.Contains(lower, strings.ReplaceAll(name, "-", " ")) {
			return t.Name, true
		}
	}
	return "", false
}

// transferArgs picks the transfer target the caller named, or the first one.
func transferArgs(t realtime.Tool, lower string) map[string]any {
	var schema struct {
		Properties struct {
			Target struct {
				Enum []string `json:"enum"`
			} `json:"target"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(t.Parameters, &schema)
	enum := schema.Properties.Target.Enum
	if len(enum) == 0 {
		return map[string]any{}
	}
	for _, e := range enum {
		if strings.Contains(lower, e) {
			return map[string]any{"target": e}
		}
	}
	return map[string]any{"target": enum[0]}
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}

// respond answers a response.create from the client: the greeting, a tool's result,
// key presses, or a system instruction (idle prompt, wrap-up, guardrail correction).
func (b *Brain) respond(c *realtimetest.ModelConn, req *realtime.ResponseCreate) realtimetest.ResponseSpec {
	text := ""
	created := c.CreatedItems()
	var last realtime.Item
	if len(created) > 0 {
		last = created[len(created)-1]
	}
	switch {
	case req.Response != nil && strings.Contains(req.Response.Instructions, "Start the call now."):
		text = "Hello! Thanks for calling. I'm an AI assistant. How can I help?"
		if _, words, ok := strings.Cut(req.Response.Instructions, "Say exactly this, then listen: "); ok {
			text = words
		}
	case last.Type == realtime.ItemFunctionCallOutput:
		text = describeResult(last.Output)
	case last.Type == realtime.ItemMCPApprovalResponse:
		text = "Done."
	case last.Type == realtime.ItemMessage && len(last.Content) > 0:
		text = answerMessage(last.Role, last.Content[0].Text)
	default:
		text = "How can I help?"
	}
	return b.spec([]realtimetest.ItemSpec{{Audio: AgentVoice.Speak(text), Transcript: text}})
}

var pressed = regexp.MustCompile(`pressed (.+) on the phone keypad`)

func answerMessage(role, text string) string {
	lower := strings.ToLower(text)
	switch {
	case role == "user" && pressed.MatchString(text):
		return "You pressed " + pressed.FindStringSubmatch(text)[1] + "."
	case strings.Contains(lower, "still there"):
		return "Are you still there?"
	case strings.Contains(lower, "goodbye") && strings.Contains(lower, "not answering"):
		return "I'll hang up now. Goodbye!"
	case strings.Contains(lower, "time limit"):
		return "We're almost out of time, so I'll wrap up. Thanks for calling, goodbye!"
	case strings.Contains(lower, "broke a rule"):
		return "Sorry, let me correct that: I can't say that."
	}
	return "Okay."
}

// describeResult turns a tool's output into a short spoken answer.
func describeResult(output string) string {
	if msg, ok := strings.CutPrefix(output, "Error: "); ok {
		if i := strings.IndexAny(msg, ".:;"); i > 0 {
			msg = msg[:i]
		}
		return "Sorry, that didn't work: " + msg + "."
	}
	var weather struct {
		City string `json:"city"`
		Sky  string `json:"sky"`
		Temp *int   `json:"temperature_c"`
	}
	if json.Unmarshal([]byte(output), &weather) == nil && weather.Sky != "" && weather.Temp != nil {
		return fmt.Sprintf("It's %s in %s, %d degrees.", weather.Sky, weather.City, *weather.Temp)
	}
	if agent, ok := strings.CutPrefix(output, "You are now the "); ok {
		return "Hi, this is the " + strings.TrimSuffix(strings.SplitN(agent, ".", 2)[0], " agent") + " desk. How can I help?"
	}
	if len(output) > 80 {
		output = output[:80] + "..."
	}
	return "Here's what I found: " + output
}

// reply streams a response after the brain's thinking time.
func (b *Brain) reply(ctx context.Context, c *realtimetest.ModelConn, items []realtimetest.ItemSpec) {
	think := b.ThinkTime
	if think == 0 {
		think = 150 * time.Millisecond
	}
	select {
	case <-time.After(think):
	case <-ctx.Done():
		return
	case <-c.Done():
		return
	}
	c.Respond(ctx, b.spec(items))
}

func (b *Brain) spec(items []realtimetest.ItemSpec) realtimetest.ResponseSpec {
	pace := b.Pace
	if pace == 0 {
		pace = 50 * time.Millisecond
	}
	return realtimetest.ResponseSpec{Items: items, ChunkBytes: 800, Pace: pace}
}
