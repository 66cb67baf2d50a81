//go:build unix

package spool

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking advisory lock on f, so that two
// processes (or two writers of one process) never append to or replay the
// same spool.
func lockFile(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("%w: %s (%v)", ErrLocked, f.Name(), err)
	}
	return nil
}
