// Package atomicfile writes files that a reader, or a crash, sees whole or not at
// all: the state of a pointed number, a call recording, a cached speech line.
package atomicfile

import (
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
