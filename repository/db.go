// Package repository owns the audit database: opening it, migrating the
// audit tables, writing batches of events in the background, and the read
// queries used by the admin routes and PDF reports.
//
// The audit database is separate from the application's (the rule of
// drf-audit-trail's database router): nothing here migrates or writes any
// other database.
package repository

import (
	"fmt"
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
		dialector = sqlite.Open(SQLiteDSN(dsn))
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: open audit database: %w", err)
	}
	return db, nil
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
	return migrateIndexes(db) // indexes.go
}
