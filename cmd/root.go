// Package cmd holds callagent's cobra commands. Each command binds its flags to an
// options struct and calls a run function with the context and those options; the
// terminal rendering lives here too. Only cmd imports cobra (and, for rendering,
// lipgloss); the packages under pkg/ know nothing of the command line.
package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// NewRootCmd builds the callagent command tree. Commands are registered here, not in
// init functions, so a test can build a tree with its own Factory.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "callagent",
		Short: "Put an OpenAI Realtime voice agent on a real phone number",
		Long: `callagent bridges Twilio phone calls to OpenAI Realtime voice agents.

It relays audio both ways with no added delay, handles barge-in exactly (the model
remembers only what the caller heard), runs your tools, and always tears a call down
cleanly.`,
		Example: `  callagent simulate                 # a whole call, offline
  callagent init                     # a starter callagent.yaml
  callagent doctor                   # keys, model access, the number: checked before the first call
  callagent dev                      # your agent on your Twilio number, live in the terminal
  callagent serve --public-url https://calls.example.com`,
		Version:       f.Build.Version,
		SilenceErrors: true, // main prints errors once, with the exit code
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := "unknown command %q for %q"
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return commandLineError(fmt.Errorf(msg, args[0], cmd.CommandPath()))
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.SetVersionTemplate(f.Build.String() + "\n")
	root.SuggestionsMinimumDistance = 2
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newDevCmd(f, nil), newSimulateCmd(f, nil), newServeCmd(f, nil), newLogsCmd(f), newNumbersCmd(f), newCallCmd(f),
		newInitCmd(f), newConfigCmd(f), newDoctorCmd(f, nil), newVersionCmd(f), newInspectCmd(f, nil), newLoadtestCmd(f, nil))
	// After the commands: cobra makes its completion command only for a root that
	// has subcommands.
	addCompletionExamples(root)
	hintAtFault(root)
	return root
}

// flagError makes a flag parsing error a usage error (exit 2).
func flagError(cmd *cobra.Command, err error) error {
	return &UsageError{Err: err, Help: true, Command: cmd.CommandPath()}
}

// addCompletionExamples creates cobra's completion command now (it is otherwise made
// at Execute) to give it and its subcommands examples like every other command.
func addCompletionExamples(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = `  source <(callagent completion bash)               # this shell
  callagent completion zsh > "${fpath[1]}/_callagent"   # zsh, every shell
  callagent completion fish > ~/.config/fish/completions/callagent.fish`
		for _, sub := range c.Commands() {
			sub.Example = "  callagent completion " + sub.Name() + " > callagent." + sub.Name()
		}
		// Like every other command group: a shell it does not know is a usage error
		// (exit 2), not its help and success.
		c.Args = usageArgs(cobra.NoArgs)
		c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
}
