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
	ctx, stop := signalContext()
	defer stop()
	f := cmd.NewFactory()
	err := cmd.NewRootCmd(f).ExecuteContext(ctx)
	code := cmd.ExitCode(ctx, err)
	if err != nil && code != cmd.ExitInterrupted {
		fmt.Fprintf(f.IO.ErrOut, "callagent: %v\n", err)
		var ue *cmd.UsageError
		if errors.As(err, &ue) && ue.Help {
			fmt.Fprintln(f.IO.ErrOut, ue.HelpHint())
		}
	}
	return code
}

// signalContext is cancelled by the first SIGINT, SIGTERM, SIGHUP (the terminal
// was closed) or SIGPIPE (stdout's reader went away: callagent dev --json | head -1),
// so commands shut down cleanly (a dev session restores the phone number). Without
// Notify, Go would die of a write to a broken stdout, restoring nothing; with it,
// the write fails (EPIPE) and the command goes on to its cleanup. A second SIGINT
// or SIGTERM exits at once; SIGHUP and SIGPIPE do not count as a second one: a
// broken pipe signals on every write, and a closed terminal has no one to press
// Ctrl-C twice.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGHUP || s == syscall.SIGPIPE {
					continue
				}
				fmt.Fprintln(os.Stderr, "callagent: interrupted again, exiting now")
				os.Exit(cmd.ExitInterrupted)
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
