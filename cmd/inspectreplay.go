package cmd

import (
	"context"
	"io"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/inspector"
	"github.com/callagent/callagent/pkg/offlinecall"
)

// inspectReplay is the inspector's replay action: the --from-call replay of a
// logged call (scenarioFromCall) against the configuration file at
// configPath, read again at each replay so edits count, offline (the simulated
// model), its temporary directory removed after. Approvals the call did not
// record are denied, as in a scripted simulate. over, when not nil, are dev's
// command-line overrides of the agent, applied as dev applies them to its
// calls (agentSource), so a replay from dev runs the agent dev runs.
func inspectReplay(env *Env, configPath, logDir, recordDir string, over *agentOverrides) inspector.ReplayFunc {
	return func(ctx context.Context, sid string) (inspector.ReplayResult, error) {
		cfg, err := loadAgentConfig(configPath, env)
		if err != nil {
			return inspector.ReplayResult{}, err
		}
		if over != nil {
			over.applyTo(cfg)
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
		if over != nil {
			res.Overrides = over.list()
		}
		res.ReplayConfigHash = firstConfigHash(o.Result.Events)
		if dir, err := callLogDir(logDir, env); err == nil {
			if path, err := calllog.Find(dir, sid); err == nil {
				res.ConfigHash = loggedConfigHash(path)
			}
		}
		res.ConfigChanged = res.ConfigHash != "" && res.ReplayConfigHash != "" && res.ConfigHash != res.ReplayConfigHash
		return res, nil
	}
}

// list says which overrides are set, as their flags: "--model gpt-live-1".
func (a *agentOverrides) list() []string {
	var out []string
	if a.modelSet {
		out = append(out, "--model "+a.Model)
	}
	if a.voiceSet {
		out = append(out, "--voice "+a.Voice)
	}
	if a.MaxCallDuration > 0 {
		out = append(out, "--max-call-duration "+a.MaxCallDuration.String())
	}
	return out
}

// firstConfigHash is the digest of the agent a call started with: its first
// call.config event's ("" when it has none).
func firstConfigHash(evs []callevent.Event) string {
	for _, ev := range evs {
		if c, ok := ev.(callevent.CallConfig); ok {
			return c.Hash
		}
	}
	return ""
}

// loggedConfigHash is firstConfigHash of a call's log ("" when the call was
// logged before callagent recorded its configuration).
func loggedConfigHash(path string) string {
	var evs []callevent.Event
	calllog.ReadFile(path, func(_ calllog.Line, ev callevent.Event) {
		if c, ok := ev.(callevent.CallConfig); ok && len(evs) == 0 {
			evs = append(evs, c)
		}
	}, nil)
	return firstConfigHash(evs)
}
