package cmd

import (
	"context"
	"io"

	"github.com/callagent/callagent/pkg/inspector"
	"github.com/callagent/callagent/pkg/offlinecall"
)

// inspectReplay is the inspector's replay action: the --from-call replay of a
// logged call (scenarioFromCall) against the configuration file at
// configPath, read again at each replay so edits count, offline (the simulated
// model), its temporary directory removed after. Approvals the call did not
// record are denied, as in a scripted simulate.
func inspectReplay(env *Env, configPath, logDir, recordDir string) inspector.ReplayFunc {
	return func(ctx context.Context, sid string) (inspector.ReplayResult, error) {
		cfg, err := loadAgentConfig(configPath, env)
		if err != nil {
			return inspector.ReplayResult{}, err
		}
		fc, err := scenarioFromCall(env, logDir, fromCallOptions{Call: sid, RecordDir: recordDir}, io.Discard)
		if err != nil {
			return inspector.ReplayResult{}, err
		}
		defer fc.cleanup()
		sc := fc.scenario()
		o := offlinecall.RunAll(ctx, offlineOptions(env, cfg, ""), []*offlinecall.Scenario{sc}, 1, nil)[0]
		if o.Err != nil {
			return inspector.ReplayResult{}, o.Err
		}
		res := inspector.ReplayResult{Passed: o.Passed(), Failures: o.Result.Failures, CallSID: o.Result.CallSID,
			ExpectedTools: sc.Expect.ToolCalls, ActualTools: offlinecall.ToolCalls(o.Result.Events),
			ExpectedEnding: sc.Expect.Ended, ActualEnding: string(o.Result.Ended.Reason)}
		if res.ActualTools == nil {
			res.ActualTools = []string{}
		}
		return res, nil
	}
}
