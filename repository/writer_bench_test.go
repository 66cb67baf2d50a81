package repository_test

import (
	"testing"

	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/internal/writerbench"
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
			b.ReportAllocs()
			b.ResetTimer()
			b.ReportMetric(writerbench.RowsPerSecond(b, writer.GormStore{DB: db}, b.N), "rows/s")
		})
	}
}

// BenchmarkWriterSignedIn is BenchmarkWriter with rows shaped like an
// API's traffic (writerbench.SignedInBatch: 1,000 users, 10,000 URLs) on
// a table that already holds 200,000 of them (AUDIT_BENCH_PREFILL_ROWS),
// once with the library's MaxBatchRows ("default") and once with 1,000
// rows a transaction ("rows-1000", SQLite's default before). Run:
//
//	go test ./repository -run '^$' -bench WriterSignedIn -benchtime 100000x -count 3
func BenchmarkWriterSignedIn(b *testing.B) {
	prefill := testdb.BenchRows(b, "AUDIT_BENCH_PREFILL_ROWS", 200_000)
	for _, be := range testdb.Backends() {
		for _, v := range []struct {
			name string
			rows int
		}{{"default", 0}, {"rows-1000", 1000}} {
			b.Run(be.Name+"/"+v.name, func(b *testing.B) {
				store := writer.GormStore{DB: testdb.Open(b, be.DSN(b))}
				writerbench.Prefill(b, store, prefill, writerbench.SignedInBatch)
				b.ReportAllocs()
				b.ResetTimer()
				cfg := repository.WriterConfig{MaxBatchRows: v.rows}
				b.ReportMetric(writerbench.Run(b, store, b.N, cfg, writerbench.SignedInBatch), "rows/s")
			})
		}
	}
}
