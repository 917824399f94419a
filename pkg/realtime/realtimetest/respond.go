package realtimetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/callagent/callagent/pkg/realtime"
)

// ResponseSpec is what a fake response says.
type ResponseSpec struct {
	Items []ItemSpec
	// ChunkBytes is the μ-law bytes per audio delta (default 800: 100 ms).
	ChunkBytes int
	// Pace is the wait between deltas (default 0: as fast as the socket takes them).
	// Real-time is ChunkBytes/8 ms.
	Pace time.Duration
	// LeadBytes of each item's audio are sent without waiting, before Pace applies:
	// the burst a real server sends at the start of a response, its lead over real
	// time (default 0).
	LeadBytes int
	// LateDeltas are sent after a cancel, before the response stops: the deltas a real
	// server has in flight when the caller barges in.
	LateDeltas int
	// Usage, when set, is what response.done reports instead of the twin's own
	// billing (usage.go): for tests that price known numbers.
	Usage *realtime.Usage
}

// ItemSpec is one output item: spoken audio with its transcript, a function call, or
// an MCP approval request.
type ItemSpec struct {
	Audio      []byte // μ-law
	Transcript string

	FunctionCall *FunctionCall
	MCPApproval  *MCPApproval
	MCPCall      *MCPCall
}

// MCPCall is a hosted MCP tool call the server makes itself (an mcp_call item), with
// the events the API sends about it.
type MCPCall struct {
	ServerLabel string
	Name        string
	Arguments   string
	Output      string
}

// FunctionCall is a function call item.
type FunctionCall struct {
	Name      string
	Arguments string
	CallID    string // generated when empty
}

// MCPApproval is an mcp_approval_request item.
type MCPApproval struct {
	ServerLabel string
	Name        string
	Arguments   string
}

// Reply is a response being streamed.
type Reply struct {
	ID      string
	ItemIDs []string // in order; known once the response is done
	CallIDs []string // of its function calls
	Status  string   // completed or cancelled, once done
	done    chan struct{}
}

// Done is closed when the response has finished.
func (r *Reply) Done() <-chan struct{} { return r.done }

// Wait waits for the response to finish.
func (r *Reply) Wait(ctx context.Context) error {
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("response %s did not finish: %w", r.ID, ctx.Err())
	}
}

// Respond starts a response, as the server does after VAD or response.create, and
// streams it in the background. It returns at once, after response.created was sent.
// A response already active is not replaced: the new one waits for it.
func (c *ModelConn) Respond(ctx context.Context, spec ResponseSpec) *Reply {
	r := &response{id: c.nextID("resp"), cancel: make(chan string, 1), done: make(chan struct{})}
	reply := &Reply{ID: r.id, done: make(chan struct{})}
	c.mu.Lock()
	prev := c.active
	c.active = r
	c.mu.Unlock()
	if prev != nil {
		<-prev.done
	}
	c.Send(&realtime.ResponseCreated{Response: realtime.Response{ID: r.id, Object: "realtime.response", Status: realtime.StatusInProgress}})
	c.Send(&realtime.RateLimitsUpdated{RateLimits: []realtime.RateLimit{
		{Name: "requests", Limit: 5000, Remaining: 4999, ResetSeconds: 0.012},
		{Name: "tokens", Limit: 40000, Remaining: 39000, ResetSeconds: 1.5}}})
	c.wg.Go(func() {
		defer close(reply.done)
		c.stream(ctx, r, reply, spec)
	})
	return reply
}

// cancelActive cancels the active response; it reports whether there was one.
func (c *ModelConn) cancelActive(reason string) bool {
	c.mu.Lock()
	r := c.active
	c.mu.Unlock()
	if r == nil {
		return false
	}
	select {
	case r.cancel <- reason:
	default:
	}
	return true
}

// clientGone is the cancel reason of a response whose client disconnected: the
// twin's own, never sent.
const clientGone = "client_disconnected"

