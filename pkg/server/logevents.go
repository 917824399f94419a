package server

import (
	"context"
	"log/slog"

	"github.com/callagent/callagent/pkg/session"
)

// logEvent writes the call events that matter as one structured line each: start,
// end (reason, duration, counts), errors, warnings and tool calls at info or above;
// turns, interruptions and media summaries at debug. Audio and transcripts are never
// logged here (transcripts may hold what callers say; the call log keeps them).
func logEvent(log *slog.Logger, ev session.Event) {
	h := ev.EventHeader()
	ctx := context.Background()
	call := slog.String("call_sid", h.CallSID)
	switch e := ev.(type) {
	case session.CallStarted:
		log.LogAttrs(ctx, slog.LevelInfo, "call started", call, slog.String("from", e.From), slog.String("to", e.To),
			slog.String("stream_sid", e.StreamSID))
	case session.ModelConnected:
		log.LogAttrs(ctx, slog.LevelDebug, "model connected", call, slog.Duration("wait", e.DialTime),
			slog.Int("buffered_frames", e.BufferedFrames), slog.Int("dropped_frames", e.DroppedFrames))
	case session.CallEnded:
		attrs := []slog.Attr{call, slog.String("reason", string(e.Reason)), slog.Float64("duration_s", e.Duration.Seconds()),
			slog.Int("turns", e.Turns), slog.Int("interruptions", e.Interruptions), slog.Int("tool_calls", e.ToolCalls),
			slog.Int64("audio_in_bytes", e.InBytes), slog.Int64("audio_out_bytes", e.OutBytes)}
		if e.DroppedEvents > 0 {
			attrs = append(attrs, slog.Int64("dropped_events", e.DroppedEvents))
		}
		level := slog.LevelInfo
		if e.Err != nil {
			attrs = append(attrs, slog.String("error", e.Err.Error()))
			if e.Reason == session.EndModelDisconnected || e.Reason == session.EndModelDialFailed {
				level = slog.LevelError
			}
		}
		log.LogAttrs(ctx, level, "call ended", attrs...)
	case session.ModelError:
		log.LogAttrs(ctx, slog.LevelWarn, "model error", call, slog.String("code", e.Code), slog.String("type", e.Type),
			slog.String("message", e.Message))
	case session.Warning:
		log.LogAttrs(ctx, slog.LevelWarn, e.Message, call)
	case session.ToolCall:
		log.LogAttrs(ctx, slog.LevelInfo, "tool call", call, slog.String("tool", e.Name), slog.String("call_id", e.CallID))
	case session.ToolApprovalDecided:
		log.LogAttrs(ctx, slog.LevelInfo, "tool approval", call, slog.String("tool", e.Name), slog.Bool("approved", e.Approved),
			slog.String("reason", e.Reason))
	case session.ToolResult:
		attrs := []slog.Attr{call, slog.String("tool", e.Name), slog.String("call_id", e.CallID), slog.Duration("took", e.Duration)}
		level := slog.LevelInfo
		if e.Err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("error", e.Err.Error()))
		}
		log.LogAttrs(ctx, level, "tool result", attrs...)
	case session.TurnLatency:
		log.LogAttrs(ctx, slog.LevelDebug, "turn", call, slog.Duration("latency", e.Latency))
	case session.Interruption:
		log.LogAttrs(ctx, slog.LevelDebug, "caller barged in", call, slog.Int("heard_ms", e.HeardMs),
			slog.Int("truncated_items", len(e.Truncations)))
	case session.MediaStats:
		log.LogAttrs(ctx, slog.LevelDebug, "media", call, slog.Int("in_frames", e.InFrames), slog.Int("out_frames", e.OutFrames),
			slog.Int("in_bytes", e.InBytes), slog.Int("out_bytes", e.OutBytes))
	}
}
