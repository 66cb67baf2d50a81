package writer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/spool"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
)

// faultStore wraps a real store and fails on demand, like an unreachable
// database.
type faultStore struct {
	inner  writer.Store
	down   atomic.Bool
	ghost  atomic.Bool // commit, then report a failure (a lost COMMIT reply)
	poison string      // URL the database refuses, whatever its state
	calls  atomic.Int64
}

var errDown = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (s *faultStore) WriteBatch(ctx context.Context, b *entities.Batch) error {
	s.calls.Add(1)
	if s.down.Load() {
		return errDown
	}
	if s.poison != "" {
		for _, r := range b.Requests {
			if r.URL == s.poison {
				return errors.New("pq: value refused")
			}
		}
	}
	if err := s.inner.WriteBatch(ctx, b); err != nil {
		return err
	}
	if s.ghost.Load() {
		return errors.New("connection reset by peer after COMMIT")
	}
	return nil
}

func spoolCfg(dir string) repository.WriterConfig {
	return repository.WriterConfig{
		FlushInterval:   5 * time.Millisecond,
		RetryBackoffMax: 50 * time.Millisecond,
		Spool:           repository.SpoolConfig{Dir: dir},
	}
}

func countRows(t *testing.T, dsn string) (total, distinct int64) {
	t.Helper()
	db := testdb.Open(t, dsn)
	require.NoError(t, db.Table("audit_request_events").Count(&total).Error)
	require.NoError(t, db.Table("audit_request_events").Distinct("id").Count(&distinct).Error)
	return total, distinct
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOutageSpoolsAndReplaysEverythingOnce(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		store := &faultStore{inner: writer.GormStore{DB: db}}
		dir := filepath.Join(t.TempDir(), "spool")
		w, err := writer.OpenWriter(store, spoolCfg(dir))
		require.NoError(t, err)

		const phase = 300
		for i := range phase {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/before/%d", i))))
		}
		waitFor(t, "first rows written", func() bool { return w.Stats().Written == phase })

		store.down.Store(true)
		maxDepth := 0
		for i := range phase {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/during/%d", i))))
			maxDepth = max(maxDepth, w.Stats().QueueDepth)
			if i%50 == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		waitFor(t, "outage rows spooled", func() bool { return w.Stats().Spooled == phase })
		st := w.Stats()
		require.True(t, st.Degraded)
		require.Positive(t, st.SpoolPending)
		require.Positive(t, st.SpoolBytes)
		require.Contains(t, st.LastError, "connection refused")
		require.False(t, st.LastErrorAt.IsZero())
		require.Less(t, maxDepth, 100, "the queue does not grow during the outage")

		store.down.Store(false)
		for i := range phase {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/after/%d", i))))
		}
		waitFor(t, "spool replayed", func() bool { s := w.Stats(); return !s.Degraded && s.Written == 3*phase })
		require.NoError(t, w.Close(context.Background()))
		st = w.Stats()
		require.GreaterOrEqual(t, st.Replayed, int64(phase))
		require.Equal(t, st.Spooled, st.Replayed, "batches that came while the spool was replayed went through it, in order")
		require.Zero(t, st.Dropped)
		require.Zero(t, st.Failed)
		require.Zero(t, st.SpoolPending)
		total, distinct := countRows(t, dsn)
		require.Equal(t, int64(3*phase), total)
		require.Equal(t, total, distinct)
		segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		require.Empty(t, segs, "a replayed spool is deleted")
	})
}

func TestSynchronousWriteDuringOutageReturnsAfterFsync(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	store := &faultStore{inner: writer.GormStore{DB: db}}
	store.down.Store(true)
	dir := filepath.Join(t.TempDir(), "spool")
	w, err := writer.OpenWriter(store, spoolCfg(dir))
	require.NoError(t, err)
	b := requestBatch("/api/sync-outage")
	require.NoError(t, w.Write(context.Background(), b), "durable in the spool")
	require.Equal(t, int64(1), w.Stats().Spooled)
	// The record is on disk now: read it back without the writer.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.Len(t, segs, 1)
	var ids []entities.ID
	require.NoError(t, spool.ReadFile(segs[0], func(p []byte) error {
		items, err := writer.DecodeSpoolRecord(p)
		for _, it := range items {
			for _, r := range it.Requests {
				ids = append(ids, r.ID)
			}
		}
		return err
	}))
	require.Equal(t, []entities.ID{b.Requests[0].ID}, ids)
	store.down.Store(false)
	require.NoError(t, w.Close(context.Background()))
	var n int64
	require.NoError(t, db.Table("audit_request_events").Where("id = ?", b.Requests[0].ID).Count(&n).Error)
	require.Equal(t, int64(1), n, "Close replays while the database answers")
}

