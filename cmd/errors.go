package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes, documented in the README.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2 // bad flags, arguments or configuration
	ExitInterrupted = 130
)

// UsageError is a mistake in how callagent was invoked or configured; it exits 2.
// Help is set for command-line mistakes, where pointing at --help helps.
type UsageError struct {
	Err  error
	Help bool
	// Command is the command whose --help to suggest ("callagent dev"; default
	// the root).
	Command string
}

// HelpHint is the line that points to the help of the command at fault.
func (e *UsageError) HelpHint() string {
	c := e.Command
	if c == "" {
		c = "callagent"
	}
	return "Run '" + c + " --help' for usage."
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// commandLineError is a usage error in the command line itself.
func commandLineError(err error) error { return &UsageError{Err: err, Help: true} }

// hintAtFault makes the usage errors of every command under root point at that
// command's help (Run 'callagent dev --help'), not the root's: the command that
// failed is known here, not where the error was made.
func hintAtFault(root *cobra.Command) {
	for _, c := range root.Commands() {
		hintAtFault(c)
	}
	if root.RunE == nil {
		return
	}
	run := root.RunE
	root.RunE = func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		if ue, ok := errors.AsType[*UsageError](err); ok && ue.Command == "" {
			ue.Command = cmd.CommandPath()
		}
		return err
	}
}

// usageArgs makes an argument validator's errors usage errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &UsageError{Err: err, Help: true, Command: cmd.CommandPath()}
		}
		return nil
	}
}

// ExitCode maps the error a command returned to the process exit code. ctx is the
// root context: cancelled by SIGINT or SIGTERM.
func ExitCode(ctx context.Context, err error) int {
	if err == nil {
		return ExitOK
	}
	var ue *UsageError
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitFailure
}
