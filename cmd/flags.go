package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envName is the environment variable that can set a flag: CALLAGENT_ and the flag
// name in upper case with dashes as underscores (--max-calls: CALLAGENT_MAX_CALLS).
func envName(flag string) string {
	return "CALLAGENT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv fills every flag the command line did not set from its CALLAGENT_*
// variable (environment, then .env): flags > environment > .env > defaults.
func applyEnv(cmd *cobra.Command, env *Env) error {
	var err error
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if err != nil || fl.Changed || fl.Name == "help" || fl.Annotations[noEnv] != nil {
			return
		}
		v := env.Get(envName(fl.Name))
		if v == "" {
			return
		}
		if serr := fl.Value.Set(v); serr != nil {
			err = usageErrorf("%s=%q: %v", envName(fl.Name), v, serr)
			return
		}
		fl.Changed = true // set by the environment: it overrides the configuration file too
	})
	if err == nil {
		err = env.Err()
	}
	return err
}

// noEnv marks a flag no CALLAGENT_* variable sets: it must be asked for on the
// command line (simulate's --real: a variable left in .env would make every
// simulation a billed call to the real model again).
const noEnv = "callagent-no-env"

// flagEnvHelp appends the variable that sets each flag to its usage text.
func flagEnvHelp(fs *pflag.FlagSet) {
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Name != "help" && fl.Annotations[noEnv] == nil && !strings.Contains(fl.Usage, "$") {
			fl.Usage += fmt.Sprintf(" ($%s)", envName(fl.Name))
		}
	})
}
