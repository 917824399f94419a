package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
)

func (s *Session) outputItemDone(e *realtime.ResponseOutputItemDone) {
	item := e.Item
	switch item.Type {
	case realtime.ItemFunctionCall:
		// A call cut off with its response is incomplete: running it would act on
		// arguments the model never finished.
		if item.Status != "" && item.Status != realtime.StatusCompleted {
			return
		}
		s.stats.toolCalls.Add(1)
		slot := s.joinBatch(e.ResponseID, item)
		s.tasks.Go(func() { s.runTool(e.ResponseID, slot, item) })
	case realtime.ItemMCPApprovalRequest:
		s.tasks.Go(func() { s.answerMCPApproval(item) })
	}
}

// toolBatch holds the outputs of the function calls one response made: with
// parallel_tool_calls a response can make several, and the model is to answer once,
// having every result, not once per result. The outputs go to the model in the
// order of the calls, after the last call has finished and the response is done (no
// more calls can come), followed by one response.create. Background tools are not
// part of it: their outputs go as soon as they are ready, without a response.
type toolBatch struct {
	outputs []realtime.Item // function_call_output items, in the calls' order
	ready   []bool
	done    bool // response.done was seen
}

// joinBatch adds a foreground call to its response's batch and returns its slot, or
// -1 for a background tool.
func (s *Session) joinBatch(respID string, item realtime.Item) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tools[item.Name]; ok && t.Spec().Background {
		return -1
	}
	if s.batches == nil {
		s.batches = map[string]*toolBatch{}
	}
	b := s.batches[respID]
	if b == nil {
		b = &toolBatch{}
		s.batches[respID] = b
	}
	b.outputs = append(b.outputs, realtime.Item{Type: realtime.ItemFunctionCallOutput, CallID: item.CallID})
	b.ready = append(b.ready, false)
	return len(b.outputs) - 1
}

// completeBatch takes the batch of respID when it is complete: every call has its
// output and the response is done. Caller holds s.mu.
func (s *Session) completeBatch(respID string) []realtime.Item {
	b := s.batches[respID]
	if b == nil || !b.done || slices.Contains(b.ready, false) {
		return nil
	}
	delete(s.batches, respID)
	return b.outputs
}

// sendBatch gives the model the outputs of a response's calls, then asks it once to
// respond.
func (s *Session) sendBatch(outputs []realtime.Item) {
	if len(outputs) == 0 || s.workCtx.Err() != nil {
		return
	}
	var err error
	sent := 0
	for _, out := range outputs {
		if out.Type == "" {
			continue // a call that turned out to be a background tool's
		}
		if err = s.model.Send(s.ioCtx, &realtime.ConversationItemCreate{Item: out}); err != nil {
			break
		}
		sent++
	}
	if err == nil && sent > 0 { // background outputs ask for no response
		s.noteToolResult()
		err = s.requestResponse()
	}
	if err != nil {
		s.end(callevent.EndModelDisconnected, err)
	}
}

// batchResponseDone marks a response's batch done: no more calls come from it.
func (s *Session) batchResponseDone(respID string) {
	s.mu.Lock()
	var outputs []realtime.Item
	if b := s.batches[respID]; b != nil {
		b.done = true
		outputs = s.completeBatch(respID)
	}
	s.mu.Unlock()
	s.sendBatch(outputs)
}

func (s *Session) runTool(respID string, slot int, item realtime.Item) {
	s.emit(callevent.ToolCall{Header: s.hdr(), CallID: item.CallID, Name: item.Name, Arguments: item.Arguments})
	began := s.now()
	output, background, err := s.execTool(item)
	if err != nil {
		output = "Error: " + err.Error()
	}
	if s.opts.ScrubToolOutput != nil {
		output = s.opts.ScrubToolOutput(output)
		if err != nil {
			err = scrubbedError{err, output}
		}
	}
	s.emit(callevent.ToolResult{Header: s.hdr(), CallID: item.CallID, Name: item.Name, Output: output, Err: err,
		Duration: s.now().Sub(began), Background: background})
	if s.workCtx.Err() != nil {
		return // the call is over
	}
	if slot < 0 || background {
		if err := s.model.Send(s.ioCtx, &realtime.ConversationItemCreate{Item: realtime.Item{
			Type: realtime.ItemFunctionCallOutput, CallID: item.CallID, Output: output,
		}}); err != nil {
			s.end(callevent.EndModelDisconnected, err)
		}
		if slot < 0 {
			return
		}
	}
	s.mu.Lock()
	b := s.batches[respID]
	if !background {
		b.outputs[slot].Output = output
	} else {
		b.outputs[slot] = realtime.Item{} // sent already; nothing to answer
	}
	b.ready[slot] = true
	outputs := s.completeBatch(respID)
	s.mu.Unlock()
	s.sendBatch(outputs)
}

