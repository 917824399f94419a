package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "x.json")
	if err := WriteBytes(path, 0o700, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir: %v %v", fi, err)
	}
	// A failed write leaves the old file and no temporary file behind.
	boom := errors.New("boom")
	err := Write(path, 0o700, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "one" {
		t.Fatalf("after a failed write: %q", data)
	}
	if err := WriteBytes(path, 0o700, []byte("two")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if data, _ := os.ReadFile(path); string(data) != "two" || len(entries) != 1 {
		t.Fatalf("replaced: %q, %d entries", data, len(entries))
	}
}

func TestCheckDirAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := CheckDir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir not made owner-only: %v %v", fi, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the check left %v behind", ents)
	}
	if err := CheckFile(dir, 0o700); !errors.Is(err, ErrIsDir) {
		t.Errorf("a directory as a file: %v", err)
	}
	if err := CheckFile(filepath.Join(dir, "x.wav"), 0o700); err != nil {
		t.Error(err)
	}
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(filepath.Join(blocker, "sub"), 0o700); err == nil {
		t.Error("a directory under a file was reported writable")
	}
}
