//go:build unix

package server

import "syscall"

// openFileLimit is the process's limit on open files (RLIMIT_NOFILE), or 0 when
// unknown.
func openFileLimit() int {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil || lim.Cur > 1<<30 {
		return 0
	}
	return int(lim.Cur)
}