// stream sends a response's events. It runs on its own goroutine.
func (c *ModelConn) stream(ctx context.Context, r *response, reply *Reply, spec ResponseSpec) {
	chunk := spec.ChunkBytes
	if chunk <= 0 {
		chunk = 800
	}
	cancelled, reason := false, ""
	var output []realtime.Item
	// check returns true when the response must stop now (after any late deltas).
	late := 0
	check := func() bool {
		if cancelled {
			late++
			return late > spec.LateDeltas
		}
		select {
		case reason = <-r.cancel:
			cancelled = true
			return spec.LateDeltas == 0
		case <-ctx.Done():
			cancelled, reason = true, clientGone
			return true
		default:
			return false
		}
	}
	for i, it := range spec.Items {
		itemID := c.nextID("item")
		reply.ItemIDs = append(reply.ItemIDs, itemID)
		switch {
		case it.FunctionCall != nil:
			fc := *it.FunctionCall
			if fc.CallID == "" {
				fc.CallID = c.nextID("call")
			}
			reply.CallIDs = append(reply.CallIDs, fc.CallID)
			item := realtime.Item{ID: itemID, Type: realtime.ItemFunctionCall, Object: "realtime.item", Status: realtime.StatusInProgress, CallID: fc.CallID, Name: fc.Name}
			c.outputItemAdded(r.id, i, item)
			c.Send(&realtime.ResponseFunctionCallArgumentsDelta{ResponseID: r.id, ItemID: itemID, OutputIndex: i, CallID: fc.CallID, Delta: fc.Arguments})
			c.Send(&realtime.ResponseFunctionCallArgumentsDone{ResponseID: r.id, ItemID: itemID, OutputIndex: i, CallID: fc.CallID, Name: fc.Name, Arguments: fc.Arguments})
			item.Status, item.Arguments = realtime.StatusCompleted, fc.Arguments
			c.outputItemDone(r.id, i, item)
			output = append(output, item)
		case it.MCPCall != nil:
			m := it.MCPCall
			item := realtime.Item{ID: itemID, Type: realtime.ItemMCPCall, ServerLabel: m.ServerLabel, Name: m.Name}
			c.outputItemAdded(r.id, i, item)
			c.Send(&realtime.ResponseMCPCallArgumentsDelta{ResponseID: r.id, ItemID: itemID, OutputIndex: i, Delta: m.Arguments})
			c.Send(&realtime.ResponseMCPCallArgumentsDone{ResponseID: r.id, ItemID: itemID, OutputIndex: i, Arguments: m.Arguments})
			c.Send(&realtime.MCPCallStatus{Type: realtime.TypeResponseMCPCallInProgress, ItemID: itemID, OutputIndex: i})
			c.Send(&realtime.MCPCallStatus{Type: realtime.TypeResponseMCPCallCompleted, ItemID: itemID, OutputIndex: i})
			item.Arguments, item.Output = m.Arguments, m.Output
			c.outputItemDone(r.id, i, item)
			output = append(output, item)
		case it.MCPApproval != nil:
			a := it.MCPApproval
			item := realtime.Item{ID: itemID, Type: realtime.ItemMCPApprovalRequest, ServerLabel: a.ServerLabel, Name: a.Name, Arguments: a.Arguments}
			c.outputItemAdded(r.id, i, item)
			c.outputItemDone(r.id, i, item)
			output = append(output, item)
		default:
			item, _ := c.streamAudio(r.id, itemID, i, it, chunk, spec.Pace, spec.LeadBytes, check)
			output = append(output, item)
		}
		if cancelled {
			break
		}
	}
	status := realtime.StatusCompleted
	var details *realtime.StatusDetails
	if cancelled {
		status = realtime.StatusCancelled
		details = &realtime.StatusDetails{Type: "cancelled", Reason: reason}
	}
	c.mu.Lock()
	c.active = nil
	usage := c.usage(output)
	c.mu.Unlock()
	if spec.Usage != nil {
		usage = spec.Usage
	}
	reply.Status = status
	// A client that is gone hears nothing more: the server has no socket to tell it
	// the response ended (and the API has no reason for it).
	if reason != clientGone {
		c.Send(&realtime.ResponseDone{Response: realtime.Response{ID: r.id, Object: "realtime.response", Status: status,
			StatusDetails: details, Output: output, Usage: usage}})
		if c.sipCall != "" {
			c.sipResponseDone(r.id) // output_audio_buffer.stopped once played
		}
	}
	close(r.done)
	c.notify()
}

