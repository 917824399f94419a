package cmd

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/joho/godotenv"
)

// Env resolves configuration from the environment: the process environment first,
// then a .env file in the working directory, which never overrides what is exported.
// It reports (and remembers) a .env that cannot be parsed. Reload reads the file
// again (dev does when callagent.yaml or .env is saved).
type Env struct {
	Getenv func(string) string
	Path   string // the .env file (default ".env")

	mu     sync.Mutex
	loaded bool
	file   map[string]string
	err    error
	sum    [32]byte // of the content read; zero when none
}

// Get returns the value of name, or "".
func (e *Env) Get(name string) string {
	if v := e.Getenv(name); v != "" {
		return v
	}
	return e.dotenv()[name]
}

// Err reports a .env file that exists but could not be read.
func (e *Env) Err() error {
	e.dotenv()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

func (e *Env) dotenv() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		e.loaded = true
		e.file, e.sum, e.err = readDotenv(e.dotenvPath())
	}
	return e.file
}

func (e *Env) dotenvPath() string {
	if e.Path == "" {
		return ".env"
	}
	return e.Path
}

// Reload reads the .env file again when its content changed since it was read, and
// reports whether it did: later Gets see the new values. A file that became
// unreadable keeps the previous values; Err says why.
func (e *Env) Reload() bool {
	file, sum, err := readDotenv(e.dotenvPath())
	e.mu.Lock()
	defer e.mu.Unlock()
	was := e.loaded
	if was && sum == e.sum && (err == nil) == (e.err == nil) {
		return false
	}
	e.loaded, e.err, e.sum = true, err, sum
	if err == nil || !was {
		e.file = file
	}
	return was // never read before: nothing had its old values
}

// readDotenv reads a .env file: its variables, or why it cannot be read, and a
// hash of its content (zero when there is no file).
func readDotenv(path string) (map[string]string, [32]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, [32]byte{}, nil
	}
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("read %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	m, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		// godotenv's message quotes the file, secrets included: say where only.
		return nil, sum, &UsageError{Err: fmt.Errorf("%s:%d: this line cannot be read (an unclosed quote? a name other than letters, digits and _?): fix it or remove the file",
			path, badDotenvLine(data))}
	}
	return m, sum, nil
}

// badDotenvLine finds the line a .env file stops parsing at: the first line from
// which every longer start of the file fails (a quoted value may span lines).
func badDotenvLine(data []byte) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	bad := len(lines)
	for n := len(lines); n >= 1; n-- {
		if _, err := godotenv.UnmarshalBytes(bytes.Join(lines[:n], nil)); err == nil {
			break
		}
		bad = n
	}
	return bad
}
