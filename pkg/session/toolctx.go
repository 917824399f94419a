package session

import "context"

type toolCallKey struct{}

// ToolCallID returns the model's call_id of the tool call a tool runs for (what
// its ToolCall and ToolResult events carry): an HTTP tool names the call's trace
// span with it.
func ToolCallID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(toolCallKey{}).(string)
	return id, ok && id != ""
}

// withToolCallID returns ctx carrying the tool call's call_id.
func withToolCallID(ctx context.Context, callID string) context.Context {
	return context.WithValue(ctx, toolCallKey{}, callID)
}
