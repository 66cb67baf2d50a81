package audit_test

import (
	"context"
	"path/filepath"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/internal/testdb"
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
