package main

import (
	"context"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMigratePartitionCreatesAPartitionedDatabase(t *testing.T) {
	dsn := testdb.Postgres(t)
	mustRun(t, "--dsn", dsn, "migrate", "--partition", "daily", "--partitions-ahead", "2")
	out := mustRun(t, "--dsn", dsn, "partition", "status")
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for _, k := range repository.Kinds() {
		assert.Contains(t, out, k.Table()+": partitioned, 3 range partitions from "+today.Format(time.DateOnly)+" to "+today.AddDate(0, 0, 3).Format(time.DateOnly))
	}
	assert.Contains(t, out, "DEFAULT partition audit_request_events_default: 0 rows")

	// A second run, and a plain migrate, change nothing.
	mustRun(t, "--dsn", dsn, "migrate", "--partition", "daily")
	mustRun(t, "--dsn", dsn, "migrate")
}

func TestMigratePartitionRefusesAnUnpartitionedDatabaseAndSQLite(t *testing.T) {
	dsn := testdb.Postgres(t)
	seed(t, dsn, 3, time.Now())
	_, _, err := runAudit(t, "--dsn", dsn, "migrate", "--partition", "monthly")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "audit partition migrate")
	out := mustRun(t, "--dsn", dsn, "partition", "status")
	assert.Contains(t, out, "audit_request_events: not partitioned")

	_, _, err = runAudit(t, "--dsn", testdb.SQLite(t), "migrate", "--partition", "daily")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "for PostgreSQL")
	_, _, err = runAudit(t, "--dsn", dsn, "migrate", "--partition", "weekly")
	assert.ErrorContains(t, err, "daily or monthly")
}

func TestPartitionMigrateConvertsThenPurgeDropsPartitions(t *testing.T) {
	dsn := testdb.Postgres(t)
	now := time.Now().UTC()
	seed(t, dsn, 10, now.AddDate(0, 0, -40))
	seed(t, dsn, 10, now.Add(-time.Hour))

	out := mustRun(t, "--dsn", dsn, "partition", "migrate", "--interval", "daily", "--batch-rows", "7")
	assert.Contains(t, out, "audit_request_events: partitioned daily, 20 rows copied")
	assert.Contains(t, out, "kept the old table as audit_request_events_unpartitioned")
	out = mustRun(t, "--dsn", dsn, "partition", "status")
	assert.NotContains(t, out, "not partitioned")
	out = mustRun(t, "--dsn", dsn, "partition", "migrate", "--interval", "daily")
	assert.Contains(t, out, "partitioned already")

	db := testdb.Open(t, dsn)
	ok, err := repository.IsPartitioned(context.Background(), db, repository.Requests)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(20), rows(t, db, repository.Requests))

	// purge drops the partitions older than 30 days: the 40-day-old rows go.
	mustRun(t, "--dsn", dsn, "purge", "--older-than", "30d")
	for _, k := range repository.Kinds() {
		assert.Equal(t, int64(10), rows(t, db, k)/divisor(k), "%s", k)
	}
	stats := mustRun(t, "--dsn", dsn, "stats")
	assert.Regexp(t, `requests +10 `, stats)
	assert.NotContains(t, stats, " 0 B")
}

// divisor is how many rows of kind seed writes per request.
func divisor(k repository.Kind) int64 {
	if k == repository.Registrations {
		return 2
	}
	return 1
}
