package writer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
)

// BenchmarkWriterIntegrity measures what sealing costs the writer: rows
// per second from Enqueue to commit, one request event per batch as the
// middleware produces them (BenchmarkWriter's load), with integrity off
// and on (signed with Ed25519), in alternate rounds of the same run, each
// on a fresh database. Run:
//
//	go test ./internal/writer -run '^$' -bench WriterIntegrity -benchtime 100000x
func BenchmarkWriterIntegrity(b *testing.B) {
	key, err := integrity.ParsePrivateKey(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	for _, be := range testdb.Backends() {
		for round := 1; round <= 3; round++ {
			for _, mode := range []string{"off", "on"} {
				b.Run(fmt.Sprintf("%s/round%d/%s", be.Name, round, mode), func(b *testing.B) {
					db := testdb.Open(b, be.DSN(b))
					store := writer.GormStore{DB: db}
					if mode == "on" {
						store.Integrity = integrity.NewSealer(key)
					}
					w := writer.NewWriter(store, repository.WriterConfig{
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
	}
}
