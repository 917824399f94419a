package agent

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Starter is the commented callagent.yaml that `callagent init` writes. It is also
// the built-in default agent: a receptionist that speaks first, with a demo weather
// tool and hang-up.
//
//go:embed starter.yaml
var Starter []byte

// Default returns the built-in agent configuration, the one used when there is no
// callagent.yaml.
func Default() *Config {
	cfg, err := Parse("", Starter, func(string) string { return "" })
	if err != nil {
		// The starter is tested; this cannot happen in a released build.
		return &Config{Model: DefaultModel}
	}
	return cfg
}

// WriteStarter writes Starter to path, refusing to replace a file unless force.
func WriteStarter(path string, force bool) error {
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: edit it, or pass --force to replace it with the starter", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(Starter); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
