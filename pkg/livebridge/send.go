package livebridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/callagent/callagent/pkg/live"
	"github.com/callagent/callagent/pkg/realtime"
)

// Send translates a Realtime client event into what Live understands (see the
// package documentation); an event with no equivalent is refused with
// ErrUnsupported.
func (l *Leg) Send(ctx context.Context, ev realtime.ClientEvent) error {
	l.traced(true, ev)
	switch e := ev.(type) {
	case *realtime.SessionUpdate:
		return l.sessionUpdate(ctx, &e.Session)
	case *realtime.ConversationItemCreate:
		return l.itemCreate(ctx, &e.Item)
	case *realtime.ResponseCreate:
		return l.responseCreate(ctx, e)
	case *realtime.ResponseCancel:
		// The model stops by itself; the turn it was speaking ends as cancelled.
		l.mu.Lock()
		if l.turn.open {
			l.turn.cancelled = true
		}
		l.mu.Unlock()
		return nil
	case *realtime.ConversationItemTruncate:
		return nil // Live remembers what it said: it cannot be told otherwise
	case *realtime.InputAudioBufferAppend:
		return l.AppendAudio(ctx, e.Audio)
	case *realtime.OutputAudioBufferClear:
		if l.sip {
			return nil // sip.go: the attach socket cannot cut the line's audio
		}
	}
	return fmt.Errorf("%w: %s", ErrUnsupported, ev.EventType())
}

// id is the event_id of a Live event sent for a Realtime event of type typ: an
// error that names it reads as that Realtime event's (realtime.EventIDType).
func (l *Leg) id(typ string) string { return "ca-live" + l.nextID() + "-" + typ }

func (l *Leg) sessionUpdate(ctx context.Context, cfg *realtime.SessionConfig) error {
	tools, err := backendTools(cfg.Tools)
	if err != nil {
		return err
	}
	choice := cfg.ToolChoice.String
	resp := &live.ResponsesDelegation{Instructions: backendInstructions(cfg.Instructions), Tools: tools, ToolChoice: choice,
		ParallelToolCalls: cfg.ParallelToolCalls}
	if cfg.Reasoning != nil {
		resp.Reasoning = &live.Reasoning{Effort: cfg.Reasoning.Effort}
	}
	l.mu.Lock()
	first := !l.started
	prev := l.instr
	l.started = true
	if first {
		l.instr = cfg.Instructions
	}
	l.mu.Unlock()
	id := l.id(realtime.TypeSessionUpdate)
	if first {
		sc, err := startConfig(cfg, l.opts)
		if err != nil {
			return err
		}
		if sc.Audio == nil {
			sc.Audio = &live.AudioConfig{}
		}
		sc.Audio.Format = &live.PCMU8000
		start := &live.SessionStart{EventID: id, Session: sc}
		// The reader starts first: once session.start is on the wire the session
		// exists (and bills), so a Close racing this send must see it running and
		// end it with session.close for its final usage.
		l.startReader()
		return l.conn.Send(ctx, start)
	}
	// A handoff: the voice and the conversation's instructions stay; the new agent's
	// instructions are appended, the backend is told its tools and instructions.
	if cfg.Instructions != prev && cfg.Instructions != "" {
		l.mu.Lock()
		l.instr = cfg.Instructions
		l.mu.Unlock()
		if err := l.conn.Send(ctx, &live.InstructionsAppend{EventID: l.id(realtime.TypeSessionUpdate),
			Content: "From now on, follow these instructions instead of the earlier ones:\n\n" + cfg.Instructions}); err != nil {
			return err
		}
	}
	if resp.Tools == nil {
		resp.Tools = []live.Tool{} // stated: the previous agent's tools go
	}
	return l.conn.Send(ctx, &live.SessionUpdate{EventID: id, Session: live.SessionUpdateConfig{
		Delegation: &live.Delegation{Type: live.DelegateResponses, AcknowledgementDelayMs: l.opts.AcknowledgementDelayMs, Responses: resp}}})
}

