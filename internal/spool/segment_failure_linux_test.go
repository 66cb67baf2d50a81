//go:build linux

package spool_test

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"

	"github.com/gin-audit-trail/audit/internal/spool"
	"github.com/stretchr/testify/require"
)

// TestFailedSegmentHeaderWriteIsReportedAndLosesNothing makes the kernel
// refuse the magic header of a new segment (a file size limit of zero bytes,
// RLIMIT_FSIZE, gives EFBIG on the first write) and checks what a user
// relies on: Append reports the failure, and once the disk takes writes
// again an appended record survives a reopen. A spool that ignored the
// failed header write kept a segment without its magic, and the next
// accepted record was moved aside as damage at the next Open.
//
// The limit applies to a whole process, so the test runs itself in a child
// process that does nothing else.
func TestFailedSegmentHeaderWriteIsReportedAndLosesNothing(t *testing.T) {
	const childEnv = "SPOOL_TEST_FSIZE_CHILD_DIR"
	if dir := os.Getenv(childEnv); dir != "" {
		segmentHeaderFailureChild(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFailedSegmentHeaderWriteIsReportedAndLosesNothing$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child process:\n%s", out)
	require.Contains(t, string(out), "--- PASS", "the child ran the test:\n%s", out)

	// The parent reads what the child left: the record accepted after the
	// failure is there, readable, and nothing was moved aside.
	s, err := spool.Open(dir, spool.Options{})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, []string{"accepted after the failure"}, drain(t, s))
	corrupt, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range corrupt {
		require.NotContains(t, e.Name(), ".corrupt", "no data was taken for damage")
	}
}

func segmentHeaderFailureChild(t *testing.T, dir string) {
	s, err := spool.Open(dir, spool.Options{})
	require.NoError(t, err)

	var old syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	signal.Ignore(syscall.SIGXFSZ) // the write returns EFBIG instead of killing the process
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 0, Max: old.Max}))
	err = s.Append([]byte("refused while the disk refuses writes"))
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old))
	require.Error(t, err, "a failed segment header write is reported")
	require.ErrorIs(t, err, syscall.EFBIG)
	require.Zero(t, s.Stats().Records)

	require.NoError(t, s.Append([]byte("accepted after the failure")))
	require.NoError(t, s.Close())
}
