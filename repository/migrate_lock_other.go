//go:build !unix

package repository

import "context"

// lockFile does nothing where flock(2) does not exist: there, start one
// process first on a new SQLite audit file, or migrate it beforehand.
func lockFile(context.Context, string) (unlock func(), err error) { return func() {}, nil }