// startConfig is Live's session for the agent's session cfg, without an audio
// format: the model, the agent's instructions and voice, and Responses
// delegation to the backend model with the agent's tools.
func startConfig(cfg *realtime.SessionConfig, opts Options) (live.SessionConfig, error) {
	tools, err := backendTools(cfg.Tools)
	if err != nil {
		return live.SessionConfig{}, err
	}
	resp := &live.ResponsesDelegation{Model: opts.BackendModel, Instructions: backendInstructions(cfg.Instructions), Tools: tools,
		ToolChoice: cfg.ToolChoice.String, ParallelToolCalls: cfg.ParallelToolCalls}
	if cfg.Reasoning != nil {
		resp.Reasoning = &live.Reasoning{Effort: cfg.Reasoning.Effort}
	}
	sc := live.SessionConfig{Model: opts.Model, Instructions: cfg.Instructions,
		Delegation: &live.Delegation{Type: live.DelegateResponses, AcknowledgementDelayMs: opts.AcknowledgementDelayMs, Responses: resp}}
	if v, ok := liveVoice(cfg); ok {
		sc.Audio = &live.AudioConfig{Output: &live.AudioOutput{Voice: &v}}
	}
	return sc, nil
}

// backendInstructions tells the Responses backend its part of the call.
func backendInstructions(agent string) string {
	s := "You carry out tasks for a voice agent on a phone call, with the tools given. Be brief: the agent says your answer aloud."
	if agent != "" {
		s += "\n\nThe agent's instructions:\n\n" + agent
	}
	return s
}

// backendTools are the agent's tools as Responses tools: function tools as they
// are, hosted MCP servers as Responses MCP tools (the same members).
func backendTools(tools []realtime.Tool) ([]live.Tool, error) {
	var out []live.Tool
	for _, t := range tools {
		switch t.Type {
		case "function":
			out = append(out, live.Tool{Type: "function", Name: t.Name, Description: t.Description, Parameters: t.Parameters})
		case "mcp":
			raw, err := json.Marshal(t)
			if err != nil {
				return nil, err
			}
			out = append(out, live.Tool{Type: "mcp", Raw: raw})
		default:
			return nil, fmt.Errorf("%w: a %s tool", ErrUnsupported, t.Type)
		}
	}
	return out, nil
}

func liveVoice(cfg *realtime.SessionConfig) (live.Voice, bool) {
	if cfg.Audio == nil || cfg.Audio.Output == nil || cfg.Audio.Output.Voice.IsZero() {
		return live.Voice{}, false
	}
	v := cfg.Audio.Output.Voice
	if id := v.ID(); id != "" {
		return live.Voice{ID: id}, true
	}
	return live.Voice{Name: v.String}, v.String != ""
}

func realtimeVoice(v live.Voice) realtime.StringOrObject {
	if v.ID != "" {
		b, _ := json.Marshal(struct {
			ID string `json:"id"`
		}{v.ID})
		return realtime.StringOrObject{Object: b}
	}
	return realtime.Str(v.Name)
}

func (l *Leg) itemCreate(ctx context.Context, it *realtime.Item) error {
	id := l.id(realtime.TypeConversationItemCreate)
	switch {
	case it.Type == realtime.ItemFunctionCallOutput:
		l.mu.Lock()
		l.owed++
		l.mu.Unlock()
		return l.conn.Send(ctx, &live.ResponseItemCreate{EventID: id, Item: live.FunctionCallOutput(it.CallID, it.Output)})
	case it.Type == realtime.ItemMessage && it.Role == "system":
		return l.conn.Send(ctx, &live.InstructionsAppend{EventID: id, Content: text(it)})
	case it.Type == realtime.ItemMessage && it.Role == "user":
		return l.conn.Send(ctx, &live.ThinkingAppend{EventID: id, Content: text(it)})
	}
	return fmt.Errorf("%w: conversation.item.create of a %s item", ErrUnsupported, it.Type)
}

func text(it *realtime.Item) string {
	var b strings.Builder
	for _, p := range it.Content {
		b.WriteString(p.Text)
	}
	return b.String()
}

func (l *Leg) responseCreate(ctx context.Context, e *realtime.ResponseCreate) error {
	l.mu.Lock()
	owed := l.owed
	l.owed = 0
	instr := l.instr
	l.mu.Unlock()
	if owed > 0 {
		// Continue the delegated response that waits for the outputs just sent.
		return l.conn.Send(ctx, &live.ResponseCreate{EventID: l.id(realtime.TypeResponseCreate)})
	}
	if e.Response != nil && e.Response.Instructions != "" {
		// The greeting: response instructions are the agent's followed by what to do
		// now; Live has the agent's already.
		what := strings.TrimSpace(strings.TrimPrefix(e.Response.Instructions, instr))
		return l.conn.Send(ctx, &live.InstructionsAppend{EventID: l.id(realtime.TypeResponseCreate), Content: what})
	}
	return nil // Live speaks to the context appended; it has no command to speak
}
