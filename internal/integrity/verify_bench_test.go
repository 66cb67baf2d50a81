package integrity_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
)

// BenchmarkVerify measures audit verify's speed in rows per second on a
// sealed and signed trail of request events written in batches of 1,000
// (AUDIT_BENCH_VERIFY_ROWS rows, default 100,000; the documented figure
// uses 1,000,000). Run:
//
//	AUDIT_BENCH_VERIFY_ROWS=1000000 go test ./internal/integrity -run '^$' -bench Verify -benchtime 1x -timeout 30m
func BenchmarkVerify(b *testing.B) {
	rows := testdb.BenchRows(b, "AUDIT_BENCH_VERIFY_ROWS", 100_000)
	key, err := integrity.ParsePrivateKey(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	for _, be := range testdb.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := testdb.Open(b, be.DSN(b))
			store := writer.GormStore{DB: db, Integrity: integrity.NewSealer(key)}
			start := time.Now().UTC().Add(-time.Hour)
			for n := 0; n < rows; n += 1000 {
				batch := &entities.Batch{}
				for i := range min(1000, rows-n) {
					batch.Requests = append(batch.Requests, entities.RequestEvent{ID: entities.NewID(),
						Datetime: start.Add(time.Duration(n+i) * time.Millisecond), UserID: fmt.Sprintf("u%d", i%50),
						IPAddress: "10.0.0.1", Method: "GET", URL: fmt.Sprintf("/api/item/%d/", i%100), RequestType: "https",
						ResponseBody: `{"status":"ok"}`, StatusCode: 200, ResponseTimeMS: 0.25, ResponseSize: 15})
				}
				if err := store.WriteBatch(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			pub := key.Public().(ed25519.PublicKey)
			b.ResetTimer()
			for range b.N {
				res, err := integrity.Verify(context.Background(), db, integrity.Options{PublicKey: pub})
				if err != nil {
					b.Fatal(err)
				}
				if !res.OK() || res.Rows != int64(rows) {
					b.Fatalf("verify: %s", res.Summary())
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
