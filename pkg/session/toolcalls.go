package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
		s.tasks.Go(func() { s.runTool(item) })
	case realtime.ItemMCPApprovalRequest:
		s.tasks.Go(func() { s.answerMCPApproval(item) })
	}
}

func (s *Session) runTool(item realtime.Item) {
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
	err = s.model.Send(s.ioCtx, &realtime.ConversationItemCreate{Item: realtime.Item{
		Type: realtime.ItemFunctionCallOutput, CallID: item.CallID, Output: output,
	}})
	if err == nil && !background {
		err = s.requestResponse()
	}
	if err != nil {
		s.end(callevent.EndModelDisconnected, err)
	}
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
	ctx, cancel := context.WithTimeout(WithCall(s.workCtx, s), timeout)
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
		ok, err := s.opts.Approver.Approve(ctx, ApprovalRequest{CallSID: s.CallSID(), CallID: callID, Name: name, Arguments: args})
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
