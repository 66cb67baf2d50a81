package writer_test

import (
	"fmt"
	"testing"

	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/internal/writerbench"
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
					b.ReportAllocs()
					b.ResetTimer()
					b.ReportMetric(writerbench.RowsPerSecond(b, store, b.N), "rows/s")
				})
			}
		}
	}
}
