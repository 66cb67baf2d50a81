package audit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// These tests make the real PostgreSQL server slow for the trail: another
// session holds an exclusive lock on audit_request_events, so the trail's
// INSERTs wait until the lock is released or WriteTimeout cancels them.

// lockRequests takes the lock and returns the function that releases it.
func lockRequests(t *testing.T, db *gorm.DB) (release func()) {
	t.Helper()
	tx := db.Begin()
	require.NoError(t, tx.Error)
	require.NoError(t, tx.Exec("LOCK TABLE audit_request_events IN ACCESS EXCLUSIVE MODE").Error)
	done := false
	release = func() {
		if !done {
			done = true
			require.NoError(t, tx.Rollback().Error)
		}
	}
	t.Cleanup(release)
	return release
}

// writerRig is a trail on dsn and a router whose POST /api/echo/ answers
// the body it got.
func writerRig(t *testing.T, dsn string, opts audit.Options) (*audit.Trail, *gin.Engine) {
	t.Helper()
	opts.DSN = dsn
	trail, err := audit.Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	r := gin.New()
	r.Use(trail.Middleware())
	r.POST("/api/echo/", func(c *gin.Context) {
		body := make([]byte, c.Request.ContentLength)
		_, _ = c.Request.Body.Read(body)
		c.Data(http.StatusOK, "text/plain", body)
	})
	return trail, r
}

func post(r *gin.Engine, body string) {
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/api/echo/", strings.NewReader(body)))
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countRequests(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Model(&entities.RequestEvent{}).Count(&n).Error)
	return n
}

// A transaction slower than Writer.WriteTimeout counts as failed and its
// batch goes to the spool; a trail with a long WriteTimeout, blocked on the
// same lock, is still waiting in its transaction. Both rows are stored once
// the database is fast again.
func TestWriteTimeoutSendsASlowTransactionToTheSpool(t *testing.T) {
	dsn := testdb.Postgres(t)
	db := testdb.Open(t, dsn)
	fast, fastRouter := writerRig(t, dsn, audit.Options{Writer: repository.WriterConfig{WriteTimeout: 200 * time.Millisecond, FlushInterval: time.Millisecond,
		Spool: repository.SpoolConfig{Dir: filepath.Join(t.TempDir(), "fast")}}})
	slow, slowRouter := writerRig(t, dsn, audit.Options{Writer: repository.WriterConfig{WriteTimeout: time.Hour, FlushInterval: time.Millisecond,
		Spool: repository.SpoolConfig{Dir: filepath.Join(t.TempDir(), "slow")}}})
	release := lockRequests(t, db)

	post(slowRouter, "slow")
	post(fastRouter, "fast")
	waitUntil(t, "the fast trail's batch spooled", func() bool { return fast.Stats().Spooled == 1 })
	st := slow.Stats()
	assert.Zero(t, st.Spooled, "the slow trail waits in its transaction")
	assert.Zero(t, st.Written)
	assert.Zero(t, st.FailedBatches)

	release()
	require.NoError(t, fast.Close(context.Background()))
	require.NoError(t, slow.Close(context.Background()))
	assert.Equal(t, int64(2), countRequests(t, db))
	assert.Equal(t, int64(1), fast.Stats().Replayed)
}

// Without a spool (Spool.Disabled), a failing transaction is retried
// Writer.Retries times, then its rows are lost and counted in Failed, and
// no spool directory is created. A negative Retries means no retry.
func TestWithoutASpoolAFailingBatchIsRetriedThenLost(t *testing.T) {
	for _, c := range []struct{ retries, attempts int64 }{{-1, 1}, {2, 3}} {
		dsn := testdb.Postgres(t)
		db := testdb.Open(t, dsn)
		dir := filepath.Join(t.TempDir(), "spool")
		trail, r := writerRig(t, dsn, audit.Options{
			Writer: repository.WriterConfig{WriteTimeout: 100 * time.Millisecond, FlushInterval: time.Millisecond, Retries: int(c.retries),
				Spool: repository.SpoolConfig{Dir: dir, Disabled: true}},
		})
		release := lockRequests(t, db)
		post(r, "lost")
		waitUntil(t, "the row counted as failed", func() bool { return trail.Stats().Failed == 1 })
		st := trail.Stats()
		assert.Equal(t, c.attempts, st.FailedBatches, "Retries %d: attempts", c.retries)
		assert.Zero(t, st.Spooled)
		release()
		require.NoError(t, trail.Close(context.Background()))
		_, err := os.Stat(dir)
		assert.True(t, os.IsNotExist(err), "no spool directory: %v", err)
		assert.Zero(t, countRequests(t, db), "the row is lost, as documented")
	}
}

// Writer.MaxQueueBytes bounds the memory held by queued events: while the
// database is stuck, events beyond it are dropped and counted, never
// queued; everything accepted is written once the database answers.
func TestMaxQueueBytesBoundsTheQueue(t *testing.T) {
	dsn := testdb.Postgres(t)
	db := testdb.Open(t, dsn)
	const limit = 64 << 10
	trail, r := writerRig(t, dsn, audit.Options{
		Writer: repository.WriterConfig{WriteTimeout: time.Hour, FlushInterval: time.Millisecond,
			EnqueueTimeout: time.Millisecond, MaxQueueBytes: limit,
			Spool: repository.SpoolConfig{Disabled: true}},
	})
	release := lockRequests(t, db)
	post(r, "first") // taken by the writer, which then waits on the lock
	waitUntil(t, "the writer busy with the first batch", func() bool { return trail.Stats().QueueBytes == 0 })
	body := strings.Repeat("x", 10<<10) // stored twice (request and response): about 20 KiB an event
	for range 20 {
		post(r, body)
		assert.LessOrEqual(t, trail.Stats().QueueBytes, int64(limit))
	}
	st := trail.Stats()
	assert.Positive(t, st.Dropped, "events over the bound are dropped")
	assert.Equal(t, int64(21), st.Accepted+st.Dropped)
	release()
	require.NoError(t, trail.Close(context.Background()))
	assert.Equal(t, trail.Stats().Accepted, countRequests(t, db), "every accepted event is written")
}
