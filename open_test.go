package audit_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/internal/tcpproxy"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/process"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// A DSN that can never work is an error from Open, before any connection.
func TestOpenRejectsImpossibleDSN(t *testing.T) {
	for _, dsn := range []string{"mysql://u@db.example/audit", "host=db.example dbname='unterminated"} {
		_, err := audit.Open(audit.Options{DSN: dsn})
		assert.Error(t, err, dsn)
	}
}

// proxiedPostgres is a fresh PostgreSQL database behind a TCP proxy the
// test controls, cut (connections refused) to start with.
func proxiedPostgres(t *testing.T) (direct, viaProxy string, p *tcpproxy.Proxy) {
	t.Helper()
	direct = testdb.Postgres(t)
	u, err := url.Parse(direct)
	require.NoError(t, err)
	p, err = tcpproxy.New(u.Host)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	p.Cut()
	u.Host = p.Addr
	return direct, u.String(), p
}

// Open does not need the audit database, whether it opens the DSN itself
// or gets a *gorm.DB: the trail records into the spool meanwhile, then
// migrates and replays once the database answers, without a restart.
func TestOpenWhileDatabaseDown(t *testing.T) {
	for _, given := range []bool{false, true} {
		name := map[bool]string{false: "DSN", true: "Options.DB"}[given]
		t.Run(name, func(t *testing.T) {
			direct, dsn, proxy := proxiedPostgres(t)
			opts := audit.Options{
				Synchronous: true,
				Writer: repository.WriterConfig{
					RetryBackoffMax: 100 * time.Millisecond,
					Spool:           repository.SpoolConfig{Dir: filepath.Join(t.TempDir(), "spool")},
				},
			}
			if given {
				db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard, DisableAutomaticPing: true})
				require.NoError(t, err)
				opts.DB = db
				t.Cleanup(func() {
					if sqlDB, err := db.DB(); err == nil {
						_ = sqlDB.Close()
					}
				})
			} else {
				opts.DSN = dsn
			}
			trail, err := audit.Open(opts)
			require.NoError(t, err, "Open needed the audit database")
			t.Cleanup(func() { _ = trail.Close(context.Background()) })
			assert.False(t, trail.DatabaseState().Connected)

			run := trail.StartProcess(process.Definition{Name: "nightly import"}, "job")
			require.NoError(t, run.End(context.Background()), "a synchronous write is fsync'd to the spool")
			require.EqualValues(t, 1, trail.Stats().Spooled)

			require.NoError(t, proxy.Restore())
			require.Eventually(t, func() bool {
				st := trail.Stats()
				return trail.DatabaseState().Connected && st.Replayed == 1 && !st.Degraded
			}, 30*time.Second, 20*time.Millisecond, "not replayed after the database returned: %+v", trail.Stats())
			var n int64
			require.NoError(t, testdb.Open(t, direct).Table("audit_process_events").Count(&n).Error)
			assert.EqualValues(t, 1, n)
		})
	}
}

// WaitForDatabase keeps the fail-fast start: Open returns the error.
func TestOpenWaitForDatabase(t *testing.T) {
	_, dsn, _ := proxiedPostgres(t)
	_, err := audit.Open(audit.Options{DSN: dsn, WaitForDatabase: true, ConnectTimeout: 2 * time.Second,
		Writer: repository.WriterConfig{Spool: repository.SpoolConfig{Dir: filepath.Join(t.TempDir(), "spool")}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")
}
