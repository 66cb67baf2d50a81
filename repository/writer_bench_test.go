package repository_test

import (
	"testing"

	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/internal/writerbench"
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
