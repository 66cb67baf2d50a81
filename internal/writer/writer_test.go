package writer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
)

func requestBatch(url string) *entities.Batch {
	return &entities.Batch{Requests: []entities.RequestEvent{{
		ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "GET", URL: url, StatusCode: 200,
	}}}
}

func count(t *testing.T, w *writer.Writer, dsn string, table string) int64 {
	t.Helper()
	db := testdb.Open(t, dsn)
	var n int64
	require.NoError(t, db.Table(table).Count(&n).Error)
	return n
}

func TestWriterDrainsEveryAcceptedEventOnClose(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		w := writer.NewWriter(writer.GormStore{DB: db}, repository.WriterConfig{FlushInterval: time.Hour, MaxBatchRows: 300})
		const goroutines, each = 8, 250
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/%d/%d", g, i))))
				}
			}()
		}
		wg.Wait()
		require.NoError(t, w.Close(context.Background()))
		st := w.Stats()
		require.Equal(t, int64(goroutines*each), st.Accepted)
		require.Equal(t, int64(goroutines*each), st.Written)
		require.Zero(t, st.Dropped)
		require.Equal(t, int64(goroutines*each), count(t, w, dsn, "audit_request_events"))
		require.False(t, w.Enqueue(requestBatch("/api/late")), "a closed writer refuses")
		require.Equal(t, int64(1), w.Stats().Dropped)
	})
}

func TestWriterRetryDoesNotDuplicate(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		b := requestBatch("/api/once")
		store := writer.GormStore{DB: db}
		require.NoError(t, store.WriteBatch(context.Background(), b))
		require.NoError(t, store.WriteBatch(context.Background(), b), "a replayed batch is accepted")
		var n int64
		require.NoError(t, db.Table("audit_request_events").Count(&n).Error)
		require.Equal(t, int64(1), n)
	})
}

func TestSynchronousWriteIsCommittedOnReturn(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		w := writer.NewWriter(writer.GormStore{DB: db}, repository.WriterConfig{FlushInterval: time.Hour})
		defer w.Close(context.Background())
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := requestBatch(fmt.Sprintf("/api/sync/%d", i))
				require.NoError(t, w.Write(context.Background(), b))
				var n int64
				require.NoError(t, db.Table("audit_request_events").Where("id = ?", b.Requests[0].ID).Count(&n).Error)
				require.Equal(t, int64(1), n, "row visible as soon as Write returns")
			}()
		}
		wg.Wait()
	})
}

func TestNULAndInvalidUTF8AreStorable(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		w := writer.NewWriter(writer.GormStore{DB: db}, repository.WriterConfig{})
		b := requestBatch("/api/\x00bad\xff")
		b.Requests[0].RequestBody = "a\x00b\xc3\x28"
		b.Logins = []entities.LoginEvent{{ID: entities.NewID(), Datetime: time.Now(), Status: entities.LoginFailed, Username: "x\x00\xff"}}
		require.NoError(t, w.Write(context.Background(), b))
		require.NoError(t, w.Close(context.Background()))
		var got entities.RequestEvent
		require.NoError(t, db.First(&got, "id = ?", b.Requests[0].ID).Error)
		require.Equal(t, "/api/bad\uFFFD", got.URL)
		require.Equal(t, "ab\uFFFD(", got.RequestBody)
	})
}

func TestQueueFullDropsAndCounts(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	blocked := make(chan struct{})
	store := blockingStore{inner: writer.GormStore{DB: db}, gate: blocked}
	w := writer.NewWriter(store, repository.WriterConfig{QueueSize: 2, MaxBatchRows: 1, EnqueueTimeout: time.Millisecond})
	accepted := 0
	for i := range 10 {
		if w.Enqueue(requestBatch(fmt.Sprintf("/api/%d", i))) {
			accepted++
		}
	}
	st := w.Stats()
	require.Less(t, accepted, 10)
	require.Equal(t, int64(10-accepted), st.Dropped)
	close(blocked)
	require.NoError(t, w.Close(context.Background()))
	require.Equal(t, int64(accepted), w.Stats().Written)
}

type blockingStore struct {
	inner writer.Store
	gate  chan struct{}
}

func (s blockingStore) WriteBatch(ctx context.Context, b *entities.Batch) error {
	<-s.gate
	return s.inner.WriteBatch(ctx, b)
}
