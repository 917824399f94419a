package offlinecall

import (
	"context"
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/live/livetest"
	"github.com/callagent/callagent/pkg/realtime"
)

// LiveModel returns a fake GPT-Live server driven by the brain: the same rules as
// the Realtime brain, on the Live protocol. It speaks when the session appends
// instructions (the greeting, time limits, idle prompts) or silent context (key
// presses), and after the caller's speech; it delegates the tools it calls to the
// Responses backend (whose function calls callagent runs) and speaks the result.
// Barge-in is the model's, as on the real engine: the twin stops speaking when the
// caller speaks over it.
func (b *Brain) LiveModel() *livetest.Model {
	return &livetest.Model{Script: b.liveScript}
}

func (b *Brain) liveScript(ctx context.Context, c *livetest.ModelConn) error {
	v := newVAD(500)
	pos := 0
	seen := map[string]int{}
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
		for _, typ := range []string{live.TypeInstructionsAppend, live.TypeThinkingAppend} {
			evs := c.Received(typ)
			for _, ev := range evs[seen[typ]:] {
				b.liveContext(ctx, c, ev)
			}
			seen[typ] = len(evs)
		}
		heard := c.AudioIn()
		for ; pos+vadFrame <= len(heard); pos += vadFrame {
			_, stopped := v.feed(heard[pos:pos+vadFrame], pos)
			if !stopped {
				continue
			}
			text, ok := Transcribe(heard[max(0, v.startedAt-vadFrame) : pos+vadFrame])
			spoke := time.Duration(v.lastLoudAt-v.startedAt) * time.Millisecond / 8
			if ok {
				_ = c.Hear(text)
			} else {
				text = ""
			}
			b.liveAct(ctx, c, plan(text, ok, spoke, liveTools(c)))
		}
	}
}

// liveContext answers appended context: the greeting, an instruction, key presses.
// An instructions append of a handoff (sent for a session.update) is the new
// agent's instructions, not something to answer.
func (b *Brain) liveContext(ctx context.Context, c *livetest.ModelConn, ev live.ClientEvent) {
	var text string
	switch e := ev.(type) {
	case *live.InstructionsAppend:
		if strings.HasSuffix(e.EventID, "-"+realtime.TypeSessionUpdate) {
			return
		}
		if strings.Contains(e.Content, "Start the call now.") {
			text = "Hello! Thanks for calling. I'm an AI assistant. How can I help?"
			if _, words, ok := strings.Cut(e.Content, "Say exactly this, then listen: "); ok {
				text = words
			}
		} else {
			text = answerMessage("system", e.Content)
		}
	case *live.ThinkingAppend:
		text = answerMessage("user", e.Content)
	default:
		return
	}
	b.liveAct(ctx, c, []step{{say: text}})
}

// liveAct runs the brain's steps: speech, or a delegated tool call whose result
// it then speaks.
func (b *Brain) liveAct(ctx context.Context, c *livetest.ModelConn, steps []step) {
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
	pace := b.Pace
	if pace == 0 {
		pace = 50 * time.Millisecond
	}
	for _, st := range steps {
		if st.call == "" {
			waitQuiet(ctx, c)
			said, err := c.Say(ctx, livetest.Speech{Text: st.say, Audio: AgentVoice.Speak(st.say), Chunk: 800, Pace: pace})
			if err != nil || said.Interrupted {
				return // the caller spoke over it: the rest is not said
			}
			continue
		}
		d, err := c.Delegate(st.call, st.args)
		if err != nil {
			return
		}
		out, err := d.Wait(ctx)
		if err != nil {
			return // the call ended (a hang-up or a transfer)
		}
		if st.call == "hang_up" {
			return
		}
		text := describeResult(out)
		waitQuiet(ctx, c)
		if _, err := c.Say(ctx, livetest.Speech{Text: text, Audio: AgentVoice.Speak(text), Chunk: 800, Pace: pace}); err != nil {
			return
		}
	}
}

// waitQuiet waits (3 s at most) until the caller is not speaking: the model does
// not start talking over the caller, it would stop at once.
func waitQuiet(ctx context.Context, c *livetest.ModelConn) {
	for range 150 {
		if now, _ := c.CallerSpeaking(); !now {
			return
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return
		case <-c.Done():
			return
		}
	}
}

// liveTools are the backend's function tools of the session, as the rules read them.
func liveTools(c *livetest.ModelConn) []realtime.Tool {
	var out []realtime.Tool
	d := c.Session().Delegation
	if d == nil || d.Responses == nil {
		return nil
	}
	for _, t := range d.Responses.Tools {
		if t.Type == "function" {
			out = append(out, realtime.Tool{Type: "function", Name: t.Name, Description: t.Description, Parameters: t.Parameters})
		}
	}
	return out
}
