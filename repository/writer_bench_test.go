package repository_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
)

// BenchmarkWriter measures rows per second from Enqueue to commit, one
// request event per batch as the middleware produces them. Run:
//
//	go test ./repository -run '^$' -bench Writer -benchmem
func BenchmarkWriter(b *testing.B) {
	for _, be := range testdb.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := testdb.Open(b, be.DSN(b))
			w := writer.NewWriter(writer.GormStore{DB: db}, repository.WriterConfig{
				QueueSize: 1 << 16, EnqueueTimeout: time.Minute,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				w.Enqueue(&entities.Batch{Requests: []entities.RequestEvent{{
					ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "GET", URL: fmt.Sprintf("/api/item/%d/", i%100),
					StatusCode: 200, IPAddress: "127.0.0.1", RequestType: "http", ResponseBody: `{"status":"ok"}`, ResponseTimeMS: 0.25,
				}}})
			}
			if err := w.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
			if st := w.Stats(); st.Written != int64(b.N) {
				b.Fatalf("written %d of %d", st.Written, b.N)
			}
		})
	}
}
