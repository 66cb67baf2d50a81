package writer_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/testlog"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
)

// A full queue sends batches to the spool instead of dropping them; they
// are replayed, once each, when the database catches up.
func TestFullQueueSpillsToTheSpoolInsteadOfDropping(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		gate := make(chan struct{})
		store := blockingStore{inner: writer.GormStore{DB: db}, gate: gate}
		cfg := spoolCfg(filepath.Join(t.TempDir(), "spool"))
		cfg.QueueSize = 4
		cfg.MaxBatchRows = 2
		cfg.Writers = 2
		w, err := writer.OpenWriter(store, cfg)
		require.NoError(t, err)
		const n = 300
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range n / 4 {
					require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/spill/%d/%d", g, i))))
				}
			})
		}
		wg.Wait()
		st := w.Stats()
		require.Zero(t, st.Dropped, "nothing is dropped while the spool has room")
		require.Equal(t, int64(n), st.Accepted)
		require.Positive(t, st.Spilled, "the blocked database filled the queue")
		require.Equal(t, st.Spilled, st.Spooled)
		require.False(t, st.Degraded, "a spill is not an outage: committers keep writing directly")
		close(gate)
		require.NoError(t, w.Close(context.Background()))
		st = w.Stats()
		require.Equal(t, int64(n), st.Written)
		require.Equal(t, st.Spooled, st.Replayed)
		require.Zero(t, st.SpoolPending)
		total, distinct := countRows(t, dsn)
		require.Equal(t, int64(n), total)
		require.Equal(t, total, distinct)
	})
}

// Batches spilled in a synchronous Write are answered after their fsync.
func TestSynchronousWriteThatFindsTheQueueFullIsDurable(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	gate := make(chan struct{})
	cfg := spoolCfg(filepath.Join(t.TempDir(), "spool"))
	cfg.QueueSize = 1
	cfg.MaxBatchRows = 1
	w, err := writer.OpenWriter(blockingStore{inner: writer.GormStore{DB: db}, gate: gate}, cfg)
	require.NoError(t, err)
	var returned sync.WaitGroup
	early := make(chan error, 20)
	for i := range 20 {
		returned.Go(func() {
			early <- w.Write(context.Background(), requestBatch(fmt.Sprintf("/api/x/%d", i)))
		})
	}
	// The committer is stuck on one transaction, the batcher holds the next
	// and the queue a third: the others are spilled and answered without
	// the database.
	waitFor(t, "spills", func() bool { return w.Stats().Spilled >= 15 })
	for range w.Stats().Spilled {
		require.NoError(t, <-early)
	}
	close(gate)
	returned.Wait()
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, int64(20), w.Stats().Written)
}

// A spool that cannot be written (here its directory cannot be created,
// like a full or read-only disk) logs one line per interval with the count,
// not one per batch.
func TestUnwritableSpoolLogsAtABoundedRate(t *testing.T) {
	var logs testlog.Buffer
	db := testdb.Open(t, testdb.SQLite(t))
	store := &faultStore{inner: writer.GormStore{DB: db}}
	store.down.Store(true)
	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	cfg := spoolCfg(filepath.Join(file, "spool")) // a directory under a file: never creatable
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	cfg.MaxBatchRows = 1
	w, err := writer.OpenWriter(store, cfg)
	require.NoError(t, err)
	const n = 500
	for i := range n {
		w.Enqueue(requestBatch(fmt.Sprintf("/api/lost/%d", i)))
	}
	waitFor(t, "every batch tried", func() bool { s := w.Stats(); return s.Failed+s.Dropped == n })
	require.NoError(t, w.Close(context.Background()))
	out := logs.String()
	require.Equal(t, 1, strings.Count(out, "audit: spool not writable"), out)
	require.Equal(t, 1, strings.Count(out, "database write failed"), out)
	require.Equal(t, int64(n), w.Stats().Failed)
}

// hungStore is a database that accepts the connection and never answers:
// every write waits until its context ends.
type hungStore struct{ calls chan struct{} }

func (s hungStore) WriteBatch(ctx context.Context, _ *entities.Batch) error {
	select {
	case s.calls <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

// Close returns within its context while the database hangs, and what was
// not written waits in the spool for the next writer, which stores it.
func TestCloseIsBoundedByItsContextWhenTheDatabaseHangs(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		dir := filepath.Join(t.TempDir(), "spool")
		cfg := spoolCfg(dir)
		cfg.WriteTimeout = time.Minute // a hang, not a timeout, ends the writes
		hung := hungStore{calls: make(chan struct{}, 1)}
		w, err := writer.OpenWriter(hung, cfg)
		require.NoError(t, err)
		const n = 200
		for i := range n {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/hung/%d", i))))
		}
		<-hung.calls
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		require.NoError(t, w.Close(ctx), "everything accepted is safe in the spool")
		require.Less(t, time.Since(start), 300*time.Millisecond+2*time.Second, "bounded by the context (and the spool grace)")
		st := w.Stats()
		require.Equal(t, int64(n), st.Spooled)
		require.Zero(t, st.Dropped)
		require.Zero(t, st.Failed)

		db := testdb.Open(t, dsn)
		w2, err := writer.OpenWriter(writer.GormStore{DB: db}, spoolCfg(dir))
		require.NoError(t, err)
		waitFor(t, "replay at start", func() bool { return w2.Stats().Replayed == n })
		require.NoError(t, w2.Close(context.Background()))
		total, distinct := countRows(t, dsn)
		require.Equal(t, int64(n), total)
		require.Equal(t, total, distinct)
	})
}

// A replay cannot outlast Close's context either: the spool is kept.
func TestCloseDuringAHungReplayKeepsTheSpool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	db := testdb.Open(t, testdb.SQLite(t))
	down := &faultStore{inner: writer.GormStore{DB: db}}
	down.down.Store(true)
	w, err := writer.OpenWriter(down, spoolCfg(dir))
	require.NoError(t, err)
	for i := range 50 {
		require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/r/%d", i))))
	}
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, int64(50), w.Stats().Spooled)

	cfg := spoolCfg(dir)
	cfg.WriteTimeout = time.Minute // replays would get 4 minutes
	hung := hungStore{calls: make(chan struct{}, 1)}
	w2, err := writer.OpenWriter(hung, cfg)
	require.NoError(t, err)
	<-hung.calls // the replay is in flight
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.NoError(t, w2.Close(ctx))
	require.Less(t, time.Since(start), 2*time.Second)
	require.Positive(t, w2.Stats().SpoolPending, "the spool waits on disk for the next start")
}

// Several committers write at once; every row lands once.
func TestParallelWritersStoreEveryRowOnce(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		w := writer.NewWriter(writer.GormStore{DB: db}, repository.WriterConfig{Writers: 4, MaxBatchRows: 50, FlushInterval: time.Millisecond})
		require.Equal(t, 4, w.Stats().Writers)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 500 {
					require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/p/%d/%d", g, i))))
				}
			})
		}
		wg.Wait()
		require.NoError(t, w.Close(context.Background()))
		total, distinct := countRows(t, dsn)
		require.Equal(t, int64(4000), total)
		require.Equal(t, total, distinct)
		require.Equal(t, int64(4000), w.Stats().Written)
	})
}
