package provision

import (
	"errors"
	"os"
	"strconv"
	"strings"
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

// processStart identifies when process pid started, where the system says (Linux:
// the start time in /proc/PID/stat, in clock ticks since boot); "" elsewhere. With
// the PID it tells a process from a later one that was given the same PID.
func processStart(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses, so the
	// fields are counted from the last ')'; starttime is the 22nd field.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}

// selfStart is processStart of this process.
var selfStart = processStart(os.Getpid())

// mine reports whether st was saved by this process.
func (st saved) mine() bool {
	return st.PID == os.Getpid() && (st.ProcStart == "" || selfStart == "" || st.ProcStart == selfStart)
}

// held reports whether the session that saved st still runs. Where the system
// tells when a process started, a reused PID is not mistaken for it: in a
// container the restarted callagent is PID 1 again, and so was the one that
// crashed.
func (st saved) held() bool {
	if st.mine() {
		return true
	}
	if st.PID == os.Getpid() {
		return false // our PID, another start: the process before us
	}
	if !processAlive(st.PID) {
		return false
	}
	if st.ProcStart != "" {
		if now := processStart(st.PID); now != "" && now != st.ProcStart {
			return false
		}
	}
	return true
}
