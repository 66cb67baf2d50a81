package repository

import (
	"context"
	"fmt"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Store writes one batch of audit rows atomically. Writing the same batch
// twice must not duplicate rows, so a batch whose commit was in doubt can be
// retried.
type Store interface {
	WriteBatch(ctx context.Context, b *entities.Batch) error
}

// GormStore is the Store backed by the audit *gorm.DB: one transaction per
// batch, multi-row INSERTs, and ON CONFLICT (id) DO NOTHING so that retries
// are idempotent.
type GormStore struct {
	DB *gorm.DB
}

// insertChunk bounds the rows of one INSERT statement, well below the bind
// parameter limits of SQLite (32766) and PostgreSQL (65535).
const insertChunk = 500

// WriteBatch implements Store.
func (s GormStore) WriteBatch(ctx context.Context, b *entities.Batch) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.insertRequests(ctx, tx, b.Requests); err != nil {
			return fmt.Errorf("insert request events: %w", err)
		}
		tx = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true})
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
	})
}

func insert[T any](tx *gorm.DB, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, insertChunk).Error
}

// requestInsertSQLite inserts one request event; see insertRequests.
const requestInsertSQLite = `INSERT INTO audit_request_events (id, datetime, user_id, ip_address, method, url,
 route, query_params, request_type, request_body, response_body, status_code, response_time_ms, response_size,
 error_type, error_message, error_stacktrace, extra_informations)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

// insertRequests writes the hottest table. On SQLite, one prepared
// single-row statement executed per row inside the transaction costs about
// half the CPU of a multi-row INSERT, which SQLite must parse anew for each
// chunk; PostgreSQL, where each statement is a network round trip, gets
// the multi-row INSERT.
func (s GormStore) insertRequests(ctx context.Context, tx *gorm.DB, rows []entities.RequestEvent) error {
	if len(rows) == 0 {
		return nil
	}
	if tx.Dialector.Name() != "sqlite" {
		return insert(tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}), rows)
	}
	stmt, err := tx.Statement.ConnPool.PrepareContext(ctx, requestInsertSQLite)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range rows {
		r := &rows[i]
		if _, err := stmt.ExecContext(ctx, r.ID, r.Datetime, r.UserID, r.IPAddress, r.Method, r.URL,
			r.Route, r.QueryParams, r.RequestType, r.RequestBody, r.ResponseBody, r.StatusCode, r.ResponseTimeMS, r.ResponseSize,
			r.ErrorType, r.ErrorMessage, r.ErrorStacktrace, r.ExtraInformations); err != nil {
			return err
		}
	}
	return nil
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
