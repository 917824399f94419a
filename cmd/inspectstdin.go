package cmd

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/inspector"
)

// inspectStdin serves the inspector over a server's JSON log lines read from
// stdin (inspect -): inspector.Ingest keeps each call's lines in a temporary
// directory, in the call logs' layout, removed at the end, and publishes them
// as the list's live updates. Reading stops at the end of stdin (the page
// stays) or at the signal. No replay: serve records no audio to replay.
func inspectStdin(ctx context.Context, f *Factory, o *inspectOptions, ln net.Listener, host string) error {
	dir, err := os.MkdirTemp("", "callagent-inspect-")
	if err != nil {
		ln.Close()
		return fmt.Errorf("a directory for stdin's calls: %w", err)
	}
	defer os.RemoveAll(dir)
	s, err := serveInspector(ctx, ln, host, inspector.Options{LogDir: dir, RecordDir: o.RecordDir,
		Redactor: newRedactor(f.Env, nil), Now: f.Now})
	if err != nil {
		return err
	}
	fmt.Fprintln(f.IO.ErrOut, "Inspector for the calls of the log lines on stdin; Ctrl-C stops. Open:")
	fmt.Fprintln(f.IO.Out, s.url)

	// The reader: a read of stdin cannot be cancelled, so at the end it is
	// given a deadline when stdin takes one (a pipe), and waited for, bounded.
	read := make(chan error, 1)
	bad := 0
	go func() {
		read <- inspector.Ingest(f.IO.In, dir, s.h.PublishEvent, func(calllog.BadLine) { bad++ })
	}()
	var readErr error
	select {
	case readErr = <-read:
		read = nil
		msg := "stdin ended: the inspector stays until Ctrl-C"
		if readErr != nil {
			msg = "stdin: " + sanitize(readErr.Error()) + "; the inspector stays until Ctrl-C"
		}
		if bad > 0 {
			msg += fmt.Sprintf(" (%d line(s) skipped)", bad)
		}
		fmt.Fprintln(f.IO.ErrOut, msg)
		select {
		case <-ctx.Done():
		case <-s.ended:
		}
	case <-ctx.Done():
	case <-s.ended:
	}
	err = s.close()
	if read != nil {
		if d, ok := f.IO.In.(interface{ SetReadDeadline(time.Time) error }); ok {
			d.SetReadDeadline(time.Now())
		}
		select {
		case <-read:
		case <-time.After(inspectShutdown):
			// stdin is a terminal or a file that takes no deadline: the
			// process ends with the command, and the reader with it.
		}
	}
	return err
}
