package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Tool is a function the model can call during a call.
type Tool interface {
	// Spec describes the tool to the model and to the session.
	Spec() ToolSpec
	// Call runs the tool with the model's JSON arguments. The returned text is given to
	// the model; an error is given to it as text too, and never ends the call. ctx
	// carries the tool's timeout and ends with the call.
	Call(ctx context.Context, arguments json.RawMessage) (string, error)
}

// ToolSpec describes a tool.
type ToolSpec struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments object; nil means no arguments.
	Parameters json.RawMessage
	// Timeout bounds a call (default Options.ToolTimeout).
	Timeout time.Duration
	// NeedsApproval sends each call to Options.Approver first; without an approver the
	// call is denied.
	NeedsApproval bool
	// Background results are added to the conversation without asking the model to
	// respond: it speaks about them at its next turn.
	Background bool
}

// NewTool makes a Tool from a spec and a function.
func NewTool(spec ToolSpec, fn func(ctx context.Context, arguments json.RawMessage) (string, error)) Tool {
	return funcTool{spec: spec, fn: fn}
}

type funcTool struct {
	spec ToolSpec
	fn   func(context.Context, json.RawMessage) (string, error)
}

func (t funcTool) Spec() ToolSpec { return t.spec }
func (t funcTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	return t.fn(ctx, args)
}

// Approver decides whether a tool call that needs approval may run.
type Approver interface {
	Approve(ctx context.Context, req ApprovalRequest) (approved bool, err error)
}

// ApproverFunc adapts a function to Approver.
type ApproverFunc func(ctx context.Context, req ApprovalRequest) (bool, error)

// Approve calls f.
func (f ApproverFunc) Approve(ctx context.Context, req ApprovalRequest) (bool, error) {
	return f(ctx, req)
}

// ApprovalRequest is a tool call waiting for approval. For hosted MCP tools Name is
// "server_label.tool".
type ApprovalRequest struct {
	CallSID   string
	CallID    string
	Name      string
	Arguments string
}

var toolName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

var defaultParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// checkTools validates tool specs and indexes them by name.
func checkTools(tools []Tool) (map[string]Tool, error) {
	byName := make(map[string]Tool, len(tools))
	for i, t := range tools {
		if t == nil {
			return nil, fmt.Errorf("tool %d is nil", i)
		}
		spec := t.Spec()
		if !toolName.MatchString(spec.Name) {
			return nil, fmt.Errorf("tool name %q: use 1-64 letters, digits, _ or -", spec.Name)
		}
		if _, dup := byName[spec.Name]; dup {
			return nil, fmt.Errorf("tool %q is defined twice: tool names must be unique", spec.Name)
		}
		if spec.Parameters != nil {
			var schema map[string]any
			if err := json.Unmarshal(spec.Parameters, &schema); err != nil {
				return nil, fmt.Errorf("tool %q: parameters must be a JSON Schema object: %w", spec.Name, err)
			}
		}
		byName[spec.Name] = t
	}
	return byName, nil
}

// errDenied is the error of a tool call that was not approved.
var errDenied = errors.New("not approved")

// callTool runs a tool, turning a panic into an error: a tool must not end a call.
func callTool(ctx context.Context, t Tool, args json.RawMessage) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tool panicked: %v", r)
		}
	}()
	return t.Call(ctx, args)
}
