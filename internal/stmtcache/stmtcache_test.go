package stmtcache_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/internal/stmtcache"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// A statement is prepared once and keeps working in later transactions,
// also on connections opened after the one it was prepared on was closed.
func TestCacheReusesStatementsAcrossConnections(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	c := stmtcache.Of(db)
	require.NotNil(t, c, "repository.Open registers the cache on SQLite handles")
	sqlDB, err := db.DB()
	require.NoError(t, err)
	ctx := context.Background()
	_, err = sqlDB.ExecContext(ctx, "CREATE TABLE t (v INTEGER)")
	require.NoError(t, err)

	const q = "INSERT INTO t (v) VALUES (?)"
	first, err := c.Prepare(ctx, "t", q)
	require.NoError(t, err)
	for i := range 3 {
		again, err := c.Prepare(ctx, "t", q)
		require.NoError(t, err)
		require.Same(t, first, again)
		tx, err := sqlDB.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.StmtContext(ctx, again).ExecContext(ctx, i)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
		sqlDB.SetMaxIdleConns(0) // every connection is closed when released: the next one is new
		sqlDB.SetMaxIdleConns(2)
	}
	var n int
	require.NoError(t, sqlDB.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n))
	require.Equal(t, 3, n)
}

// A handle that was not opened by repository.Open has no cache: the writer
// then prepares its statements per transaction.
func TestOfWithoutPlugin(t *testing.T) {
	require.Nil(t, stmtcache.Of(nil))
	_, ok := (*stmtcache.Cache)(nil).Get("SELECT 1")
	require.False(t, ok)
	require.Nil(t, stmtcache.Of(&gorm.DB{Config: &gorm.Config{}}))
	db, err := repository.Open(testdb.Postgres(t))
	require.NoError(t, err)
	if sqlDB, err := db.DB(); err == nil {
		t.Cleanup(func() { sqlDB.Close() })
	}
	require.Nil(t, stmtcache.Of(db), "PostgreSQL writes with COPY")
}

// A Prepare that waits for a connection (a pool of one, held by a
// transaction) does not hold up that transaction's Get of a statement
// already prepared: otherwise neither could go on.
func TestPrepareWaitingForAConnectionLeavesGetFree(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	c := stmtcache.Of(db)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	ctx := context.Background()
	_, err = sqlDB.ExecContext(ctx, "CREATE TABLE t (v INTEGER)")
	require.NoError(t, err)
	_, err = c.Prepare(ctx, "insert", "INSERT INTO t (v) VALUES (?)")
	require.NoError(t, err)
	sqlDB.SetMaxOpenConns(1)

	tx, err := sqlDB.BeginTx(ctx, nil) // holds the only connection
	require.NoError(t, err)
	prepared := make(chan error, 1)
	go func() {
		_, err := c.Prepare(ctx, "select", "SELECT v FROM t")
		prepared <- err
	}()
	for waits := time.Now().Add(10 * time.Second); sqlDB.Stats().WaitCount == 0; {
		require.True(t, time.Now().Before(waits), "the second Prepare never waited for the connection")
		time.Sleep(time.Millisecond)
	}
	got := make(chan *sql.Stmt, 1)
	go func() {
		st, _ := c.Get("insert")
		got <- st
	}()
	select {
	case st := <-got:
		require.NotNil(t, st)
		_, err = tx.StmtContext(ctx, st).ExecContext(ctx, 1)
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Get waited for a Prepare that waits for this transaction's connection")
	}
	require.NoError(t, tx.Commit())
	require.NoError(t, <-prepared)
	_, ok := c.Get("select")
	require.True(t, ok)
}
