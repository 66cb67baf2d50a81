package audit_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
)

// A trail asked to sign must not run unsigned: a key that cannot be read
// is an error from Open.
func TestOpenRefusesAnUnreadableSigningKey(t *testing.T) {
	dir := t.TempDir()
	_, err := audit.Open(audit.Options{DSN: filepath.Join(dir, "a.sqlite3"),
		Integrity: repository.Integrity{SigningKeyFile: filepath.Join(dir, "missing.pem")}})
	require.ErrorContains(t, err, "Options.Integrity")
	_, err = audit.Open(audit.Options{DSN: filepath.Join(dir, "b.sqlite3"),
		Integrity: repository.Integrity{SigningKey: []byte("not a key")}})
	require.ErrorContains(t, err, "Options.Integrity")
}

// A database migrated before integrity existed (no digest_id column) is
// refused at Open with SkipMigration, naming what to run, instead of
// spooling every batch; Migrate adds the column.
func TestSkipMigrationOnADatabaseWithoutDigestColumns(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		for _, table := range []string{"audit_request_events", "audit_login_events", "audit_process_events", "audit_step_events", "audit_registration_events"} {
			require.NoError(t, db.Exec("ALTER TABLE "+table+" DROP COLUMN digest_id").Error)
		}
		_, err := audit.Open(audit.Options{DB: db, SkipMigration: true})
		require.ErrorIs(t, err, repository.ErrNotMigrated)
		require.ErrorContains(t, err, "digest_id")

		require.NoError(t, repository.Migrate(db))
		trail, err := audit.Open(audit.Options{DB: db, SkipMigration: true})
		require.NoError(t, err)
		require.NoError(t, trail.Close(context.Background()))
	})
}

// The trail's background retention, on a sealed trail, records its purges:
// the trail still verifies, the purged rows counted apart.
func TestSealedTrailRetentionVerifies(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		trail, err := audit.Open(audit.Options{DSN: dsn, WaitForDatabase: true,
			Integrity: repository.Integrity{Enabled: true},
			Retention: repository.Retention{Requests: 24 * time.Hour, Interval: 20 * time.Millisecond}})
		require.NoError(t, err)
		defer trail.Close(context.Background())

		now := time.Now().UTC()
		b := &entities.Batch{Requests: []entities.RequestEvent{
			{ID: entities.NewID(), Datetime: now.Add(-48 * time.Hour), Method: "GET", URL: "/api/old"},
			{ID: entities.NewID(), Datetime: now.Add(-time.Hour), Method: "GET", URL: "/api/new"},
		}}
		require.NoError(t, writer.GormStore{DB: trail.DB(), Integrity: integrity.NewSealer(nil)}.WriteBatch(context.Background(), b))
		require.Eventually(t, func() bool {
			var n int64
			return trail.DB().Raw("SELECT count(*) FROM audit_request_events").Scan(&n).Error == nil && n == 1
		}, 10*time.Second, 20*time.Millisecond)
		var lines []string
		res, err := integrity.Verify(context.Background(), trail.DB(), integrity.Options{
			Problem: func(p integrity.Problem) { lines = append(lines, p.String()) }})
		require.NoError(t, err)
		require.True(t, res.OK(), "%v", lines)
		require.EqualValues(t, 1, res.Purged)
	})
}
