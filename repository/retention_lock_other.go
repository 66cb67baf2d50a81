//go:build !unix

package repository

// tryLockFile always succeeds where flock(2) does not exist: there, let
// one instance only set Options.Retention on a SQLite file.
func tryLockFile(string) (release func(), ok bool, err error) { return func() {}, true, nil }
