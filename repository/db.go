// Package repository owns the audit database: opening it, migrating the
// audit tables, writing batches of events in the background, and the read
// queries used by the admin routes and PDF reports.
//
// The audit database is separate from the application's (the rule of
// drf-audit-trail's database router): nothing here migrates or writes any
// other database.
package repository

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DefaultSQLitePath is the embedded audit database used when no DSN and no
// *gorm.DB are given.
const DefaultSQLitePath = "audit_trail.sqlite3"

// Open opens the audit database named by dsn. An empty dsn opens
// DefaultSQLitePath; a dsn starting with postgres:// or postgresql://, or a
// key=value string containing host=, opens PostgreSQL; anything else is a
// SQLite file path. SQLite files are opened in WAL mode with a busy timeout.
func Open(dsn string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true}
	var dialector gorm.Dialector
	switch {
	case IsPostgresDSN(dsn):
		dialector = postgres.Open(dsn)
	default:
		if err := createPrivate(sqlitePath(dsn)); err != nil {
			return nil, fmt.Errorf("audit: create audit database: %w", err)
		}
		dialector = sqlite.Open(SQLiteDSN(dsn))
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: open audit database: %w", err)
	}
	return db, nil
}

// sqlitePath is the file a SQLite DSN names, or "" for an in-memory
// database.
func sqlitePath(dsn string) string {
	if dsn == "" {
		return DefaultSQLitePath
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if path == "" || path == ":memory:" || strings.Contains(query, "mode=memory") {
		return ""
	}
	return path
}

// createPrivate creates the audit database file readable by its owner only
// (0600), when it does not exist yet: it holds what users did. SQLite
// gives its -wal and -shm files the permissions of the database file. An
// existing file keeps its permissions.
func createPrivate(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// IsPostgresDSN reports whether dsn names a PostgreSQL server.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.Contains(dsn, "host=")
}

// SQLiteDSN turns a file path into a go-sqlite3 DSN with WAL journaling, a
// 5 s busy timeout and NORMAL synchronous mode (durable at each WAL
// checkpoint, safe against application crashes). An empty path means
// DefaultSQLitePath; a DSN that already has parameters is left alone.
func SQLiteDSN(path string) string {
	if path == "" {
		path = DefaultSQLitePath
	}
	if strings.Contains(path, "?") {
		return path
	}
	return path + "?_journal_mode=WAL&_busy_timeout=5000&_synchronous=NORMAL"
}

// Migrate creates or updates the five audit tables and their indexes in db.
// It touches no other table.
func Migrate(db *gorm.DB) error {
	if err := db.AutoMigrate(entities.All()...); err != nil {
		return fmt.Errorf("audit: migrate audit tables: %w", err)
	}
	// The url is up to 2048 characters, more than a PostgreSQL b-tree entry
	// may hold, so it is indexed by its first 255 characters, with the
	// operator class that serves LIKE 'prefix%' whatever the collation.
	idx := `CREATE INDEX IF NOT EXISTS idx_audit_request_events_url ON audit_request_events (url)`
	if db.Dialector.Name() == "postgres" {
		idx = `CREATE INDEX IF NOT EXISTS idx_audit_request_events_url ON audit_request_events ((left(url, 255)) text_pattern_ops)`
	}
	if err := db.Exec(idx).Error; err != nil {
		return fmt.Errorf("audit: create url index: %w", err)
	}
	return migrateListIndexes(db) // indexes.go
}
