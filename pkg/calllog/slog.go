package calllog

import (
	"context"
	"log/slog"

	"github.com/callagent/callagent/pkg/callevent"
)

// rawJSON is the fields of a line as a slog value: embedded as JSON by
// slog.JSONHandler, written as its text by slog.TextHandler.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
func (r rawJSON) MarshalText() ([]byte, error) { return r, nil }

// Record makes the slog record of an event, at the event's time and level, with
// the message and "type" set to its type and attributes ns, call_sid and fields,
// redacted by red (nil: the built-in patterns). Through slog.JSONHandler it is a
// line Read understands, so `kubectl logs … | callagent logs -` renders a
// server's calls.
func Record(ev callevent.Event, red *Redactor) (slog.Record, error) {
	l, err := FromEvent(ev)
	if err != nil {
		return slog.Record{}, err
	}
	r := slog.NewRecord(l.Time, callevent.Level(ev), l.Type, 0)
	r.AddAttrs(slog.String("ns", l.NS), slog.String("type", l.Type), slog.String("call_sid", l.CallSID))
	if len(l.Fields) > 0 {
		r.AddAttrs(slog.Any("fields", rawJSON(red.Redact(l.Fields))))
	}
	return r, nil
}

// LogEvent writes ev to log as Record makes it, unless log does not take its
// level (or namespace: see NamespaceHandler). Transcript deltas are skipped.
func LogEvent(log *slog.Logger, ev callevent.Event, red *Redactor) {
	switch ev.(type) {
	case callevent.CallerTranscriptDelta, callevent.AgentTranscriptDelta:
		return
	}
	ctx := withNamespace(context.Background(), callevent.Namespace(ev))
	if !log.Enabled(ctx, callevent.Level(ev)) {
		return
	}
	r, err := Record(ev, red)
	if err != nil {
		return
	}
	log.Handler().Handle(ctx, r)
}

type nsKey struct{}

func withNamespace(ctx context.Context, ns string) context.Context {
	return context.WithValue(ctx, nsKey{}, ns)
}

// NamespaceHandler passes records at or above Min, and debug records of the
// namespaces Filter enables whatever Min is: DEBUG=callagent:twilio shows Twilio
// frames on a server logging at info.
type NamespaceHandler struct {
	Next   slog.Handler
	Min    slog.Level
	Filter Filter
}

func (h *NamespaceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if l >= h.Min {
		return h.Next.Enabled(ctx, l)
	}
	ns, _ := ctx.Value(nsKey{}).(string)
	return ns != "" && h.Filter.Enabled(ns)
}

func (h *NamespaceHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.Next.Handle(ctx, r)
}

func (h *NamespaceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &NamespaceHandler{Next: h.Next.WithAttrs(attrs), Min: h.Min, Filter: h.Filter}
}

func (h *NamespaceHandler) WithGroup(name string) slog.Handler {
	return &NamespaceHandler{Next: h.Next.WithGroup(name), Min: h.Min, Filter: h.Filter}
}
