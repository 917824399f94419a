package provision

import (
	"errors"
	"os"
	"syscall"
)

// processAlive reports whether a process with pid runs (on Unix, signal 0 tells).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = proc.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
