package livetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/callagent/callagent/pkg/audio"
	"github.com/callagent/callagent/pkg/live"
)

// vad is energy-based voice activity detection on 20 ms μ-law frames, as the
// simulated model hears the caller: speech starts after two loud frames and stops
// after 500 ms of quiet.
type vad struct {
	threshold float64
	loudRun   int
	quietMs   int
	speaking  bool
}

const vadFrame = 160

func newVAD() vad { return vad{threshold: 400} }

func (v *vad) feed(frame []byte) (started, stopped bool) {
	var sum float64
	for _, b := range frame {
		s := float64(audio.MulawToLinear(b))
		sum += s * s
	}
	if math.Sqrt(sum/float64(len(frame))) > v.threshold {
		v.loudRun++
		v.quietMs = 0
	} else {
		v.loudRun = 0
		v.quietMs += len(frame) / 8
	}
	switch {
	case !v.speaking && v.loudRun >= 2:
		v.speaking = true
		return true, false
	case v.speaking && v.quietMs >= 500:
		v.speaking = false
		return false, true
	}
	return false, false
}

// Speech is what Say sends: Text as output transcript deltas, Audio (raw bytes in
// the session's format) as output audio deltas of Chunk bytes (default 160), one
// every Pace (default none: as fast as the connection takes them).
type Speech struct {
	Text  string
	Audio []byte
	Chunk int
	Pace  time.Duration
}

// Said is what the model got out before it finished or the caller barged in.
type Said struct {
	Bytes       int
	Interrupted bool // the caller spoke: the model stopped (it owns barge-in)
}

// Say speaks s: transcript and audio deltas interleaved, stopping early while the
// caller speaks or once the caller starts speaking, as the model does.
func (c *ModelConn) Say(ctx context.Context, s Speech) (Said, error) {
	chunk := s.Chunk
	if chunk <= 0 {
		chunk = vadFrame
	}
	c.mu.Lock()
	speeches := c.speeches
	c.mu.Unlock()
	n := (len(s.Audio) + chunk - 1) / chunk
	words := splitText(s.Text, max(n, 1))
	var said Said
	var tick *time.Ticker
	if s.Pace > 0 {
		tick = time.NewTicker(s.Pace)
		defer tick.Stop()
	}
	bpm := int64(c.bytesPerMs())
	for i := 0; i < max(n, 1); i++ {
		c.mu.Lock()
		barged := c.speaking || c.speeches != speeches
		c.mu.Unlock()
		if barged {
			said.Interrupted = true
			return said, nil
		}
		if i < len(words) && words[i] != "" {
			c.mu.Lock()
			start := c.outMs
			c.mu.Unlock()
			end := start + int64(min(chunk, max(len(s.Audio)-i*chunk, 0)))/bpm
			if err := c.Send(&live.OutputTranscriptDelta{Delta: words[i], StartMs: start, EndMs: end}); err != nil {
				return said, err
			}
		}
		if i*chunk < len(s.Audio) {
			part := s.Audio[i*chunk : min((i+1)*chunk, len(s.Audio))]
			c.mu.Lock()
			start := c.outMs
			c.outMs += int64(len(part)) / bpm
			end := c.outMs
			c.mu.Unlock()
			if err := c.sendOutputAudio(part, start, end); err != nil {
				return said, err
			}
			said.Bytes += len(part)
		}
		if tick != nil {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return said, ctx.Err()
			}
		}
	}
	return said, nil
}

// splitText cuts text into n pieces at spaces (some may be empty).
func splitText(text string, n int) []string {
	out := make([]string, n)
	if text == "" {
		return out
	}
	per := (len(text) + n - 1) / n
	i := 0
	for k := 0; k < n && i < len(text); k++ {
		end := min(i+per, len(text))
		out[k] = text[i:end]
		i = end
	}
	return out
}

// Hear sends the caller's words as an input transcript delta, as the API does once
// it has transcribed them.
func (c *ModelConn) Hear(text string) error {
	t := c.timeline()
	return c.Send(&live.InputTranscriptDelta{Delta: text, StartMs: t, EndMs: t})
}

// Delegation is a task the model delegated to the Responses backend, whose function
// call waits for the application's output.
type Delegation struct {
	ID, ResponseID, CallID, Name, Arguments string

	mu     sync.Mutex
	out    *string
	done   chan struct{} // closed once the backend continued (response.create after the output)
	err    error
	closed bool
}

