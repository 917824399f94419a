// Command callagent puts an OpenAI Realtime voice agent on a real phone number.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/callagent/callagent/cmd"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop, interrupt := signalContext()
	defer stop()
	f := cmd.NewFactory()
	// stdout's reader went away (callagent dev --json | head -1): stop as on SIGTERM.
	f.IO.OnBrokenPipe(interrupt)
	err := cmd.NewRootCmd(f).ExecuteContext(ctx)
	code := cmd.ExitCode(ctx, err)
	if err != nil && code != cmd.ExitInterrupted {
		fmt.Fprintf(f.IO.ErrOut, "callagent: %s\n", cmd.ErrorText(err))
		var ue *cmd.UsageError
		if errors.As(err, &ue) && ue.Help {
			fmt.Fprintln(f.IO.ErrOut, ue.HelpHint())
		}
	}
	return code
}

// signalContext is cancelled by the first SIGINT, SIGTERM or SIGHUP (the terminal
// was closed), or by interrupt, so commands shut down cleanly (a dev session
// restores the phone number); a second SIGINT or SIGTERM exits at once (a closed
// terminal has no one to press Ctrl-C twice, so SIGHUP does not count).
//
// SIGPIPE is notified only to be dropped. Without Notify, Go dies of a write to a
// broken stdout or stderr (callagent dev --json | head -1) and restores nothing;
// with it the write fails with EPIPE, which IOStreams.OnBrokenPipe turns into
// interrupt. A SIGPIPE itself cannot tell a broken stdout from a dropped socket
// (once notified, every broken pipe signals), so it cancels nothing.
func signalContext() (ctx context.Context, stop, interrupt func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	done := make(chan struct{})
	go func() {
		signalled := false
		for {
			select {
			case s := <-sigs:
				switch {
				case s == syscall.SIGPIPE:
				case !signalled:
					signalled = true
					cancel()
				case s != syscall.SIGHUP:
					fmt.Fprintln(os.Stderr, "callagent: interrupted again, exiting now")
					os.Exit(cmd.ExitInterrupted)
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}, cancel
}
