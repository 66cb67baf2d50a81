package testdb

import (
	"os"
	"strconv"
	"testing"
)

// BenchRows is how many rows a benchmark seeds: the integer in the
// environment variable env (AUDIT_BENCH_ROWS and the like), or def when
// it is unset. A value that is not a positive integer fails tb, so that a
// typo does not silently measure the default.
func BenchRows(tb testing.TB, env string, def int) int {
	tb.Helper()
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive number of rows", env, s)
	}
	return n
}
