package repository_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"gorm.io/gorm"
)

// BenchmarkIndexCost measures what each index of audit_request_events
// costs the writer: rows per second of 1,000-row transactions through
// GormStore (COPY on PostgreSQL, prepared multi-row INSERTs on SQLite),
// with the indexes Migrate keeps ("budget"), without some of them, and
// with each index earlier versions had added back. Run with -count to
// alternate the variants:
//
//	go test ./repository -run '^$' -bench IndexCost -benchtime 50x -count 3
func BenchmarkIndexCost(b *testing.B) {
	variants := []struct{ name, sql string }{
		{"budget", ""},
		{"budget-minus-user", "DROP INDEX idx_audit_request_events_user"},
		{"budget-minus-method_datetime", "DROP INDEX idx_audit_request_events_method_datetime"},
		{"budget-minus-url", "DROP INDEX idx_audit_request_events_url"},
		{"primary-key-only", "DROP INDEX idx_audit_request_events_user; DROP INDEX idx_audit_request_events_method_datetime; " +
			"DROP INDEX idx_audit_request_events_url; DROP INDEX idx_audit_request_events_status_datetime; DROP INDEX idx_audit_request_events_datetime"},
		{"plus-ip_address", "CREATE INDEX x_ip ON audit_request_events (ip_address)"},
		{"plus-method", "CREATE INDEX x_m ON audit_request_events (method)"},
		{"plus-status_code", "CREATE INDEX x_s ON audit_request_events (status_code)"},
		{"all-nine", "CREATE INDEX x_ip ON audit_request_events (ip_address); CREATE INDEX x_m ON audit_request_events (method); " +
			"CREATE INDEX x_s ON audit_request_events (status_code)"},
	}
	for _, be := range testdb.Backends() {
		for _, v := range variants {
			b.Run(be.Name+"/"+v.name, func(b *testing.B) {
				db := testdb.Open(b, be.DSN(b))
				if v.sql != "" {
					if err := db.Session(&gorm.Session{}).Exec(v.sql).Error; err != nil {
						b.Fatal(err)
					}
				}
				store := writer.GormStore{DB: db}
				batches := make([]*entities.Batch, b.N)
				for i := range batches {
					batches[i] = &entities.Batch{Requests: make([]entities.RequestEvent, 1000)}
					for j := range batches[i].Requests {
						batches[i].Requests[j] = entities.RequestEvent{ID: entities.NewID(), Datetime: time.Now().UTC(),
							Method: []string{"GET", "POST", "PUT", "DELETE"}[j%4], URL: fmt.Sprintf("/api/products/%d/", j*7919%10000),
							UserID: fmt.Sprintf("u%d", j%1000), IPAddress: fmt.Sprintf("10.0.%d.%d", j%2, j%250),
							StatusCode: 200, RequestType: "http", ResponseBody: `{"status":"ok"}`, ResponseTimeMS: 0.25}
					}
				}
				b.ResetTimer()
				for i := range b.N {
					if err := store.WriteBatch(context.Background(), batches[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
