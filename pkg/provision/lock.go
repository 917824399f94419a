package provision

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A number's lock is the file SID.lock in the locks directory beside its state, locked (flock on Unix)
// by the process that points the number, from before it reads the state until the
// number is restored or the process ends: the system releases the lock of a
// process that dies, so a crash never leaves it held. The file holds the owner's
// PID for the error of the process that is refused.

func (p *Provisioner) lockPath(sid string) string {
	return filepath.Join(filepath.Dir(p.stateDir), "locks", filepath.Base(sid)+".lock")
}

// lock takes n's lock for this process, or says which process holds it.
func (p *Provisioner) lock(n Number) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.locks[n.SID]; ok {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p.lockPath(n.SID)), 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	f, err := os.OpenFile(p.lockPath(n.SID), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock %s: %w", n.PhoneNumber, err)
	}
	// A few tries: busy (numbers, call) holds the lock for a moment to look at it.
	ok, err := tryLock(f)
	for try := 0; err == nil && !ok && try < 5; try++ {
		time.Sleep(10 * time.Millisecond)
		ok, err = tryLock(f)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("lock %s (%s): %w", n.PhoneNumber, p.lockPath(n.SID), err)
	}
	if !ok {
		f.Close()
		return fmt.Errorf("%w: %s is being pointed at another callagent (pid %s) that uses the same state directory (%s): "+
			"stop it first, or use another number", ErrInUse, n.PhoneNumber, p.lockOwner(n.SID), filepath.Dir(p.stateDir))
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	p.locks[n.SID] = f
	return nil
}

// lockOwner is the PID in sid's lock file; its owner writes it just after
// locking, so an empty file is read again for a moment.
func (p *Provisioner) lockOwner(sid string) string {
	for range 50 {
		data, _ := os.ReadFile(p.lockPath(sid))
		if pid := strings.TrimSpace(string(data)); pid != "" {
			return pid
		}
		time.Sleep(2 * time.Millisecond)
	}
	return "unknown"
}

// unlock releases sid's lock if this process holds it. The file stays: removing
// a lock file races with a process about to lock it.
func (p *Provisioner) unlock(sid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.locks[sid]; ok {
		f.Close() // closing the only descriptor releases the lock
		delete(p.locks, sid)
	}
}

// busy reports whether another process holds sid's lock.
func (p *Provisioner) busy(sid string) bool {
	p.mu.Lock()
	_, mine := p.locks[sid]
	p.mu.Unlock()
	if mine {
		return false
	}
	f, err := os.Open(p.lockPath(sid))
	if err != nil {
		return false
	}
	defer f.Close()
	ok, err := tryLock(f)
	return err == nil && !ok
}
