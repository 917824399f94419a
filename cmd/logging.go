package cmd

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newLogger returns the slog logger of a server command: JSON lines (the default when
// stdout is not a terminal, for log collectors and `callagent logs -`) or text.
func newLogger(w io.Writer, format, level string, tty bool) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErrorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "", "auto":
		if tty {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, usageErrorf("%s", fmt.Sprintf("--log-format %q: use json or text", format))
}
