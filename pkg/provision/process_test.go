package provision

import (
	"os"
	"os/exec"
	"testing"
)

// A state's process is told from a later one given the same PID, ours included.
func TestHeldTellsReusedPIDs(t *testing.T) {
	if selfStart == "" {
		t.Skip("this system does not say when a process started")
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	self, parent := os.Getpid(), os.Getppid()
	for _, tc := range []struct {
		name       string
		st         saved
		mine, held bool
	}{
		{"this process", saved{PID: self, ProcStart: selfStart}, true, true},
		{"this process, state without a start time", saved{PID: self}, true, true},
		{"our PID, an earlier process (a restarted container)", saved{PID: self, ProcStart: "1"}, false, false},
		{"another live process", saved{PID: parent, ProcStart: processStart(parent)}, false, true},
		{"another live process, state without a start time", saved{PID: parent}, false, true},
		{"a PID given to another process since", saved{PID: parent, ProcStart: "1"}, false, false},
		{"a dead process", saved{PID: dead.Process.Pid, ProcStart: "12345"}, false, false},
	} {
		if mine, held := tc.st.mine(), tc.st.held(); mine != tc.mine || held != tc.held {
			t.Errorf("%s: mine %v held %v, want %v %v", tc.name, mine, held, tc.mine, tc.held)
		}
	}
}

func TestProcessStart(t *testing.T) {
	if selfStart == "" {
		t.Skip("this system does not say when a process started")
	}
	if processStart(os.Getpid()) != selfStart || processStart(-1) != "" {
		t.Fatalf("processStart: self %q (at init %q)", processStart(os.Getpid()), selfStart)
	}
}
