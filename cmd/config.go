package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/callagent/callagent/pkg/agent"
)

func newConfigCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Check the agent configuration (callagent.yaml)",
		Example: `  callagent config validate
  callagent config validate --config agents/support.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	c.AddCommand(newConfigValidateCmd(f))
	return c
}

type validateOptions struct {
	Path string
}

func newConfigValidateCmd(f *Factory) *cobra.Command {
	opts := &validateOptions{}
	c := &cobra.Command{
		Use:   "validate",
		Short: "Report every problem in callagent.yaml, with file:line and how to fix it",
		Long: `Check a configuration the way every command does when it starts: keys, types, values,
references between agents and tools, regular expressions, files, and the environment
variables referenced as ${VAR} (from the environment or .env). Exits 2 when there is a problem.`,
		Example: `  callagent config validate
  callagent config validate --config agents/support.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, f.Env); err != nil { // CALLAGENT_CONFIG, as dev and serve read it
				return err
			}
			return validateRun(f, opts)
		},
	}
	c.Flags().StringVar(&opts.Path, "config", "", "the file to check (default callagent.yaml)")
	return c
}

func validateRun(f *Factory, opts *validateOptions) error {
	path := opts.Path
	if path == "" {
		path = agent.DefaultFile
	}
	cfg, err := agent.Load(path, f.Env.Get)
	if err != nil {
		return &UsageError{Err: err}
	}
	if _, err := agent.NewRuntime(cfg, agent.RuntimeOptions{}); err != nil {
		return &UsageError{Err: err}
	}
	fmt.Fprintf(f.IO.Out, "%s is valid: %s\n", sanitize(path), sanitize(cfg.Contents()))
	if cfg.NeedsAsk() && cfg.Approval.Webhook == "" {
		fmt.Fprintln(f.IO.ErrOut, "note: some tools need approval and approval.policy is ask: `callagent dev` asks you; "+
			"`callagent serve` denies them unless approval.webhook is set")
	}
	return nil
}

type initOptions struct {
	Path  string
	Force bool
}

func newInitCmd(f *Factory) *cobra.Command {
	opts := &initOptions{}
	c := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter callagent.yaml",
		Long: `Write the built-in agent (a receptionist that speaks first, with a demo weather tool and
hang-up) as a commented callagent.yaml to edit. An existing file is kept unless --force.`,
		Example: `  callagent init
  callagent init --path agents/front-desk.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := agent.WriteStarter(opts.Path, opts.Force); err != nil {
				return &UsageError{Err: err}
			}
			fmt.Fprintf(f.IO.ErrOut, "wrote %s: edit it, then check it with `callagent config validate`\n", opts.Path)
			return nil
		},
	}
	c.Flags().StringVar(&opts.Path, "path", agent.DefaultFile, "where to write it")
	c.Flags().BoolVar(&opts.Force, "force", false, "replace an existing file")
	return c
}
