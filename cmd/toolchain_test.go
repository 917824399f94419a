package cmd

import "testing"

func TestToolchainWarning(t *testing.T) {
	for v, warn := range map[string]bool{
		"go1.26.8": true, "go1.26.9": true, "go1.26.10": false, "go1.26.11": false,
		"go1.27.0": true, "go1.27.2": true, "go1.27.3": false, "go1.28.1": false,
		"devel go1.27-abc": false, "go1.25.4": true,
	} {
		if got := toolchainWarningFor(v) != ""; got != warn {
			t.Errorf("%s: warning %v, want %v", v, got, warn)
		}
	}
}
