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
		tx = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true})
		if err := insert(tx, b.Requests); err != nil {
			return fmt.Errorf("insert request events: %w", err)
		}
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
