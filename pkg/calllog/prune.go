package calllog

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// logFile is a call's log on disk.
type logFile struct {
	path string
	mod  time.Time
	size int64
}

// File is a call's log on disk, as Files lists it.
type File struct {
	Path    string
	ModTime time.Time
	Size    int64
}

// Files lists dir's call logs (dir/<date>/<sid>.jsonl), oldest first: for a
// reader that keeps the summaries of files that did not change (the inspector).
// A dir that does not exist holds none.
func Files(dir string) ([]File, error) {
	all, err := files(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	out := make([]File, len(all))
	for i, f := range all {
		out[i] = File{Path: f.path, ModTime: f.mod, Size: f.size}
	}
	return out, err
}

// files lists dir's call logs (dir/<date>/<sid>.jsonl), oldest first.
func files(dir string) ([]logFile, error) {
	days, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []logFile
	for _, d := range days {
		if !d.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(dir, d.Name()))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".jsonl") {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, logFile{path: filepath.Join(dir, d.Name(), e.Name()), mod: info.ModTime(), size: info.Size()})
		}
	}
	slices.SortFunc(out, func(a, b logFile) int { return a.mod.Compare(b.mod) })
	return out, nil
}

// Prune removes call logs last written before now-maxAge, then the oldest until
// the rest fit in maxBytes, and date directories left empty. It returns how many
// files it removed. A file written in the last minute (a call in progress) is
// never removed for size.
func Prune(dir string, maxAge time.Duration, maxBytes int64, now time.Time) (int, error) {
	all, err := files(dir)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, f := range all {
		total += f.size
	}
	removed := 0
	var errs []error
	remove := func(f logFile) {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			return
		}
		total -= f.size
		removed++
		// Files kept beside a call's log belong to it (the inspector's replays,
		// CALLSID.replays.json) and go with it.
		dir, name := filepath.Split(f.path)
		prefix := strings.TrimSuffix(name, ".jsonl") + "."
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if n := e.Name(); strings.HasPrefix(n, prefix) && !strings.HasSuffix(n, ".jsonl") && !e.IsDir() {
				if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
			}
		}
	}
	keep := all[:0]
	for _, f := range all {
		if maxAge > 0 && now.Sub(f.mod) > maxAge {
			remove(f)
			continue
		}
		keep = append(keep, f)
	}
	for _, f := range keep {
		if maxBytes <= 0 || total <= maxBytes {
			break
		}
		if now.Sub(f.mod) < time.Minute {
			break
		}
		remove(f)
	}
	days, _ := os.ReadDir(dir)
	for _, d := range days {
		if d.IsDir() {
			os.Remove(filepath.Join(dir, d.Name())) // only succeeds when empty
		}
	}
	return removed, errors.Join(errs...)
}
