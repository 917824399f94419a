package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

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
	JSON bool
}

func newConfigValidateCmd(f *Factory) *cobra.Command {
	opts := &validateOptions{}
	c := &cobra.Command{
		Use:   "validate",
		Short: "Report every problem in callagent.yaml, with file:line and how to fix it",
		Long: `Check a configuration the way every command does when it starts: keys, types, values,
references between agents and tools, regular expressions, files, and the environment
variables referenced as ${VAR} (from the environment or .env). Exits 2 when there is a problem.

--json prints one JSON object on stdout, valid or not: file, valid, model, agents and
tools (names), problems (each with file, line and column when known, and message) and
notes.`,
		Example: `  callagent config validate
  callagent config validate --config agents/support.yaml
  callagent config validate --json | jq -r '.problems[].message'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, f.Env); err != nil { // CALLAGENT_CONFIG, as dev and serve read it
				return err
			}
			return validateRun(f, opts)
		},
	}
	c.Flags().StringVar(&opts.Path, "config", "", "the file to check (default callagent.yaml)")
	c.Flags().BoolVar(&opts.JSON, "json", false, "print the result as a JSON object (file, valid, model, agents, tools, problems, notes)")
	return c
}

// validation is config validate's --json output. Its fields are documented in the
// command's help; add fields, never rename them.
type validation struct {
	File     string          `json:"file"`
	Valid    bool            `json:"valid"`
	Model    string          `json:"model,omitempty"`
	Agents   []string        `json:"agents"`
	Tools    []string        `json:"tools"`
	Problems []configProblem `json:"problems"`
	Notes    []string        `json:"notes"`
}

// configProblem is one thing wrong in the file.
type configProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func validateRun(f *Factory, opts *validateOptions) error {
	path := opts.Path
	if path == "" {
		path = agent.DefaultFile
	}
	v := validation{File: path, Agents: []string{}, Tools: []string{}, Problems: []configProblem{}, Notes: []string{}}
	cfg, err := agent.Load(path, f.Env.Get)
	if err == nil {
		_, err = agent.NewRuntime(cfg, agent.RuntimeOptions{})
	}
	if err != nil {
		if !opts.JSON {
			return &UsageError{Err: err}
		}
		var ae *agent.Error
		if errors.As(err, &ae) {
			for _, is := range ae.Issues {
				v.Problems = append(v.Problems, configProblem{File: is.File, Line: is.Line, Column: is.Column, Message: is.Message})
			}
		} else {
			v.Problems = append(v.Problems, configProblem{File: path, Message: err.Error()})
		}
		if err := writeJSON(f.IO.Out, v); err != nil {
			return err
		}
		return &UsageError{Err: err}
	}
	if cfg.NeedsAsk() && cfg.Approval.Webhook == "" {
		v.Notes = append(v.Notes, "some tools need approval and approval.policy is ask: `callagent dev` asks you; "+
			"`callagent serve` denies them unless approval.webhook is set")
	}
	v.Notes = append(v.Notes, cfg.SIPNotes()...) // what has no effect over SIP
	if opts.JSON {
		v.Valid, v.Model = true, cfg.Model
		for _, a := range cfg.Agents {
			v.Agents = append(v.Agents, a.Name)
		}
		for _, t := range cfg.Tools {
			v.Tools = append(v.Tools, t.Name)
		}
		return writeJSON(f.IO.Out, v)
	}
	fmt.Fprintf(f.IO.Out, "%s is valid: %s\n", sanitize(path), sanitize(cfg.Contents()))
	for _, n := range v.Notes {
		fmt.Fprintln(f.IO.ErrOut, "note: "+n)
	}
	return nil
}

// writeJSON writes v as one line of JSON, terminal-safe.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(terminalJSONWriter{w}).Encode(v)
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
  callagent init --config agents/front-desk.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			noteOldFlags(cmd, f.IO.ErrOut)
			if err := agent.WriteStarter(opts.Path, opts.Force); err != nil {
				return &UsageError{Err: err}
			}
			fmt.Fprintf(f.IO.ErrOut, "wrote %s: edit it, then check it with `callagent config validate`\n", opts.Path)
			return nil
		},
	}
	c.Flags().StringVar(&opts.Path, "config", agent.DefaultFile, "where to write it")
	oldStringFlag(c.Flags(), &opts.Path, agent.DefaultFile, "path", "config")
	c.Flags().BoolVar(&opts.Force, "force", false, "replace an existing file")
	return c
}
