// Package writerbench is the load of the writer benchmarks
// (BenchmarkWriter, and the integrity and partitioning comparisons): one
// request event per batch, as the middleware produces them, from Enqueue
// to commit.
package writerbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
)

// PingBatch is the i-th batch of the load: one request event shaped like
// the benchmarks' ping request.
func PingBatch(i int) *entities.Batch {
	return &entities.Batch{Requests: []entities.RequestEvent{{
		ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "GET", URL: fmt.Sprintf("/api/item/%d/", i%100),
		StatusCode: 200, IPAddress: "127.0.0.1", RequestType: "http", ResponseBody: `{"status":"ok"}`, ResponseTimeMS: 0.25,
	}}}
}

// RowsPerSecond writes n batches of the load through a Writer on store
// (library defaults, a queue large enough that nothing spills) and returns
// the rows per second from the first Enqueue to the end of Close. It fails
// tb unless every row was written.
func RowsPerSecond(tb testing.TB, store writer.Store, n int) float64 {
	tb.Helper()
	w := writer.NewWriter(store, repository.WriterConfig{
		QueueSize: 1 << 16, EnqueueTimeout: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	start := time.Now()
	for i := range n {
		w.Enqueue(PingBatch(i))
	}
	if err := w.Close(context.Background()); err != nil {
		tb.Fatal(err)
	}
	rate := float64(n) / time.Since(start).Seconds()
	if st := w.Stats(); st.Written != int64(n) {
		tb.Fatalf("written %d of %d: %+v", st.Written, n, st)
	}
	return rate
}