// streamAudio sends one audio item in chunks with a proportional transcript.
func (c *ModelConn) streamAudio(respID, itemID string, index int, it ItemSpec, chunk int, pace time.Duration, lead int, stop func() bool) (realtime.Item, bool) {
	item := realtime.Item{ID: itemID, Type: realtime.ItemMessage, Object: "realtime.item", Role: "assistant", Status: realtime.StatusInProgress, Content: []realtime.ContentPart{}}
	c.outputItemAdded(respID, index, item)
	c.Send(&realtime.ResponseContentPartAdded{ResponseID: respID, ItemID: itemID, OutputIndex: index, Part: realtime.ContentPart{Type: "audio"}}) // content_part.added says "audio" (OpenAI's types), the item's content "output_audio"
	c.mu.Lock()
	c.items[itemID] = &itemAudio{}
	c.mu.Unlock()
	words := splitTranscript(it.Transcript, max(1, (len(it.Audio)+chunk-1)/chunk))
	said := ""
	halted := false
	for k, off := 0, 0; off < len(it.Audio); k, off = k+1, off+chunk {
		if stop() {
			halted = true
			break
		}
		end := min(off+chunk, len(it.Audio))
		c.mu.Lock()
		c.items[itemID].bytes = end
		c.spoke = true
		c.mu.Unlock()
		if c.m.OnDelta != nil {
			c.m.OnDelta(c, itemID, it.Audio[off:end])
		}
		if c.sipCall == "" { // a SIP call's audio goes over SIP, never its sideband (sip.go)
			c.Send(&realtime.ResponseOutputAudioDelta{ResponseID: respID, ItemID: itemID, OutputIndex: index,
				Delta: realtime.Audio(base64.StdEncoding.EncodeToString(it.Audio[off:end]))})
		} else {
			c.sipAudio(respID, end-off) // output_audio_buffer.started at the first
		}
		if k < len(words) && words[k] != "" {
			said += words[k]
			c.Send(&realtime.ResponseOutputAudioTranscriptDelta{ResponseID: respID, ItemID: itemID, OutputIndex: index, Delta: words[k]})
		}
		if pace > 0 && end > lead {
			time.Sleep(pace)
		}
	}
	if !halted {
		for k := (len(it.Audio) + chunk - 1) / chunk; k < len(words); k++ {
			said += words[k]
		}
		c.Send(&realtime.ResponseOutputAudioDone{ResponseID: respID, ItemID: itemID, OutputIndex: index})
	}
	c.Send(&realtime.ResponseOutputAudioTranscriptDone{ResponseID: respID, ItemID: itemID, OutputIndex: index, Transcript: it.Transcript})
	item.Status = realtime.StatusCompleted
	if halted {
		item.Status = realtime.StatusIncomplete
	}
	item.Content = []realtime.ContentPart{{Type: "output_audio", Transcript: said}}
	c.outputItemDone(respID, index, item)
	return item, halted
}

// splitTranscript cuts text into n pieces at word boundaries, for transcript deltas.
func splitTranscript(text string, n int) []string {
	if text == "" {
		return nil
	}
	var words []string
	start := 0
	for i := 1; i <= len(text); i++ {
		if i == len(text) || text[i] == ' ' {
			words = append(words, text[start:i])
			start = i
		}
	}
	out := make([]string, n)
	for i, w := range words {
		out[i*n/len(words)] += w
	}
	return out
}

// outputItemAdded announces an output item as the API does: in the response and in
// the conversation.
func (c *ModelConn) outputItemAdded(respID string, index int, item realtime.Item) {
	c.Send(&realtime.ResponseOutputItemAdded{ResponseID: respID, OutputIndex: index, Item: item})
	c.Send(&realtime.ConversationItemAdded{Item: item})
}

// outputItemDone completes an output item in the response and in the conversation.
func (c *ModelConn) outputItemDone(respID string, index int, item realtime.Item) {
	c.Send(&realtime.ResponseOutputItemDone{ResponseID: respID, OutputIndex: index, Item: item})
	c.Send(&realtime.ConversationItemDone{Item: item})
}
