package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/callagent/callagent/internal/atomicfile"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/server"
)

// dev records every call (a stereo WAV: the caller left, the agent right) so that
// `callagent simulate --from-call CA…` can replay it. Recordings hold the caller's
// voice: they are kept like the call logs (a directory only the user reads, files
// only the user reads, removed after --record-max-age or beyond --record-max-size).

// Recording retention, like the call logs'.
const (
	defaultRecordMaxAge   = calllog.DefaultMaxAge
	defaultRecordMaxBytes = 2 << 30
)

// recordingOptions are dev's recording flags beside --record-dir.
type recordingOptions struct {
	Off     bool
	MaxAge  days
	MaxSize byteSize
	dirSet  bool // --record-dir was given: a failure to write there stops dev
}

func (r *recordingOptions) flags(fl *pflag.FlagSet, dir *string) {
	r.MaxAge = days(defaultRecordMaxAge)
	r.MaxSize = byteSize(defaultRecordMaxBytes)
	fl.StringVar(dir, "record-dir", "", "record each call to DIR/<CallSid>.wav, stereo: caller left, agent right "+
		"(default: the state directory's recordings/; replay one with callagent simulate --from-call)")
	fl.BoolVar(&r.Off, "no-record", false, "do not record calls")
	fl.Var(&r.MaxAge, "record-max-age", "remove recordings older than this (like 14d or 36h; 0 keeps them)")
	fl.Var(&r.MaxSize, "record-max-size", "keep at most this much of recordings, removing the oldest (like 2GiB; 0: no limit)")
}

// recordingsDir is --record-dir, or recordings/ in the state directory (beside the
// call logs' calls/).
func recordingsDir(dir string, env *Env) (string, error) {
	if dir != "" {
		return dir, nil
	}
	state, err := provision.StateDir(env.Get)
	if err != nil {
		return "", err
	}
	return filepath.Join(state, "recordings"), nil
}

// open makes sure calls can be recorded before the first one: the directory is
// made (owner only) and written to once, and old recordings are removed. It returns
// the directory, or "" when recording is off. A directory the user chose that cannot
// be written is an error; the default one is a warning (to warn), and dev goes on
// without recording, as it does without call logs.
func (r *recordingOptions) open(dir string, env *Env, now time.Time, warn func(error)) (string, error) {
	if r.Off {
		return "", nil
	}
	r.dirSet = dir != ""
	dir, err := recordingsDir(dir, env)
	if err == nil {
		err = checkWritable(dir)
	}
	if err != nil {
		if r.dirSet {
			return "", commandLineError(fmt.Errorf("--record-dir %s: calls cannot be recorded there (%w): choose a directory you can write to, or pass --no-record",
				sanitize(dir), unwrapPath(err)))
		}
		warn(fmt.Errorf("recordings: %w; calls are not recorded (set --record-dir, or --no-record)", err))
		return "", nil
	}
	if _, err := pruneRecordings(dir, time.Duration(r.MaxAge), int64(r.MaxSize), now); err != nil {
		warn(fmt.Errorf("recordings: removing old ones: %w", err))
	}
	return dir, nil
}

// checkWritable makes dir (owner only) and creates and removes a file in it.
func checkWritable(dir string) error { return atomicfile.CheckDir(dir, 0o700) }

// recordPathPruning is recordPath(dir) that also removes old recordings when a
// call starts, at most once a minute (a dev session can run for days).
func (r *recordingOptions) recordPathPruning(dir string, now func() time.Time) func(server.CallInfo) string {
	path := recordPath(dir)
	if path == nil {
		return nil
	}
	var mu sync.Mutex
	var last time.Time
	return func(call server.CallInfo) string {
		mu.Lock()
		if t := now(); t.Sub(last) >= time.Minute {
			last = t
			pruneRecordings(dir, time.Duration(r.MaxAge), int64(r.MaxSize), t)
		}
		mu.Unlock()
		return path(call)
	}
}

// isRecording tells callagent's recordings (CA….wav, a call SID) from any other
// file in a directory the user chose.
func isRecording(name string) bool {
	sid, ok := strings.CutSuffix(name, ".wav")
	if !ok || len(sid) < 3 || !strings.HasPrefix(sid, "CA") {
		return false
	}
	return strings.Trim(sid[2:], "0123456789abcdefABCDEF") == ""
}

// pruneRecordings removes the recordings in dir last written before now-maxAge,
// then the oldest until the rest fit in maxBytes. A recording written in the last
// minute is never removed for size. It returns how many it removed.
func pruneRecordings(dir string, maxAge time.Duration, maxBytes int64, now time.Time) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	type rec struct {
		path string
		mod  time.Time
		size int64
	}
	var all []rec
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() || !isRecording(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		all = append(all, rec{filepath.Join(dir, e.Name()), info.ModTime(), info.Size()})
		total += info.Size()
	}
	slices.SortFunc(all, func(a, b rec) int { return a.mod.Compare(b.mod) })
	removed := 0
	var errs []error
	for _, f := range all {
		tooOld := maxAge > 0 && now.Sub(f.mod) > maxAge
		tooMuch := maxBytes > 0 && total > maxBytes && now.Sub(f.mod) >= time.Minute
		if !tooOld && !tooMuch {
			continue
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		total -= f.size
		removed++
	}
	return removed, errors.Join(errs...)
}