func TestSpoolLeftByAStoppedWriterIsReplayedAtStart(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		dir := filepath.Join(t.TempDir(), "spool")
		down := &faultStore{inner: writer.GormStore{DB: db}}
		down.down.Store(true)
		w, err := writer.OpenWriter(down, spoolCfg(dir))
		require.NoError(t, err)
		for i := range 200 {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/left/%d", i))))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, w.Close(ctx), "the database is down: Close spools and returns")
		require.Equal(t, int64(200), w.Stats().Spooled)

		w2, err := writer.OpenWriter(writer.GormStore{DB: db}, spoolCfg(dir))
		require.NoError(t, err)
		require.True(t, w2.Stats().Degraded, "a non-empty spool is replayed before new batches")
		require.True(t, w2.Enqueue(requestBatch("/api/new")))
		// Wait on what the test means: every row stored while the writer
		// runs (not by Close's drain), and the spool emptied. The new batch
		// may be written directly when the replay ends before it is taken,
		// so the Replayed counter is 200 or 201.
		waitFor(t, "the 201 rows stored and the spool replayed", func() bool {
			var n int64
			return db.Table("audit_request_events").Count(&n).Error == nil && n == 201 && !w2.Stats().Degraded
		})
		require.GreaterOrEqual(t, w2.Stats().Replayed, int64(200), "the left spool was replayed")
		require.NoError(t, w2.Close(context.Background()))
		total, distinct := countRows(t, dsn)
		require.Equal(t, int64(201), total)
		require.Equal(t, total, distinct)
	})
}

func TestCommitInDoubtIsNotDuplicated(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		store := &faultStore{inner: writer.GormStore{DB: db}}
		store.ghost.Store(true)
		w, err := writer.OpenWriter(store, spoolCfg(filepath.Join(t.TempDir(), "spool")))
		require.NoError(t, err)
		for i := range 50 {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/ghost/%d", i))))
		}
		waitFor(t, "spooled", func() bool { return w.Stats().Spooled > 0 })
		store.ghost.Store(false)
		require.NoError(t, w.Close(context.Background()))
		total, distinct := countRows(t, dsn)
		require.Equal(t, int64(50), total, "committed then replayed: still once")
		require.Equal(t, total, distinct)
	})
}

func TestRefusedRowsGoToTheDeadLetterFile(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	store := &faultStore{inner: writer.GormStore{DB: db}, poison: "/api/poison"}
	dir := filepath.Join(t.TempDir(), "spool")
	cfg := spoolCfg(dir)
	cfg.FlushInterval = 50 * time.Millisecond
	w, err := writer.OpenWriter(store, cfg)
	require.NoError(t, err)
	for i := range 10 {
		require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/good/%d", i))))
	}
	require.True(t, w.Enqueue(requestBatch("/api/poison")))
	for i := range 10 {
		require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/good2/%d", i))))
	}
	waitFor(t, "poison isolated", func() bool { s := w.Stats(); return s.Rejected == 1 && s.Written == 20 })
	require.NoError(t, w.Close(context.Background()))
	var urls []string
	require.NoError(t, spool.ReadFile(filepath.Join(dir, writer.DeadLetterFile), func(p []byte) error {
		items, err := writer.DecodeSpoolRecord(p)
		for _, it := range items {
			for _, r := range it.Requests {
				urls = append(urls, r.URL)
			}
		}
		return err
	}))
	require.Equal(t, []string{"/api/poison"}, urls)
	st := w.Stats()
	require.Equal(t, int64(1), st.Failed)
	require.False(t, st.Degraded)
}

func TestFullSpoolDropsAndCounts(t *testing.T) {
	dsn := testdb.SQLite(t)
	db := testdb.Open(t, dsn)
	store := &faultStore{inner: writer.GormStore{DB: db}}
	store.down.Store(true)
	cfg := spoolCfg(filepath.Join(t.TempDir(), "spool"))
	cfg.Spool.MaxBytes = 8 << 10
	cfg.Spool.SegmentBytes = 4 << 10
	w, err := writer.OpenWriter(store, cfg)
	require.NoError(t, err)
	var refused int
	for i := range 200 {
		b := requestBatch(fmt.Sprintf("/api/full/%d", i))
		b.Requests[0].RequestBody = strings.Repeat("b", 200)
		if err := w.Write(context.Background(), b); err != nil {
			require.ErrorIs(t, err, repository.ErrSpoolFull)
			refused++
		}
	}
	st := w.Stats()
	require.Positive(t, refused)
	require.Equal(t, int64(refused), st.SpoolDropped)
	require.Equal(t, int64(refused), st.Dropped)
	require.Equal(t, int64(200-refused), st.Spooled)
	require.LessOrEqual(t, st.SpoolBytes, int64(8<<10))
	store.down.Store(false)
	require.NoError(t, w.Close(context.Background()))
	total, distinct := countRows(t, dsn)
	require.Equal(t, int64(200-refused), total, "every spooled row replayed")
	require.Equal(t, total, distinct)
}

