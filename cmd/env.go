package cmd

import (
	"bytes"
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
// It reports (and remembers) a .env that cannot be parsed.
type Env struct {
	Getenv func(string) string
	Path   string // the .env file (default ".env")

	once sync.Once
	file map[string]string
	err  error
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
	return e.err
}

func (e *Env) dotenv() map[string]string {
	e.once.Do(func() {
		path := e.Path
		if path == "" {
			path = ".env"
		}
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			e.err = fmt.Errorf("read %s: %w", path, err)
			return
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			e.err = fmt.Errorf("read %s: %w", path, err)
			return
		}
		m, err := godotenv.UnmarshalBytes(data)
		if err != nil {
			// godotenv's message quotes the file, secrets included: say where only.
			e.err = &UsageError{Err: fmt.Errorf("%s:%d: this line cannot be read (an unclosed quote? a name other than letters, digits and _?): fix it or remove the file",
				path, badDotenvLine(data))}
			return
		}
		e.file = m
	})
	return e.file
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
