package loadtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux
// architecture Go supports (the kernel fixes it for user space).
const clockTicks = 100

// procSample is a process's CPU time and resident memory at one moment, and the
// work behind the CPU time: its read and write system calls and its threads'
// context switches (zero where /proc does not show them).
type procSample struct {
	cpu            time.Duration // user + system
	rssKB          int64
	reads, writes  int64 // /proc/PID/io syscr, syscw
	switches       int64 // voluntary and involuntary, summed over /proc/PID/task/*
	haveIO, haveSw bool
}

// readProc reads /proc/PID/stat (utime, stime) and /proc/PID/status (VmRSS).
func readProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, fmt.Errorf("read the target's CPU time (--pid %d): %w", pid, err)
	}
	cpu, err := parseStat(stat)
	if err != nil {
		return procSample{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, fmt.Errorf("read the target's memory (--pid %d): %w", pid, err)
	}
	rss, err := parseRSS(status)
	if err != nil {
		return procSample{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	ps := procSample{cpu: cpu, rssKB: rss}
	// Reading another user's io needs ptrace access: without it the rows are left out.
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		ps.reads, ps.writes, ps.haveIO = procField(b, "syscr:"), procField(b, "syscw:"), true
	}
	if tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid)); err == nil {
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
			if err != nil {
				continue // the thread exited meanwhile
			}
			ps.switches += procField(b, "voluntary_ctxt_switches:") + procField(b, "nonvoluntary_ctxt_switches:")
			ps.haveSw = true
		}
	}
	return ps, nil
}

// procField returns the number after name at the start of a line of a /proc file
// ("syscr: 12"), or 0.
func procField(b []byte, name string) int64 {
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// parseStat returns utime+stime from a /proc/PID/stat line. The command name (field
// 2) is in parentheses and may hold spaces: fields are counted after its last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state is field 3, so utime (14) and stime (15) are f[11], f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the name, want at least 13", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("utime %q stime %q are not numbers", f[11], f[12])
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// parseRSS returns VmRSS in KiB from /proc/PID/status.
func parseRSS(b []byte) (int64, error) {
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS line")
}

// loadAverage is the machine's 1-minute load average (0 where /proc/loadavg is not).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
