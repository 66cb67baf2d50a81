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

// SignedInBatch is the i-th batch of a load shaped like an API's
// traffic: one request event of one of 1,000 users, on one of 10,000
// product URLs, so that the user and url indexes take every row in a
// different place (PingBatch's rows are anonymous, on 100 URLs).
func SignedInBatch(i int) *entities.Batch {
	return &entities.Batch{Requests: []entities.RequestEvent{{
		ID: entities.NewID(), Datetime: time.Now().UTC(), Method: []string{"GET", "POST", "PUT", "DELETE"}[i%4],
		URL: fmt.Sprintf("/api/products/%d/", i*7919%10000), Route: "/api/products/:id/", UserID: fmt.Sprintf("u%d", i*31%1000),
		StatusCode: 200, IPAddress: fmt.Sprintf("10.0.%d.%d", i%2, i%250), RequestType: "http", ResponseBody: `{"status":"ok"}`, ResponseTimeMS: 0.25,
	}}}
}

// Prefill writes n rows of load straight through store, in 1,000-row
// transactions, so that a measurement starts on a table with history.
func Prefill(tb testing.TB, store writer.Store, n int, load func(i int) *entities.Batch) {
	tb.Helper()
	for done := 0; done < n; {
		b := &entities.Batch{}
		for ; b.Len() < 1000 && done < n; done++ {
			b.Append(load(done))
		}
		if err := store.WriteBatch(context.Background(), b); err != nil {
			tb.Fatal(err)
		}
	}
}

// RowsPerSecond writes n batches of PingBatch through a Writer on store
// (library defaults, a queue large enough that nothing spills) and
// returns the rows per second from the first Enqueue to the end of Close.
// It fails tb unless every row was written.
func RowsPerSecond(tb testing.TB, store writer.Store, n int) float64 {
	tb.Helper()
	return Run(tb, store, n, repository.WriterConfig{}, PingBatch)
}

// Run writes load(0) to load(n-1) through a Writer on store with cfg (a
// queue large enough that nothing spills, and no logging, unless cfg
// says otherwise) and returns the rows per second from the first Enqueue
// to the end of Close. It fails tb unless every row was written.
func Run(tb testing.TB, store writer.Store, n int, cfg repository.WriterConfig, load func(i int) *entities.Batch) float64 {
	tb.Helper()
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 1 << 16
	}
	if cfg.EnqueueTimeout == 0 {
		cfg.EnqueueTimeout = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := writer.NewWriter(store, cfg)
	start := time.Now()
	for i := range n {
		w.Enqueue(load(i))
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
