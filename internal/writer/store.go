package writer

import (
	"context"
	"fmt"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/stmtcache"
	"github.com/gin-audit-trail/audit/repository"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Store writes one batch of audit rows atomically. Writing the same batch
// twice must not duplicate rows, so a batch whose commit was in doubt can be
// retried.
type Store interface {
	WriteBatch(ctx context.Context, b *entities.Batch) error
}

// GormStore is the Store backed by the audit *gorm.DB, one transaction per
// batch. On PostgreSQL it uses binary COPY through pgx, and for a batch
// whose commit is in doubt (a retry, a replay) COPY into temporary tables
// then INSERT ... ON CONFLICT DO NOTHING; on SQLite, request events
// with multi-row prepared INSERT OR IGNORE statements (store_sqlite.go) and
// the other tables with ON CONFLICT (id) DO NOTHING. Writing the same batch
// twice never duplicates a row.
type GormStore struct {
	DB *gorm.DB
	// Integrity, when set, seals every batch: its rows name a new digest
	// (digest_id), and the digest, chained and optionally signed, is
	// inserted in the same transaction (store_integrity.go,
	// docs/INTEGRITY.md). A retried batch's digest covers only the rows
	// its own transaction inserted.
	Integrity *integrity.Sealer
}

// insertChunk bounds the rows of one INSERT statement, well below the bind
// parameter limits of SQLite (32766) and PostgreSQL (65535).
const insertChunk = 500

// WriteBatch implements Store.
func (s GormStore) WriteBatch(ctx context.Context, b *entities.Batch) error {
	if s.DB.Dialector.Name() == "postgres" {
		if sqlDB, err := s.DB.DB(); err == nil {
			if ok, err := writePostgres(ctx, sqlDB, b, s.Integrity); ok {
				return err
			}
		}
	}
	if len(b.Requests) > 0 && s.DB.Dialector.Name() == "sqlite" {
		prepareSQLiteInserts(ctx, stmtcache.Of(s.DB), b.Requests, s.Integrity != nil)
	}
	if s.Integrity != nil {
		return s.writeSealed(ctx, b)
	}
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.insertRows(ctx, tx, b)
	})
}

// insertRows inserts every row of b in the transaction tx, idempotently.
func (s GormStore) insertRows(ctx context.Context, tx *gorm.DB, b *entities.Batch) error {
	if err := s.insertRequests(ctx, tx, b.Requests); err != nil {
		return fmt.Errorf("insert request events: %w", err)
	}
	tx = tx.Clauses(onConflictDoNothing(tx))
	if err := insert(tx, b.Logins); err != nil {
		return fmt.Errorf("insert login events: %w", err)
	}
	if err := insert(tx, b.Processes); err != nil {
		return fmt.Errorf("insert process events: %w", err)
	}
	if err := insert(tx, b.Steps); err != nil {
		return fmt.Errorf("insert step events: %w", err)
	}
	if err := insert(tx, b.Registrations); err != nil {
		return fmt.Errorf("insert registration events: %w", err)
	}
	return nil
}

func insert[T any](tx *gorm.DB, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, insertChunk).Error
}

// insertRequests writes the hottest table. On SQLite, see
// insertRequestsSQLite; elsewhere (a GORM handle whose PostgreSQL driver
// is not pgx) GORM's multi-row INSERT.
func (s GormStore) insertRequests(ctx context.Context, tx *gorm.DB, rows []entities.RequestEvent) error {
	if len(rows) == 0 {
		return nil
	}
	if tx.Dialector.Name() != "sqlite" {
		return insert(tx.Clauses(onConflictDoNothing(tx)), rows)
	}
	return insertRequestsSQLite(ctx, tx.Statement.ConnPool, stmtcache.Of(s.DB), rows)
}

// BatchRows is the MaxBatchRows the Writer uses when WriterConfig leaves
// it zero: repository.DefaultMaxBatchRowsSQLite on SQLite,
// repository.DefaultMaxBatchRows elsewhere.
func (s GormStore) BatchRows() int {
	if s.DB.Dialector.Name() == "sqlite" {
		return repository.DefaultMaxBatchRowsSQLite
	}
	return repository.DefaultMaxBatchRows
}

// Parallelism is how many transactions the database takes at once with
// profit: one per core (GOMAXPROCS) on PostgreSQL, one on SQLite, which
// has a single write lock. The Writer uses it when WriterConfig.Writers is
// zero.
func (s GormStore) Parallelism() int {
	if s.DB.Dialector.Name() == "postgres" {
		return defaultParallelism()
	}
	return 1
}

// onConflictDoNothing is ON CONFLICT (id) DO NOTHING on SQLite, and ON
// CONFLICT DO NOTHING elsewhere: a partitioned PostgreSQL table's primary
// key is (id, datetime) (partition.go).
func onConflictDoNothing(tx *gorm.DB) clause.OnConflict {
	if tx.Dialector.Name() == "sqlite" {
		return clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}
	}
	return clause.OnConflict{DoNothing: true}
}
