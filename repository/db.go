package repository

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/stmtcache"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Open opens the audit database named by dsn without waiting for it: a
// PostgreSQL server is first contacted by the first statement, so an
// unreachable server is not an error here, while a DSN that can never work
// is (see ParseDSN). An empty dsn opens DefaultSQLitePath; a dsn starting
// with postgres:// or postgresql://, or a key=value string containing
// host=, opens PostgreSQL; anything else is a SQLite file path. SQLite
// files are opened in WAL mode with a busy timeout, and created readable by
// their owner only (0600, and so are their -wal and -shm files).
func Open(dsn string) (*gorm.DB, error) {
	target, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg := &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true, DisableAutomaticPing: true}
	var dialector gorm.Dialector
	switch target.Driver {
	case DriverPostgres:
		dialector = postgres.Open(dsn)
	default:
		if err := createPrivate(target.Path); err != nil {
			return nil, fmt.Errorf("audit: create audit database: %w", err)
		}
		dialector = sqliteDialector(SQLiteDSN(dsn))
		cfg.Plugins = map[string]gorm.Plugin{stmtcache.Name: &stmtcache.Cache{}} // the writer's prepared INSERTs
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: open audit database %s: %w", target, err)
	}
	return db, nil
}

// createPrivate creates the audit database file readable by its owner only
// (0600), when it does not exist yet: it holds what users did. SQLite
// gives its -wal and -shm files the permissions of the database file. An
// existing file keeps its permissions; "" (in memory) creates nothing.
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

// migrationLockKey is the PostgreSQL advisory lock that serializes
// migrations of the audit tables ("gin-audit-trail" as a number; advisory
// locks are per database).
const migrationLockKey int64 = 0x6175646974747261

// ErrNotMigrated is the error of CheckMigrated when audit tables are missing.
var ErrNotMigrated = errors.New("audit: the audit database is not migrated")

// CheckMigrated reports an error naming the audit tables missing from db
// (or the error that kept it from looking), for applications that migrate
// from their deploy step and open the trail with SkipMigration.
func CheckMigrated(db *gorm.DB) error {
	tables, err := db.Migrator().GetTables()
	if err != nil {
		return fmt.Errorf("audit: list the tables of the audit database: %w", err)
	}
	have := make(map[string]bool, len(tables))
	for _, name := range tables {
		have[name] = true
	}
	var missing []string
	for _, model := range entities.All() {
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(model); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if !have[stmt.Schema.Table] {
			missing = append(missing, stmt.Schema.Table)
		}
	}
	if !have[integrity.DigestTable] {
		missing = append(missing, integrity.DigestTable)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: it has no table %s: run repository.Migrate first, or open without SkipMigration",
			ErrNotMigrated, strings.Join(missing, ", "))
	}
	// A database migrated by a version before integrity lacks the
	// digest_id column that every write names.
	if !db.Migrator().HasColumn(&entities.RequestEvent{}, "digest_id") {
		return fmt.Errorf("%w: audit_request_events has no column digest_id: run repository.Migrate (audit migrate) first, or open without SkipMigration",
			ErrNotMigrated)
	}
	return nil
}

// Migrate creates or updates the five audit tables and their indexes in db.
// It touches no other table. Any number of processes may migrate the same
// database at once: on PostgreSQL the migration runs in one transaction
// holding an advisory lock, on a SQLite file under an exclusive file lock
// of the database file. Every statement runs under db's context
// (db.WithContext), so a deadline there bounds the whole migration.
func Migrate(db *gorm.DB) error {
	ctx := db.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	switch TargetOf(db).Driver {
	case DriverPostgres:
		if partitioned, err := allPartitioned(db); err != nil {
			return err
		} else if partitioned {
			return migrateLocked(db) // partition.go
		}
		// DDL is transactional on PostgreSQL: the lock is released by the
		// commit or rollback, whatever happens to the connection.
		return db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
				return fmt.Errorf("audit: lock the audit tables' migration: %w", err)
			}
			return migrate(tx)
		})
	case DriverSQLite:
		if path := TargetOf(db).Path; path != "" {
			unlock, err := lockFile(ctx, path)
			if err != nil {
				return fmt.Errorf("audit: lock the audit tables' migration: %w", err)
			}
			defer unlock()
		}
		if err := prepareSQLiteFile(ctx, db); err != nil {
			return err
		}
	}
	return migrate(db)
}

// prepareSQLiteFile sets auto_vacuum=INCREMENTAL on a SQLite database that
// has no table yet, the only moment it costs nothing (later it takes a
// VACUUM: EnableIncrementalVacuum), so that retention can return deleted
// space to the file system.
func prepareSQLiteFile(ctx context.Context, db *gorm.DB) error {
	var tables int64
	if err := db.Raw("SELECT count(*) FROM sqlite_master").Scan(&tables).Error; err != nil {
		return fmt.Errorf("audit: read the SQLite schema: %w", err)
	}
	if tables > 0 {
		return nil
	}
	if err := EnableIncrementalVacuum(ctx, db); err != nil {
		return fmt.Errorf("audit: set auto_vacuum=INCREMENTAL: %w", err)
	}
	return nil
}

func migrate(db *gorm.DB) error {
	if err := db.AutoMigrate(entities.All()...); err != nil {
		return fmt.Errorf("audit: migrate audit tables: %w", err)
	}
	if err := migrateIndexes(db); err != nil { // indexes.go
		return err
	}
	return integrity.Migrate(db) // the digest and verification tables
}
