package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/callagent/callagent/pkg/provision"
)

type numbersOptions struct {
	JSON    bool
	Restore bool
}

func newNumbersCmd(f *Factory) *cobra.Command {
	opts := &numbersOptions{}
	c := &cobra.Command{
		Use:   "numbers",
		Short: "List the Twilio account's phone numbers and where their calls go",
		Long: `List the phone numbers of the Twilio account (TWILIO_ACCOUNT_SID) and where each sends
its calls: a voice URL, a TwiML App, or a SIP trunk. Numbers a running callagent dev has
pointed at itself are marked, and so are numbers a dev that was killed left behind
(--restore, or the next callagent dev, puts those back).`,
		Example: `  callagent numbers
  callagent numbers --json | jq -r '.[].phone_number'
  callagent numbers --restore`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, f.Env); err != nil {
				return err
			}
			return numbersRun(cmd.Context(), f, opts)
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print the numbers as a JSON array")
	c.Flags().BoolVar(&opts.Restore, "restore", false, "put back numbers a killed callagent dev left pointed at itself")
	return c
}

// numberRow is a number as numbers shows it.
type numberRow struct {
	provision.Number
	Destination string `json:"destination"`
	// Callagent says how callagent holds it: "dev (pid 123)" or "left by a stopped dev".
	Callagent string `json:"callagent,omitempty"`
}

func numbersRun(ctx context.Context, f *Factory, o *numbersOptions) error {
	p, err := newProvisioner(f.Env)
	if err != nil {
		return err
	}
	st := newStyles(useColor(f.IO.ErrTTY, f.Env))
	if o.Restore {
		restored, err := p.RecoverCrashed(ctx)
		for _, r := range restored {
			msg := fmt.Sprintf("%s goes to %s again", sanitize(r.Number.PhoneNumber), sanitize(r.Number.Destination()))
			if r.Skipped != "" {
				msg = fmt.Sprintf("%s left as it is: %s", sanitize(r.Number.PhoneNumber), sanitize(r.Skipped))
			}
			fmt.Fprintln(f.IO.ErrOut, st.OK.Render("✓")+" "+msg)
		}
		if err != nil {
			return err
		}
		if len(restored) == 0 {
			fmt.Fprintln(f.IO.ErrOut, "nothing to restore")
		}
	}
	nums, err := p.List(ctx)
	if err != nil {
		return err
	}
	held := map[string]string{}
	// A damaged state file is said once, and hides nothing else.
	sessions, damaged := p.Sessions()
	if damaged != nil {
		fmt.Fprintln(f.IO.ErrOut, st.Error.Render("!")+" "+damaged.Error())
	}
	for _, s := range sessions {
		held[s.Number.SID] = fmt.Sprintf("dev (pid %d)", s.PID)
	}
	pending, _ := p.Pending()
	for _, n := range pending {
		held[n.SID] = "left by a stopped dev: run callagent numbers --restore"
	}
	rows := make([]numberRow, len(nums))
	for i, n := range nums {
		rows[i] = numberRow{Number: n, Destination: n.Destination(), Callagent: held[n.SID]}
	}
	if o.JSON {
		enc := json.NewEncoder(terminalJSONWriter{f.IO.Out})
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "The account has no phone numbers: buy one in the Twilio console (Phone Numbers › Buy a number).")
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tNAME\tCALLS GO TO\tCALLAGENT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sanitize(r.PhoneNumber), sanitize(r.FriendlyName), sanitize(r.Destination), orDash(sanitize(r.Callagent)))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
