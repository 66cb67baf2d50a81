package writer_test

import (
	"context"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/stretchr/testify/require"
)

// The response times that COPY stores on PostgreSQL read back as the same
// numerics (value and display scale) that pgx's own float encoding stores,
// on the fast path and on the idempotent one.
func TestPostgresResponseTimeNumeric(t *testing.T) {
	dsn := testdb.Postgres(t)
	db := testdb.Open(t, dsn)
	store := writer.GormStore{DB: db}
	ctx := context.Background()
	times := []float64{0, 0.001, 0.01, 0.1, 1, 1.25, 12.345, 100, 1000, 10000.5, 123456.789, 86400000, 1e20, 1e-7, 0.30000000000000004}
	b := &entities.Batch{}
	for _, ms := range times {
		b.Requests = append(b.Requests, entities.RequestEvent{ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "GET", URL: "/", ResponseTimeMS: ms})
	}
	require.NoError(t, store.WriteBatch(ctx, b))
	require.NoError(t, store.WriteBatch(ctx, b)) // every id is in: the idempotent path, nothing doubled
	for _, r := range b.Requests {
		var stored, want string
		require.NoError(t, db.Raw("SELECT response_time_ms::text FROM audit_request_events WHERE id = ?", r.ID).Scan(&stored).Error)
		require.NoError(t, db.Raw("SELECT (?::numeric)::text", r.ResponseTimeMS).Scan(&want).Error)
		require.Equal(t, want, stored, "response time %v", r.ResponseTimeMS)
	}
	var n int64
	require.NoError(t, db.Table("audit_request_events").Count(&n).Error)
	require.EqualValues(t, len(times), n)
}
