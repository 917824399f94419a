package cmd

import (
	"errors"
	"fmt"
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
		m, err := godotenv.Parse(f)
		if err != nil {
			e.err = &UsageError{Err: fmt.Errorf("%s: %w: fix the line or remove the file", path, err)}
			return
		}
		e.file = m
	})
	return e.file
}
