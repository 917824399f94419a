// Package atomicfile writes files that a reader, or a crash, sees whole or not at
// all: the state of a pointed number, a call recording, a cached speech line.
package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// Write makes path's directory (with dirPerm) when it is missing, has write fill a
// temporary file beside path, syncs it and renames it to path. On any error the
// temporary file is removed and path is as it was.
func Write(path string, dirPerm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	// A leading dot and a .tmp suffix: listings of *.json, *.wav... skip it.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// WriteBytes is Write of data.
func WriteBytes(path string, dirPerm os.FileMode, data []byte) error {
	return Write(path, dirPerm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// CheckDir fails when Write could not put a file in dir: it makes dir (with
// dirPerm) when it is missing, as Write would, then creates and removes a
// temporary file there. Callers check before the work whose result would be lost.
func CheckDir(dir string, dirPerm os.FileMode) error {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".callagent-write-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// ErrIsDir is CheckFile's error for a path that is a directory; the caller names
// the path.
var ErrIsDir = errors.New("it is a directory: name a file")

// CheckFile fails when Write could not write path: path must not be a directory
// (ErrIsDir), and its directory must take a new file (CheckDir).
func CheckFile(path string, dirPerm os.FileMode) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return ErrIsDir
	}
	return CheckDir(filepath.Dir(path), dirPerm)
}
