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
		fmt.Fprintf(f.IO.ErrOut, "callagent: %s\n", cmd.ErrorText(err))
		var ue *cmd.UsageError
		if errors.As(err, &ue) && ue.Help {
			fmt.Fprintln(f.IO.ErrOut, ue.HelpHint())
		}
	}
	return code
}

// signalContext is cancelled by the first SIGINT or SIGTERM, so commands shut down
// cleanly (a dev session restores the phone number); a second signal exits at once.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(os.Stderr, "callagent: interrupted again, exiting now")
			os.Exit(cmd.ExitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
