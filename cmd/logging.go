package cmd

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/callagent/callagent/pkg/calllog"
)

// newLogger returns the slog logger of a server command: JSON lines (the default when
// stdout is not a terminal, for log collectors and `callagent logs -`) or text.
// Debug events of the namespaces filter enables pass whatever the level.
func newLogger(w io.Writer, format, level string, tty bool, filter calllog.Filter) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErrorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: slog.LevelDebug} // NamespaceHandler decides
	var h slog.Handler
	switch strings.ToLower(format) {
	case "", "auto":
		if tty {
			h = slog.NewTextHandler(w, opts)
		} else {
			h = slog.NewJSONHandler(w, opts)
		}
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, usageErrorf("%s", fmt.Sprintf("--log-format %q: use json or text", format))
	}
	return slog.New(&calllog.NamespaceHandler{Next: h, Min: lv, Filter: filter}), nil
}
