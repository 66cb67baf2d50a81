//go:build unix

package repository

import (
	"errors"
	"os"
	"syscall"
)

// tryLockFile takes an exclusive flock(2) of the file at path, creating
// it, without waiting: ok is false when another process holds it.
func tryLockFile(path string) (release func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return func() { _ = f.Close() }, true, nil // closing releases the lock
}
