package audit_test

import (
	"context"
	"testing"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
)

// A trail with Options.Retention deletes the rows older than the limit in
// the background and keeps the newer ones.
func TestTrailEnforcesRetention(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		trail, err := audit.Open(audit.Options{DSN: dsn, WaitForDatabase: true,
			Retention: repository.Retention{Requests: 24 * time.Hour, Interval: 20 * time.Millisecond}})
		require.NoError(t, err)
		defer trail.Close(context.Background())

		now := time.Now().UTC()
		oldRow := entities.RequestEvent{ID: entities.NewID(), Datetime: now.Add(-48 * time.Hour), Method: "GET", URL: "/api/old"}
		newRow := entities.RequestEvent{ID: entities.NewID(), Datetime: now.Add(-time.Hour), Method: "GET", URL: "/api/new"}
		require.NoError(t, writer.GormStore{DB: trail.DB()}.WriteBatch(context.Background(),
			&entities.Batch{Requests: []entities.RequestEvent{oldRow, newRow}}))

		urls := func() []string {
			var out []string
			require.NoError(t, trail.DB().Raw("SELECT url FROM audit_request_events ORDER BY url").Scan(&out).Error)
			return out
		}
		require.Eventually(t, func() bool { return len(urls()) == 1 }, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, []string{"/api/new"}, urls())
	})
}
