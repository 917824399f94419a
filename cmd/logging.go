package cmd

import (
	"io"
	"log/slog"
	"strings"

	"github.com/callagent/callagent/pkg/calllog"
)

// newLogger returns the slog logger of a server command: JSON lines (the default when
// stdout is not a terminal, for log collectors and `callagent logs -`) or text.
// Debug events of the namespaces filter enables pass whatever the level.
func newLogger(w io.Writer, format, level string, tty bool, filter calllog.Filter) (*slog.Logger, error) {
	lv, err := parseLogLevel(level)
	if err != nil {
		return nil, err
	}
	if format, err = parseLogFormat(format); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: slog.LevelDebug} // NamespaceHandler decides
	var h slog.Handler
	if format == "json" || format == "auto" && !tty {
		h = slog.NewJSONHandler(terminalJSONWriter{w}, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(&calllog.NamespaceHandler{Next: h, Min: lv, Filter: filter}), nil
}

// parseLogLevel reads --log-level.
func parseLogLevel(level string) (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return 0, usageErrorf("--log-level %q: use debug, info, warn or error", level)
	}
	return lv, nil
}

// parseLogFormat reads --log-format: auto (or empty), json or text, in any case.
func parseLogFormat(format string) (string, error) {
	switch f := strings.ToLower(format); f {
	case "", "auto":
		return "auto", nil
	case "json", "text":
		return f, nil
	}
	return "", usageErrorf("--log-format %q: use json or text", format)
}
