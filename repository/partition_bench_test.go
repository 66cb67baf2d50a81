package repository_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/internal/writerbench"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

func envInt(b *testing.B, name string, def int) int {
	if s := os.Getenv(name); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err)
		return n
	}
	return def
}

// writerRate writes n request events through a Writer (one per batch, as
// the middleware makes them, library defaults) and returns rows/s from
// the first Enqueue to the last commit.
func writerRate(b *testing.B, db *gorm.DB, n int) float64 {
	return writerbench.RowsPerSecond(b, writer.GormStore{DB: db}, n)
}

// BenchmarkWriterPartitioned compares the writer's rows/s into daily
// partitioned tables against plain ones, on PostgreSQL, alternating the
// two in rounds of AUDIT_BENCH_WRITER_ROWS rows (default 100000),
// AUDIT_BENCH_ROUNDS times (default 4): plain_rows/s, partitioned_rows/s
// and their ratio (partitioned over plain). Run with -benchtime=1x.
func BenchmarkWriterPartitioned(b *testing.B) {
	plain := testdb.Open(b, testdb.Postgres(b))
	part, err := repository.Open(testdb.Postgres(b))
	require.NoError(b, err)
	require.NoError(b, repository.MigratePartitioned(part, repository.Partitioning{Interval: repository.PartitionDaily}))
	n, rounds := envInt(b, "AUDIT_BENCH_WRITER_ROWS", 100_000), envInt(b, "AUDIT_BENCH_ROUNDS", 4)
	var sumPlain, sumPart float64
	for b.Loop() {
		for r := range rounds {
			// Alternate which goes first, so neither always meets a warmer cache.
			first, second := plain, part
			if r%2 == 1 {
				first, second = part, plain
			}
			a := writerRate(b, first, n)
			c := writerRate(b, second, n)
			if r%2 == 1 {
				a, c = c, a
			}
			b.Logf("round %d: plain %.0f rows/s, partitioned %.0f rows/s, ratio %.3f", r+1, a, c, c/a)
			sumPlain += a
			sumPart += c
		}
	}
	b.ReportMetric(sumPlain/float64(rounds), "plain_rows/s")
	b.ReportMetric(sumPart/float64(rounds), "partitioned_rows/s")
	b.ReportMetric(sumPart/sumPlain, "ratio")
}

// seedSpread copies n request events dated evenly in [from, to), 5000 per
// batch.
func seedSpread(b *testing.B, db *gorm.DB, n int, from, to time.Time) {
	store := writer.GormStore{DB: db}
	step := to.Sub(from) / time.Duration(n)
	for done := 0; done < n; {
		batch := &entities.Batch{}
		for i := 0; i < 5000 && done < n; i++ {
			batch.Requests = append(batch.Requests, entities.RequestEvent{ID: entities.NewID(),
				Datetime: from.Add(time.Duration(done) * step), Method: "GET", URL: "/api/products/42/", StatusCode: 200,
				ResponseBody: `{"id":42,"name":"Caneta","price":2.5}`})
			done++
		}
		require.NoError(b, store.WriteBatch(context.Background(), batch))
	}
}

// writerWindow runs writeFor for d, calling during (when not nil) after
// half a second, and returns the writer's rows/s over the window.
func writerWindow(b *testing.B, db *gorm.DB, d time.Duration, during func()) float64 {
	stop := make(chan struct{})
	got := make(chan int64)
	start := time.Now()
	go func() { got <- writeFor(b, db, stop) }()
	if during != nil {
		time.Sleep(500 * time.Millisecond)
		during()
	}
	time.Sleep(time.Until(start.Add(d)))
	close(stop)
	n := <-got
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkPurgePartitionsWhileWriting is BenchmarkPurgeWhileWriting on
// daily partitioned PostgreSQL tables: AUDIT_BENCH_PURGE_ROWS old rows
// (default 100000) spread over the 10 days before yesterday are purged by
// detaching and dropping their partitions while the writer goes on. The
// writer's rows/s over a 3 s window holding the purge (longer if the purge
// is) is compared with the mean of two windows as long without it, one
// before and one after. Reports purge_ms, purge_rows/s, writer_ratio.
// Run with -benchtime=1x.
func BenchmarkPurgePartitionsWhileWriting(b *testing.B) {
	db, err := repository.Open(testdb.Postgres(b))
	require.NoError(b, err)
	p := repository.Partitioning{Interval: repository.PartitionDaily}
	require.NoError(b, repository.MigratePartitioned(db, p))
	n := benchPurgeRows(b)
	cutoff := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	from := cutoff.AddDate(0, 0, -10)
	_, err = repository.EnsurePartitions(context.Background(), db, repository.Partitioning{Interval: repository.PartitionDaily, Ahead: 10}, from)
	require.NoError(b, err)
	for b.Loop() {
		seedStart := time.Now()
		seedSpread(b, db, n, from, cutoff)
		b.Logf("seeded %d rows in %s", n, time.Since(seedStart).Round(time.Millisecond))
		require.NoError(b, db.Exec("ANALYZE audit_request_events").Error)
		require.NoError(b, db.Exec("CHECKPOINT").Error) // the seed's writes are not the purge's

		window := 3 * time.Second
		before := writerWindow(b, db, window, nil)
		var took time.Duration
		var del int64
		var perr error
		during := writerWindow(b, db, window, func() {
			start := time.Now()
			pu := repository.Purger{DB: db, BatchRows: repository.DefaultPurgeBatchRows, Pause: repository.DefaultPurgePause}
			del, perr = pu.PurgeOlder(context.Background(), repository.Requests, cutoff)
			took = time.Since(start)
		})
		after := writerWindow(b, db, max(window, took+time.Second), nil)
		require.NoError(b, perr)
		require.Equal(b, int64(0), rowsOf(b, db, repository.Requests, "datetime < ?", cutoff))
		b.Logf("purge %s; writer rows/s before %.0f, during %.0f, after %.0f", took.Round(time.Millisecond), before, during, after)
		b.ReportMetric(float64(del)/took.Seconds(), "purge_rows/s")
		b.ReportMetric(float64(took.Milliseconds()), "purge_ms")
		b.ReportMetric(during, "writer_rows/s_during")
		b.ReportMetric((before+after)/2, "writer_rows/s_alone")
		b.ReportMetric(during/((before+after)/2), "writer_ratio")
	}
}
