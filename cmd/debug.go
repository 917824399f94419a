package cmd

import (
	"github.com/callagent/callagent/pkg/calllog"
)

const debugFlagUsage = "show debug events of these namespaces: twilio, realtime, session, tool, http, tunnel, provision, or all " +
	"(comma list; -name excludes; DEBUG=callagent:* works too)"

// debugFilter combines --debug's short form with the DEBUG variable.
func debugFilter(flag string, env *Env) (calllog.Filter, error) {
	f, err := calllog.ParseDebugFlag(flag)
	if err != nil {
		return calllog.Filter{}, commandLineError(err)
	}
	return f.Merge(calllog.ParseFilter(env.Get("DEBUG"))), nil
}