func (d *Delegation) output(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.out = &s
}

func (d *Delegation) hasOutput() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out != nil
}

func (d *Delegation) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.err, d.closed = err, true
		close(d.done)
	}
}

// continued: the output is in and response.create came: the backend's response
// completes (with its usage) and the delegation is done.
func (d *Delegation) continued(c *ModelConn) {
	c.sendResponseEvent(d.ID, map[string]any{"type": "response.completed", "sequence_number": 9,
		"response": map[string]any{"id": d.ResponseID, "object": "response", "status": "completed", "model": c.backendModel(),
			"usage": map[string]any{"input_tokens": 120, "output_tokens": 30, "total_tokens": 150,
				"input_tokens_details": map[string]any{"cached_tokens": 20}, "output_tokens_details": map[string]any{"reasoning_tokens": 0}}}})
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		close(d.done)
	}
}

// Wait waits until the application returned the function's output and asked the
// backend to continue (response.create), and returns the output.
func (d *Delegation) Wait(ctx context.Context) (string, error) {
	select {
	case <-d.done:
	case <-ctx.Done():
		return "", fmt.Errorf("model: waiting for the output of %s: %w", d.Name, ctx.Err())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return "", d.err
	}
	return *d.out, nil
}

func (c *ModelConn) backendModel() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.session.Delegation; d != nil && d.Responses != nil {
		return d.Responses.Model
	}
	return ""
}

func (c *ModelConn) sendResponseEvent(delegationID string, ev map[string]any) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return c.Send(&live.ResponseEvent{DelegationID: &delegationID, Event: raw})
}

// Delegate has the model delegate a task whose backend calls the function tool
// name with args (JSON): session.delegation.created, then the backend's response
// streamed as response.event frames ending with the function_call item done. The
// application answers with response.item.create (function_call_output) and
// response.create; Wait returns the output. The tool must be one of the session's.
func (c *ModelConn) Delegate(name, args string) (*Delegation, error) {
	c.mu.Lock()
	d := c.session.Delegation
	if d == nil || d.Type != live.DelegateResponses || d.Responses == nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("model: Delegate needs Responses delegation")
	}
	found := false
	for _, t := range d.Responses.Tools {
		found = found || (t.Type == "function" && t.Name == name)
	}
	if !found {
		c.mu.Unlock()
		return nil, fmt.Errorf("model: the session has no function tool %q", name)
	}
	c.counter++
	n := c.counter
	del := &Delegation{ID: fmt.Sprintf("del_%d_%d", c.ID, n), ResponseID: fmt.Sprintf("resp_%d_%d", c.ID, n),
		CallID: fmt.Sprintf("call_%d_%d", c.ID, n), Name: name, Arguments: args, done: make(chan struct{})}
	c.calls[del.CallID] = del
	c.mu.Unlock()
	itemID := fmt.Sprintf("fc_%d_%d", c.ID, n)
	item := func(status string, arguments string) map[string]any {
		return map[string]any{"id": itemID, "type": "function_call", "status": status, "call_id": del.CallID, "name": name, "arguments": arguments}
	}
	resp := map[string]any{"id": del.ResponseID, "object": "response", "status": "in_progress", "model": c.backendModel()}
	steps := []map[string]any{
		{"type": "response.created", "sequence_number": 0, "response": resp},
		{"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": item("in_progress", "")},
		{"type": "response.function_call_arguments.delta", "sequence_number": 2, "output_index": 0, "item_id": itemID, "delta": args},
		{"type": "response.function_call_arguments.done", "sequence_number": 3, "output_index": 0, "item_id": itemID, "name": name, "arguments": args},
		{"type": "response.output_item.done", "sequence_number": 4, "output_index": 0, "item": item("completed", args)},
	}
	if err := c.Send(&live.DelegationCreated{OffsetMs: c.timeline(),
		Delegation: live.DelegationInfo{ID: del.ID, Target: live.DelegateResponses, Type: "delegation", ResponseID: del.ResponseID}}); err != nil {
		return nil, err
	}
	for _, s := range steps {
		if err := c.sendResponseEvent(del.ID, s); err != nil {
			return nil, err
		}
	}
	return del, nil
}
