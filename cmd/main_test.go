package cmd

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the tests a home of their own: a command that falls back to
// ~/.local/state or ~/.cache writes there, never into the user's.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "callagent-cmd-test-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range []string{"XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "CALLAGENT_STATE_DIR"} {
		os.Unsetenv(k)
	}
	os.Setenv("HOME", home)
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}
