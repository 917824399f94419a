package cmd

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// oldNameOf marks a hidden flag that is the old name of another.
const oldNameOf = "callagent-old-name-of"

// oldStringFlag keeps a renamed string flag working under its old name: it sets the
// same value, is hidden from help, and no CALLAGENT_* variable sets it (the new
// name's does). noteOldFlags says what replaces it when used.
func oldStringFlag(fs *pflag.FlagSet, p *string, value, old, name string) {
	fs.StringVar(p, old, value, "old name of --"+name)
	fs.MarkHidden(old)
	fs.SetAnnotation(old, noEnv, []string{"true"})
	fs.SetAnnotation(old, oldNameOf, []string{name})
}

// noteOldFlags writes a note to w (stderr) for each old flag name the command line
// used. pflag's own deprecation message would go where cobra prints, stdout, which
// is the product (call --json | jq).
func noteOldFlags(cmd *cobra.Command, w io.Writer) {
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if name := fl.Annotations[oldNameOf]; len(name) == 1 {
			fmt.Fprintf(w, "note: --%s is now --%s\n", fl.Name, name[0])
		}
	})
}
