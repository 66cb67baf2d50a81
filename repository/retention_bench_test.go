package repository_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// benchPurgeRows is the number of old rows each purge round deletes
// (AUDIT_BENCH_PURGE_ROWS, default 100000).
func benchPurgeRows(b *testing.B) int {
	return testdb.BenchRows(b, "AUDIT_BENCH_PURGE_ROWS", 100_000)
}

// seedOld writes n request events dated before cutoff, 5000 per batch.
func seedOld(b *testing.B, db *gorm.DB, n int, cutoff time.Time) {
	store := writer.GormStore{DB: db}
	for done := 0; done < n; {
		batch := &entities.Batch{}
		for i := 0; i < 5000 && done < n; i++ {
			batch.Requests = append(batch.Requests, entities.RequestEvent{ID: entities.NewID(),
				Datetime: cutoff.Add(-time.Duration(n-done) * time.Second), Method: "GET", URL: "/api/products/42/", StatusCode: 200,
				ResponseBody: `{"id":42,"name":"Caneta","price":2.5}`})
			done++
		}
		require.NoError(b, store.WriteBatch(context.Background(), batch))
	}
}

// writeFor writes batches of 100 new request events, one transaction each
// (the writer's pattern), until stop is closed, and returns the rows
// written.
func writeFor(b *testing.B, db *gorm.DB, stop <-chan struct{}) int64 {
	store := writer.GormStore{DB: db}
	var rows int64
	for {
		select {
		case <-stop:
			return rows
		default:
		}
		batch := &entities.Batch{}
		for range 100 {
			batch.Requests = append(batch.Requests, entities.RequestEvent{ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "POST", URL: "/api/orders/", StatusCode: 201})
		}
		require.NoError(b, store.WriteBatch(context.Background(), batch))
		rows += 100
	}
}

// BenchmarkPurgeWhileWriting purges AUDIT_BENCH_PURGE_ROWS old rows while
// the writer goes on, and measures the writer alone for as long, twice,
// alternating: purge_rows/s, and the writer's rows/s during the purge
// against without (writer_ratio); AUDIT_BENCH_PURGE_ROUNDS rounds
// (default 2). Run with -benchtime=1x.
func BenchmarkPurgeWhileWriting(b *testing.B) {
	for _, be := range testdb.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := testdb.Open(b, be.DSN(b))
			n := benchPurgeRows(b)
			var purged, purgeNanos, during, alone, aloneNanos atomic.Int64
			for b.Loop() {
				for range envInt(b, "AUDIT_BENCH_PURGE_ROUNDS", 2) {
					cutoff := time.Now().UTC().Add(-24 * time.Hour)
					seedOld(b, db, n, cutoff)

					stop := make(chan struct{})
					got := make(chan int64)
					go func() { got <- writeFor(b, db, stop) }()
					start := time.Now()
					p := repository.Purger{DB: db, BatchRows: repository.DefaultPurgeBatchRows, Pause: repository.DefaultPurgePause}
					del, err := p.PurgeOlder(context.Background(), repository.Requests, cutoff)
					took := time.Since(start)
					close(stop)
					during.Add(<-got)
					require.NoError(b, err)
					require.Equal(b, int64(n), del)
					purged.Add(del)
					purgeNanos.Add(int64(took))

					stop = make(chan struct{})
					go func() { got <- writeFor(b, db, stop) }()
					time.Sleep(took)
					close(stop)
					alone.Add(<-got)
					aloneNanos.Add(int64(took))
				}
			}
			secs := float64(purgeNanos.Load()) / 1e9
			b.ReportMetric(float64(purged.Load())/secs, "purge_rows/s")
			b.ReportMetric(float64(during.Load())/secs, "writer_rows/s_during")
			b.ReportMetric(float64(alone.Load())/(float64(aloneNanos.Load())/1e9), "writer_rows/s_alone")
			b.ReportMetric(float64(during.Load())/float64(alone.Load()), "writer_ratio")
		})
	}
}
