package writer_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
)

// recordingStore writes through inner, the first transaction only once
// gate is closed, and records the rows of every transaction.
type recordingStore struct {
	inner writer.Store
	gate  chan struct{}
	mu    sync.Mutex
	rows  []int
}

func (s *recordingStore) WriteBatch(ctx context.Context, b *entities.Batch) error {
	s.mu.Lock()
	first := len(s.rows) == 0
	s.rows = append(s.rows, b.Len())
	s.mu.Unlock()
	if first {
		<-s.gate
	}
	return s.inner.WriteBatch(ctx, b)
}

// While the database is busy a transaction grows, but only up to a
// quarter of MaxQueueBytes of text: large rows make smaller transactions,
// so the rows being written stay bounded in memory like the queued ones.
func TestTransactionsEndAtAQuarterOfTheQueueBytes(t *testing.T) {
	dsn := testdb.SQLite(t)
	store := &recordingStore{inner: writer.GormStore{DB: testdb.Open(t, dsn)}, gate: make(chan struct{})}
	w := writer.NewWriter(store, repository.WriterConfig{
		MaxQueueBytes: 64 << 10, EnqueueTimeout: time.Minute, FlushInterval: time.Millisecond,
	})
	body := strings.Repeat("x", 2000) // about 2,300 bytes a row: 7 rows to a 16 KiB quarter
	const n = 60
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			b := requestBatch(fmt.Sprintf("/api/big/%d", i))
			b.Requests[0].ResponseBody = body
			require.True(t, w.Enqueue(b))
		}
	}()
	waitFor(t, "the first transaction", func() bool { store.mu.Lock(); defer store.mu.Unlock(); return len(store.rows) == 1 })
	waitFor(t, "a full queue", func() bool { return w.Stats().QueueBytes > 32<<10 })
	close(store.gate)
	<-done
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, int64(n), w.Stats().Written)
	store.mu.Lock()
	defer store.mu.Unlock()
	for i, rows := range store.rows {
		require.LessOrEqual(t, rows, 8, "transaction %d of %v", i, store.rows)
	}
	total, distinct := countRows(t, dsn)
	require.Equal(t, int64(n), total)
	require.Equal(t, total, distinct)
}
