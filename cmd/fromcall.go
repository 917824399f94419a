package cmd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/offlinecall"
	"github.com/callagent/callagent/pkg/server"
)

// fromCallOptions are simulate's flags that replay a logged call.
type fromCallOptions struct {
	Call      string // --from-call: a call SID or a unique prefix
	SaveDir   string // --save-scenario
	RecordDir string // where dev recorded
}

func (o *fromCallOptions) flags(fl *pflag.FlagSet) {
	fl.StringVar(&o.Call, "from-call", "", "replay a call dev logged and recorded (its SID, or a unique prefix): "+
		"its caller's turns against this configuration, expecting the same tool calls and ending")
	fl.StringVar(&o.SaveDir, "save-scenario", "", "with --from-call: also write the replay to DIR (scenario.yaml and the caller's turns as WAV files) to keep as a test")
	fl.StringVar(&o.RecordDir, "record-dir", "", "with --from-call: where dev recorded the call (default: the state directory's recordings/; $CALLAGENT_RECORD_DIR, as for dev)")
	// A call to replay and where to save it are one run's: no variable sets them
	// (CALLAGENT_FROM_CALL in .env would turn every simulate into that replay).
	for _, name := range []string{"from-call", "save-scenario"} {
		fl.SetAnnotation(name, noEnv, []string{"true"})
	}
}

// check refuses the flags' combinations that make no sense; scripted says a
// scenario or caller audio was given too.
func (o *fromCallOptions) check(scripted bool) error {
	switch {
	case o.Call == "" && o.SaveDir != "":
		// Not --record-dir: CALLAGENT_RECORD_DIR, set for dev, sets it in every simulate.
		return commandLineError(errors.New("--save-scenario goes with --from-call CA…"))
	case o.Call != "" && scripted:
		return commandLineError(errors.New("--from-call makes the scenario from the call: drop --scenario and --caller-audio"))
	}
	return nil
}

// fromCall is a logged call made into a scenario for simulate.
type fromCall struct {
	replay *offlinecall.Replay
	temp   string // removed by cleanup
}

// scenario is the replay's scenario.
func (fc *fromCall) scenario() *offlinecall.Scenario { return fc.replay.Scenario }

// cleanup removes the temporary directory of the turns' audio. Safe on nil.
func (fc *fromCall) cleanup() {
	if fc != nil && fc.temp != "" {
		os.RemoveAll(fc.temp)
	}
}

// scenarioFromCall finds the call's log and recording and cuts the caller's turns
// into a directory: --save-scenario's (kept, with scenario.yaml), or a temporary one
// that cleanup removes. It says on errOut what it replays.
func scenarioFromCall(env *Env, logDir string, o fromCallOptions, errOut io.Writer) (*fromCall, error) {
	dir, err := callLogDir(logDir, env)
	if err != nil {
		return nil, err
	}
	path, err := calllog.Find(dir, o.Call)
	if errors.Is(err, calllog.ErrNoCall) {
		return nil, &UsageError{Err: fmt.Errorf("%w: callagent logs lists the logged calls (kept --call-log-max-age, 14d by default)", err)}
	}
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	call, err := offlinecall.ReadLoggedCall(f, path)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	recDir, err := recordingsDir(o.RecordDir, env)
	if err != nil {
		return nil, err
	}
	wav := recordPath(recDir)(server.CallInfo{CallSID: call.CallSID})
	caller, agent, err := offlinecall.ReadRecording(wav)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &UsageError{Err: fmt.Errorf("call %s has no recording in %s: recording was off for it (dev --no-record, "+
			"or serve and simulate, which record only with --record-dir/--record), or it was removed (dev keeps recordings "+
			"--record-max-age, 14d by default); dev records every call unless --no-record (give --record-dir here if dev had one)",
			sanitize(call.CallSID), recDir)}
	}
	if err != nil {
		return nil, err
	}

	fc := &fromCall{}
	out := o.SaveDir
	if out == "" {
		if fc.temp, err = os.MkdirTemp("", "callagent-replay-*"); err != nil {
			return nil, err
		}
		out = fc.temp
	} else {
		if err := os.MkdirAll(out, 0o700); err != nil {
			return nil, fmt.Errorf("--save-scenario: %w", err)
		}
		if _, err := os.Stat(filepath.Join(out, offlinecall.ScenarioFileName)); err == nil {
			return nil, &UsageError{Err: fmt.Errorf("--save-scenario %s already holds a %s: choose another directory, or remove it",
				out, offlinecall.ScenarioFileName)}
		}
	}
	if fc.replay, err = offlinecall.FromCall(call, caller, agent, out); err != nil {
		fc.cleanup()
		return nil, err
	}
	var what []string
	what = append(what, plural(fc.replay.Turns, "caller turn"))
	if n := len(call.Keys); n > 0 {
		what = append(what, plural(n, "key press"))
	}
	tools := "no tool calls"
	if len(call.Tools) > 0 {
		var names []string
		for _, t := range call.Tools {
			names = append(names, t.Name)
		}
		tools = "tool calls " + strings.Join(names, ", ")
	}
	ending := ""
	if e := fc.replay.Scenario.Expect.Ended; e != "" {
		ending = " and ending " + e
	}
	fmt.Fprintf(errOut, "replaying %s (%s), expecting %s%s\n", sanitize(call.CallSID), strings.Join(what, ", "), sanitize(tools), sanitize(ending))
	if fc.replay.RealSpeech {
		fmt.Fprintln(errOut, "note: the caller's turns are real speech, which only the real model understands (--real); the simulated model hears it but not what it says")
	}
	for _, n := range fc.replay.Notes {
		fmt.Fprintln(errOut, "note: "+sanitize(n))
	}
	if call.BadLines > 0 {
		fmt.Fprintf(errOut, "note: %s of %s could not be read and were skipped\n", plural(call.BadLines, "line"), sanitize(path))
	}
	if o.SaveDir != "" {
		saved, err := fc.replay.Save()
		if err != nil {
			return nil, fmt.Errorf("--save-scenario: %w", err)
		}
		fmt.Fprintf(errOut, "saved to %s: run it again with callagent simulate --scenario %s\n", sanitize(saved), sanitize(saved))
	}
	return fc, nil
}
