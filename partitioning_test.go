package audit_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/testlog"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A trail with Options.Partitioning creates a new PostgreSQL database
// partitioned, with the partitions ahead, and its requests land in
// today's partition.
func TestTrailPartitionsANewPostgresDatabase(t *testing.T) {
	trail, err := audit.Open(audit.Options{DSN: testdb.Postgres(t), WaitForDatabase: true, Synchronous: true,
		Partitioning: repository.Partitioning{Interval: repository.PartitionDaily, Ahead: 3}})
	require.NoError(t, err)
	defer trail.Close(context.Background())

	r := gin.New()
	r.Use(trail.Middleware())
	r.GET("/api/items", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/items", nil))

	require.Eventually(t, func() bool {
		parts, err := repository.Partitions(context.Background(), trail.DB(), "audit_request_events")
		return err == nil && len(parts) == 1+4 // DEFAULT, today and 3 ahead
	}, 10*time.Second, 20*time.Millisecond)
	var part string
	require.NoError(t, trail.DB().Raw("SELECT tableoid::regclass::text FROM audit_request_events").Scan(&part).Error)
	assert.Equal(t, "audit_request_events_p"+time.Now().UTC().Format("20060102"), part)
}

// A trail with Options.Partitioning refuses an unpartitioned PostgreSQL
// database at Open, naming the command that converts it.
func TestTrailRefusesAnUnpartitionedDatabase(t *testing.T) {
	dsn := testdb.Postgres(t)
	testdb.Open(t, dsn) // migrated, unpartitioned
	for _, skip := range []bool{false, true} {
		_, err := audit.Open(audit.Options{DSN: dsn, WaitForDatabase: true, SkipMigration: skip,
			Partitioning: repository.Partitioning{Interval: repository.PartitionMonthly}})
		require.Error(t, err)
		assert.True(t, errors.Is(err, repository.ErrNotPartitioned), err)
		assert.Contains(t, err.Error(), "audit partition migrate")

		// Without WaitForDatabase too: a configuration error fails Open.
		_, err = audit.Open(audit.Options{DSN: dsn, SkipMigration: skip, ConnectWait: 5 * time.Second,
			Partitioning: repository.Partitioning{Interval: repository.PartitionMonthly}})
		assert.True(t, errors.Is(err, repository.ErrNotPartitioned), err)
	}
}

// SQLite has no partitions: the trail says so once and works.
func TestTrailIgnoresPartitioningOnSQLite(t *testing.T) {
	var logs testlog.Buffer
	trail, err := audit.Open(audit.Options{DSN: testdb.SQLite(t), WaitForDatabase: true, Synchronous: true,
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
		Partitioning: repository.Partitioning{Interval: repository.PartitionDaily}})
	require.NoError(t, err)
	defer trail.Close(context.Background())
	assert.Contains(t, logs.String(), "Options.Partitioning is ignored")
	r := gin.New()
	r.Use(trail.Middleware())
	r.GET("/api/items", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/items", nil))
	var n int64
	require.NoError(t, trail.DB().Raw("SELECT count(*) FROM audit_request_events").Scan(&n).Error)
	assert.Equal(t, int64(1), n)
}

// A sealed trail (Options.Integrity) on partitioned tables: batches are
// sealed through the partitions, and a sealed purge records its deletions
// (batched deletes, not partition drops), so verification finds nothing
// wrong after it.
func TestSealedTrailOnPartitionedTables(t *testing.T) {
	db, err := repository.Open(testdb.Postgres(t))
	require.NoError(t, err)
	require.NoError(t, repository.MigratePartitioned(db, repository.Partitioning{Interval: repository.PartitionDaily}))
	sealer := integrity.NewSealer(nil)
	store := writer.GormStore{DB: db, Integrity: sealer}
	now := time.Now().UTC()
	for _, at := range []time.Time{now.AddDate(0, 0, -30), now} {
		require.NoError(t, store.WriteBatch(context.Background(), &entities.Batch{Processes: []entities.ProcessEvent{
			{ID: entities.NewID(), Datetime: at, Name: "job"}}}))
	}
	p := repository.Purger{DB: db, Integrity: sealer}
	n, err := p.PurgeOlder(context.Background(), repository.Processes, now.AddDate(0, 0, -7))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	vr, err := integrity.Verify(context.Background(), db, integrity.Options{})
	require.NoError(t, err)
	assert.Zero(t, vr.Problems)
	assert.Equal(t, int64(1), vr.Purged)
}
