package cmd

import "testing"

// Under go run, the commands callagent prints must be typed as go run . …: the
// binary the README's quick start runs is not on PATH as callagent.
func TestSelfCommand(t *testing.T) {
	for exe, want := range map[string]string{
		"/tmp/go-build1234/b001/exe/callagent": "go run .",
		"/home/me/go/bin/callagent":            "callagent",
		"/usr/local/bin/callagent":             "callagent",
		"/tmp/exe/callagent":                   "callagent",
	} {
		if got := selfCommand(exe); got != want {
			t.Errorf("selfCommand(%q) = %q, want %q", exe, got, want)
		}
	}
	if got := (&Factory{}).self(); got != "callagent" {
		t.Errorf("default self %q", got)
	}
}
