//go:build !unix

package spool

import "os"

// lockFile is a no-op where flock(2) does not exist: do not share a spool
// directory between processes there.
func lockFile(*os.File) error { return nil }
