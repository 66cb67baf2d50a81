package spool_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-audit-trail/audit/internal/spool"
	"github.com/stretchr/testify/require"
)

func drain(t *testing.T, s *spool.Spool) []string {
	t.Helper()
	var out []string
	for {
		p, next, err := s.Peek()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, string(p))
		require.NoError(t, s.Pop(next))
	}
}

func TestAppendPeekPopInOrderAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	s, err := spool.Open(dir, spool.Options{SegmentBytes: 64})
	require.NoError(t, err)
	var want []string
	for i := range 50 {
		rec := fmt.Sprintf("record-%03d-%s", i, strings.Repeat("x", i%7))
		want = append(want, rec)
		require.NoError(t, s.Append([]byte(rec)))
	}
	st := s.Stats()
	require.Equal(t, int64(50), st.Records)
	require.Greater(t, st.Segments, 5, "small segments rotate")
	require.Equal(t, want, drain(t, s))
	require.True(t, s.Empty())
	st = s.Stats()
	require.Zero(t, st.Segments, "consumed segments are deleted")
	require.Zero(t, st.Bytes)
	require.NoError(t, s.Append([]byte("after")))
	require.Equal(t, []string{"after"}, drain(t, s))
	require.NoError(t, s.Close())
}

func TestReopenReplaysPendingRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := spool.Open(dir, spool.Options{SegmentBytes: 100})
	require.NoError(t, err)
	for i := range 20 {
		require.NoError(t, s.Append(fmt.Appendf(nil, "r%d", i)))
	}
	// consume five, then "crash" (Close without draining)
	for range 5 {
		_, next, err := s.Peek()
		require.NoError(t, err)
		require.NoError(t, s.Pop(next))
	}
	require.NoError(t, s.Close())

	s, err = spool.Open(dir, spool.Options{SegmentBytes: 100})
	require.NoError(t, err)
	got := drain(t, s)
	// Records of a partly consumed segment come back (replays are
	// idempotent); nothing of a later segment is lost or reordered.
	require.GreaterOrEqual(t, len(got), 15)
	require.Equal(t, "r19", got[len(got)-1])
	for i := 1; i < len(got); i++ {
		var a, b int
		fmt.Sscanf(got[i-1], "r%d", &a)
		fmt.Sscanf(got[i], "r%d", &b)
		require.Equal(t, a+1, b)
	}
	require.NoError(t, s.Close())
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := spool.Open(dir, spool.Options{})
	require.NoError(t, err)
	_, err = spool.Open(dir, spool.Options{})
	require.ErrorIs(t, err, spool.ErrLocked)
	require.NoError(t, s.Close())
	s, err = spool.Open(dir, spool.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

func onlySegment(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.NoError(t, err)
	require.Len(t, m, 1)
	return m[0]
}

func TestTornTailIsCut(t *testing.T) {
	for _, tail := range map[string][]byte{
		"half header":      {5, 0},
		"short payload":    {10, 0, 0, 0, 1, 2, 3, 4, 'a', 'b'},
		"zeros":            make([]byte, 4096),
		"bad last payload": append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, "abc"...),
	} {
		dir := t.TempDir()
		s, err := spool.Open(dir, spool.Options{})
		require.NoError(t, err)
		require.NoError(t, s.Append([]byte("one")))
		require.NoError(t, s.Append([]byte("two")))
		require.NoError(t, s.Close())
		seg := onlySegment(t, dir)
		before, _ := os.Stat(seg)
		f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.Write(tail)
		require.NoError(t, err)
		require.NoError(t, f.Close())

		s, err = spool.Open(dir, spool.Options{})
		require.NoError(t, err)
		after, _ := os.Stat(seg)
		require.Equal(t, before.Size(), after.Size(), "torn tail cut")
		require.Equal(t, []string{"one", "two"}, drain(t, s))
		corrupt, _ := filepath.Glob(filepath.Join(dir, "*.corrupt"))
		require.Empty(t, corrupt, "a torn tail is not kept aside")
		require.NoError(t, s.Close())
	}
}

func TestDamageInTheMiddleIsKeptAside(t *testing.T) {
	dir := t.TempDir()
	s, err := spool.Open(dir, spool.Options{})
	require.NoError(t, err)
	for _, r := range []string{"first", "second", "third"} {
		require.NoError(t, s.Append([]byte(r)))
	}
	require.NoError(t, s.Close())
	seg := onlySegment(t, dir)
	data, err := os.ReadFile(seg)
	require.NoError(t, err)
	i := strings.Index(string(data), "second")
	data[i] ^= 0xff // flip a byte of the second payload
	require.NoError(t, os.WriteFile(seg, data, 0o600))

	s, err = spool.Open(dir, spool.Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"first"}, drain(t, s))
	corrupt, _ := filepath.Glob(filepath.Join(dir, "*.corrupt"))
	require.Len(t, corrupt, 1, "damaged data is kept for an operator")
	require.NoError(t, s.Close())
}

func TestCapIsEnforced(t *testing.T) {
	dir := t.TempDir()
	s, err := spool.Open(dir, spool.Options{MaxBytes: 200, SegmentBytes: 100})
	require.NoError(t, err)
	n := 0
	for range 100 {
		err := s.Append([]byte(strings.Repeat("z", 20)))
		if errors.Is(err, spool.ErrFull) {
			break
		}
		require.NoError(t, err)
		n++
	}
	require.Less(t, n, 100)
	require.LessOrEqual(t, s.Stats().Bytes, int64(200))
	freed := s.Freed()
	p, next, err := s.Peek()
	require.NoError(t, err)
	require.Len(t, p, 20)
	for {
		require.NoError(t, s.Pop(next))
		select {
		case <-freed:
			require.NoError(t, s.Append([]byte("room again")))
			require.NoError(t, s.Close())
			return
		default:
		}
		_, next, err = s.Peek()
		require.NoError(t, err)
	}
}

func TestAppendFileAndReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rejected.spool")
	require.NoError(t, spool.AppendFile(path, []byte("a")))
	require.NoError(t, spool.AppendFile(path, []byte("bb")))
	var got []string
	require.NoError(t, spool.ReadFile(path, func(p []byte) error { got = append(got, string(p)); return nil }))
	require.Equal(t, []string{"a", "bb"}, got)
}

// FuzzScan feeds arbitrary segment images to the recovery scanner: it must
// never panic, never return a payload whose checksum is wrong, and never
// claim a good prefix longer than the input.
func FuzzScan(f *testing.F) {
	f.Add([]byte(spool.Magic))
	f.Add([]byte(spool.Magic + "\x03\x00\x00\x00\x00\x00\x00\x00abc"))
	f.Add([]byte("garbage"))
	f.Add(append([]byte(spool.Magic), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		var total int64
		good, bad, torn := spool.Scan(data, func(p []byte) { total += int64(len(p)) + spool.HeaderSize })
		if good > int64(len(data)) || good < 0 {
			t.Fatalf("good prefix %d of %d bytes", good, len(data))
		}
		if torn && !bad {
			t.Fatal("torn without bad")
		}
		if good > 0 && good != total+int64(len(spool.Magic)) {
			t.Fatalf("good %d != records %d + magic", good, total)
		}
	})
}
