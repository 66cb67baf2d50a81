// Package testdb gives tests real audit databases: a fresh SQLite file and a
// fresh PostgreSQL database, created for the test and dropped after it.
//
// The PostgreSQL server comes from AUDIT_TEST_POSTGRES (a DSN of a database
// the test may connect to for CREATE DATABASE; default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). When no
// server answers, PostgreSQL tests are skipped with a loud message, except
// when CI is set: then they fail.
package testdb

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/gin-audit-trail/audit/internal/testskip"

	"github.com/gin-audit-trail/audit/repository"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DefaultAdminDSN is the PostgreSQL server used when AUDIT_TEST_POSTGRES is
// not set.
const DefaultAdminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Backend is one kind of audit database under test.
type Backend struct {
	Name string
	// DSN creates a new empty database for t and returns its DSN; the
	// database is dropped when t ends.
	DSN func(t testing.TB) string
}

// Backends are SQLite and PostgreSQL.
func Backends() []Backend {
	return []Backend{{Name: "sqlite", DSN: SQLite}, {Name: "postgres", DSN: Postgres}}
}

// Run runs f as a subtest once per backend.
func Run(t *testing.T, f func(t *testing.T, dsn string)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, b.DSN(t)) })
	}
}

// SQLite returns the path of a new SQLite file in t's temporary directory.
func SQLite(t testing.TB) string {
	return filepath.Join(t.TempDir(), "audit_trail.sqlite3")
}

// Postgres creates a uniquely named database and returns its DSN.
func Postgres(t testing.TB) string {
	server, dsn, name := postgresServer(t)
	if err := server.Exec("CREATE DATABASE " + name).Error; err != nil {
		t.Fatalf("create test database: %v", err)
	}
	return dsn
}

// MissingPostgres returns the DSN of a uniquely named database that does
// not exist on the test server, for tests of what creates it; whatever
// created it, it is dropped when t ends.
func MissingPostgres(t testing.TB) string {
	_, dsn, _ := postgresServer(t)
	return dsn
}

// postgresServer connects to the test server (skipping or failing t when
// none answers), picks a unique database name, drops that database when t
// ends, and returns the connection, the DSN of the database and its name.
func postgresServer(t testing.TB) (server *gorm.DB, dsn, name string) {
	admin := os.Getenv("AUDIT_TEST_POSTGRES")
	if admin == "" {
		admin = DefaultAdminDSN
	}
	u, err := url.Parse(admin)
	if err != nil || u.Scheme == "" {
		t.Fatalf("AUDIT_TEST_POSTGRES must be a postgres:// URL, got %q", redactDSN(admin))
	}
	adminDB, err := gorm.Open(postgres.Open(admin), &gorm.Config{Logger: logger.Discard})
	if err == nil {
		var sqlErr error
		if sqlDB, e := adminDB.DB(); e == nil {
			sqlErr = sqlDB.Ping()
		}
		err = sqlErr
	}
	if err != nil {
		SkipWithoutPostgres(t, fmt.Sprintf("PostgreSQL NOT REACHABLE at %s: %v", redactDSN(admin), err))
	}
	var buf [6]byte
	_, _ = rand.Read(buf[:])
	name = "audit_test_" + hex.EncodeToString(buf[:])
	t.Cleanup(func() {
		if err := adminDB.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
		if sqlDB, err := adminDB.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	u.Path = "/" + name
	return adminDB, u.String(), name
}

// SkipWithoutPostgres skips t with a loud message saying why PostgreSQL
// tests cannot run, or fails it when CI is set (under CI every test must
// run).
func SkipWithoutPostgres(t testing.TB, why string) {
	t.Helper()
	testskip.Skip(t, why+"\n*** Set AUDIT_TEST_POSTGRES or start the server (PostgreSQL tests).")
}

// Partitioning is the partitioning that Open gives PostgreSQL databases:
// none, unless AUDIT_TEST_PARTITIONING is "daily" or "monthly", which runs
// the tests that use Open on partitioned tables.
func Partitioning(t testing.TB) repository.Partitioning {
	iv, err := repository.ParsePartitionInterval(os.Getenv("AUDIT_TEST_PARTITIONING"))
	if err != nil {
		t.Fatalf("AUDIT_TEST_PARTITIONING: %v", err)
	}
	return repository.Partitioning{Interval: iv}
}

// Open opens and migrates the audit database at dsn, closing it when t
// ends (on PostgreSQL with Partitioning(t)).
func Open(t testing.TB, dsn string) *gorm.DB {
	db, err := repository.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := repository.MigratePartitioned(db, Partitioning(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
		return u.String()
	}
	return dsn
}