func (s *Session) execTool(item realtime.Item) (output string, background bool, err error) {
	s.mu.Lock()
	tool, ok := s.tools[item.Name]
	s.mu.Unlock()
	if !ok {
		return "", false, fmt.Errorf("there is no tool named %q", item.Name)
	}
	spec := tool.Spec()
	if spec.NeedsApproval {
		if ok, why := s.approve(item.CallID, item.Name, item.Arguments); !ok {
			return "", spec.Background, fmt.Errorf("the call to %s was %w (%s); tell the caller it could not be done", item.Name, errDenied, why)
		}
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = s.opts.ToolTimeout
	}
	ctx, cancel := context.WithTimeout(withToolCallID(WithCall(s.workCtx, s), item.CallID), timeout)
	defer cancel()
	args := json.RawMessage(item.Arguments)
	if len(strings.TrimSpace(item.Arguments)) == 0 {
		args = json.RawMessage("{}")
	}
	out, err := callTool(ctx, tool, args)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && s.workCtx.Err() == nil {
		err = fmt.Errorf("%s timed out after %s", item.Name, timeout)
	}
	return out, spec.Background, err
}

// approve asks the approver about a call, bounded by ApprovalTimeout.
func (s *Session) approve(callID, name, args string) (bool, string) {
	s.emit(callevent.ToolApprovalRequested{Header: s.hdr(), CallID: callID, Name: name, Arguments: args})
	approved, why := false, "no approver is configured"
	if s.opts.Approver != nil {
		ctx, cancel := context.WithTimeout(s.workCtx, s.opts.ApprovalTimeout)
		s.human.begin(s.now())
		ok, err := s.opts.Approver.Approve(ctx, ApprovalRequest{CallSID: s.CallSID(), CallID: callID, Name: name, Arguments: args})
		s.human.end(s.now())
		cancel()
		switch {
		case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			why = "no answer within " + s.opts.ApprovalTimeout.String()
		case err != nil:
			why = err.Error()
		case ok:
			approved, why = true, ""
		default:
			why = "denied"
		}
	}
	s.emit(callevent.ToolApprovalDecided{Header: s.hdr(), CallID: callID, Name: name, Approved: approved, Reason: why})
	return approved, why
}

// answerMCPApproval answers a hosted MCP tool's approval request through the same
// approver as function tools.
func (s *Session) answerMCPApproval(item realtime.Item) {
	approved, why := s.approve(item.ID, item.ServerLabel+"."+item.Name, item.Arguments)
	if s.workCtx.Err() != nil {
		return
	}
	// The reason tells the model why, as the function tools' denial text does.
	err := s.model.Send(s.ioCtx, &realtime.ConversationItemCreate{Item: realtime.Item{
		Type: realtime.ItemMCPApprovalResponse, ApprovalRequestID: item.ID, Approve: &approved, Reason: why,
	}})
	if err == nil {
		s.noteToolResult()
		err = s.requestResponse()
	}
	if err != nil {
		s.end(callevent.EndModelDisconnected, err)
	}
}

// scrubbedError is a tool's error whose words went through ScrubToolOutput: what
// it says is the scrubbed text, what it wraps stays for errors.Is.
type scrubbedError struct {
	err  error
	text string
}

func (e scrubbedError) Error() string { return strings.TrimPrefix(e.text, "Error: ") }
func (e scrubbedError) Unwrap() error { return e.err }