func TestFullSpoolBlockPolicyWaitsForRoom(t *testing.T) {
	dsn := testdb.SQLite(t)
	db := testdb.Open(t, dsn)
	store := &faultStore{inner: writer.GormStore{DB: db}}
	store.down.Store(true)
	cfg := spoolCfg(filepath.Join(t.TempDir(), "spool"))
	cfg.Spool.MaxBytes = 8 << 10
	cfg.Spool.SegmentBytes = 2 << 10
	cfg.Spool.Full = repository.SpoolFullBlock
	w, err := writer.OpenWriter(store, cfg)
	require.NoError(t, err)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := requestBatch(fmt.Sprintf("/api/block/%d", i))
			b.Requests[0].RequestBody = strings.Repeat("b", 200)
			errs <- w.Write(context.Background(), b)
		}()
	}
	waitFor(t, "all accepted", func() bool { return w.Stats().Accepted == n })
	time.Sleep(100 * time.Millisecond)
	st := w.Stats()
	require.Less(t, st.Spooled, int64(n), "writers wait while the spool is full")
	require.LessOrEqual(t, st.SpoolBytes, int64(8<<10))
	require.Zero(t, st.Dropped)
	store.down.Store(false)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, w.Close(context.Background()))
	require.Zero(t, w.Stats().Dropped)
	total, distinct := countRows(t, dsn)
	require.Equal(t, int64(n), total)
	require.Equal(t, total, distinct)
}

// Two writers on one spool directory (two trails of one process, or two
// instances started in one working directory, on the same audit database)
// each lock their own slot, both survive an outage, and a slot left with
// data is replayed by the next writer that takes it.
func TestWritersSharingASpoolDirUseSeparateSlots(t *testing.T) {
	dsn := testdb.SQLite(t)
	db := testdb.Open(t, dsn)
	dir := filepath.Join(t.TempDir(), "spool")
	require.NoError(t, os.MkdirAll(dir, 0o755)) // left by an earlier run: both writers open at start

	stores := []*faultStore{{inner: writer.GormStore{DB: db}}, {inner: writer.GormStore{DB: db}}}
	var writers []*writer.Writer
	for _, s := range stores {
		w, err := writer.OpenWriter(s, spoolCfg(dir))
		require.NoError(t, err, "the second writer must not be refused because the first holds the lock")
		writers = append(writers, w)
		s.down.Store(true)
	}
	for i, w := range writers {
		for j := range 50 {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/w%d/%d", i, j))))
		}
	}
	for _, w := range writers {
		waitFor(t, "outage rows spooled", func() bool { return w.Stats().Spooled == 50 })
	}
	dirs := map[string]bool{writers[0].Stats().SpoolDir: true, writers[1].Stats().SpoolDir: true}
	require.Len(t, dirs, 2, "each writer has its own slot")
	require.True(t, dirs[dir])
	require.True(t, dirs[dir+"-2"])

	// The second writer stops during the outage, its rows left on disk;
	// the first recovers.
	require.NoError(t, writers[1].Close(context.Background()))
	require.Positive(t, writers[1].Stats().SpoolPending)
	stores[0].down.Store(false)
	waitFor(t, "first spool replayed", func() bool { return !writers[0].Stats().Degraded })

	// A new writer takes the free slot and replays what the dead one left.
	w3, err := writer.OpenWriter(writer.GormStore{DB: db}, spoolCfg(dir))
	require.NoError(t, err)
	waitFor(t, "left-over slot replayed", func() bool { return w3.Stats().Replayed == 50 })
	require.Equal(t, dir+"-2", w3.Stats().SpoolDir)
	require.NoError(t, w3.Close(context.Background()))
	require.NoError(t, writers[0].Close(context.Background()))
	total, distinct := countRows(t, dsn)
	require.Equal(t, int64(100), total)
	require.Equal(t, total, distinct)
}
