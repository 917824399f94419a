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
