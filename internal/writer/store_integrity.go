package writer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// Sealed writes (GormStore.Integrity): the rows of a batch and its digest
// go in one transaction, so a digest exists exactly when its rows were
// committed. The digest covers the rows its own transaction inserted:
// a fresh transaction that meets a row already stored (a retry whose
// first commit happened) starts again on the idempotent path, which
// learns which rows it inserted (RETURNING on PostgreSQL, a look-up of
// the batch's ids on SQLite) and seals only those; a retry that inserts
// nothing writes no digest.

// sealTx is the seal of one transaction; nil without integrity.
type sealTx struct {
	s        *integrity.Sealer
	p        *integrity.Pending
	link     *integrity.Link
	filtered bool
	inserted map[sealKey]bool
}

type sealKey struct {
	t  integrity.Table
	id entities.ID
}

// newSealTx hashes b's rows and names their digest, on the committer's
// goroutine; nil when s is nil.
func newSealTx(s *integrity.Sealer, b *entities.Batch) *sealTx {
	if s == nil {
		return nil
	}
	return &sealTx{s: s, p: s.Prepare(b)}
}

// tableOf maps a table name to its manifest number.
func tableOf(name string) integrity.Table {
	for _, t := range integrity.Tables() {
		if t.Name() == name {
			return t
		}
	}
	panic("writer: not an audit table: " + name)
}

// insertReturning runs insert (an INSERT ... ON CONFLICT DO NOTHING) and
// notes the ids it inserted.
func (t *sealTx) insertReturning(ctx context.Context, tx pgx.Tx, table, insert string) error {
	t.filtered = true
	if t.inserted == nil {
		t.inserted = make(map[sealKey]bool, t.p.Rows())
	}
	tab := tableOf(table)
	rows, err := tx.Query(ctx, insert+" RETURNING id")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id [16]byte
		if err := rows.Scan(&id); err != nil {
			return err
		}
		t.inserted[sealKey{tab, entities.ID(id)}] = true
	}
	return rows.Err()
}

// keepInserted drops from the digest the rows this transaction did not
// insert.
func (t *sealTx) keepInserted() {
	if t.filtered {
		t.p.Keep(func(tab integrity.Table, id entities.ID) bool { return t.inserted[sealKey{tab, id}] })
	}
}

// finishPostgres inserts the digest in tx (none when no row was
// inserted).
func (t *sealTx) finishPostgres(ctx context.Context, tx pgx.Tx) error {
	if t == nil {
		return nil
	}
	t.keepInserted()
	if t.p.Rows() == 0 {
		return nil
	}
	t.link = t.s.Link(t.p)
	if _, err := tx.Exec(ctx, integrity.InsertDigestSQL(true), integrity.DigestArgs(t.link.Digest)...); err != nil {
		return fmt.Errorf("insert digest: %w", err)
	}
	return nil
}

// finishGorm inserts the digest in tx (none when no row was inserted).
func (t *sealTx) finishGorm(tx *gorm.DB) error {
	t.keepInserted()
	if t.p.Rows() == 0 {
		return nil
	}
	t.link = t.s.Link(t.p)
	if err := tx.Exec(integrity.InsertDigestSQL(false), integrity.DigestArgs(t.link.Digest)...).Error; err != nil {
		return fmt.Errorf("insert digest: %w", err)
	}
	return nil
}

// done gives the chain back: continued after a commit, given up after a
// failure.
func (t *sealTx) done(err error) {
	if t != nil {
		t.link.Done(err == nil)
	}
}

// errRowsExist is a fresh sealed transaction that met rows already
// stored: it is rolled back and written again on the idempotent path.
var errRowsExist = errors.New("audit: some rows of the batch are already stored")

// writeSealed is the sealed write through GORM (SQLite, or PostgreSQL
// without pgx).
func (s GormStore) writeSealed(ctx context.Context, b *entities.Batch) error {
	err := s.writeSealedOnce(ctx, b, inDoubt(ctx))
	if errors.Is(err, errRowsExist) {
		err = s.writeSealedOnce(ctx, b, true)
	}
	return err
}

func (s GormStore) writeSealedOnce(ctx context.Context, b *entities.Batch, idempotent bool) error {
	seal := newSealTx(s.Integrity, b)
	sqlite := s.DB.Dialector.Name() == "sqlite"
	if !sqlite {
		idempotent = true // no cheap way to count what an INSERT ... DO NOTHING skipped
	}
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rows := b
		if idempotent {
			stored, err := storedIDs(tx, b)
			if err != nil {
				return err
			}
			if len(stored) > 0 {
				rows = withoutStored(b, stored)
				seal.filtered = true
				seal.inserted = make(map[sealKey]bool, rows.Len())
				for _, t := range integrity.Tables() {
					eachID(rows, t, func(id entities.ID) { seal.inserted[sealKey{t, id}] = true })
				}
			}
			if rows.Len() == 0 {
				return nil
			}
		}
		var before int64
		if !idempotent {
			if err := tx.Raw("SELECT total_changes()").Scan(&before).Error; err != nil {
				return err
			}
		}
		if err := s.insertRows(ctx, tx, rows); err != nil {
			return err
		}
		if !idempotent {
			var after int64
			if err := tx.Raw("SELECT total_changes()").Scan(&after).Error; err != nil {
				return err
			}
			if after-before != int64(rows.Len()) {
				return errRowsExist
			}
		}
		return seal.finishGorm(tx)
	})
	seal.done(err)
	return err
}

// eachID calls f with the id of every row of b in table t.
func eachID(b *entities.Batch, t integrity.Table, f func(entities.ID)) {
	switch t {
	case integrity.Requests:
		for i := range b.Requests {
			f(b.Requests[i].ID)
		}
	case integrity.Logins:
		for i := range b.Logins {
			f(b.Logins[i].ID)
		}
	case integrity.Processes:
		for i := range b.Processes {
			f(b.Processes[i].ID)
		}
	case integrity.Steps:
		for i := range b.Steps {
			f(b.Steps[i].ID)
		}
	case integrity.Registrations:
		for i := range b.Registrations {
			f(b.Registrations[i].ID)
		}
	}
}

// storedIDs are the rows of b already in the database.
func storedIDs(tx *gorm.DB, b *entities.Batch) (map[sealKey]bool, error) {
	stored := map[sealKey]bool{}
	for _, t := range integrity.Tables() {
		var ids []any
		eachID(b, t, func(id entities.ID) { ids = append(ids, id.String()) })
		for len(ids) > 0 {
			n := min(len(ids), insertChunk)
			var found []entities.ID
			q := "SELECT id FROM " + t.Name() + " WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
			if err := tx.Raw(q, ids[:n]...).Scan(&found).Error; err != nil {
				return nil, fmt.Errorf("look up stored rows: %w", err)
			}
			for _, id := range found {
				stored[sealKey{t, id}] = true
			}
			ids = ids[n:]
		}
	}
	return stored, nil
}

// withoutStored is b without the rows in stored.
func withoutStored(b *entities.Batch, stored map[sealKey]bool) *entities.Batch {
	return &entities.Batch{
		Requests:      unstored(b.Requests, integrity.Requests, stored, func(r *entities.RequestEvent) entities.ID { return r.ID }),
		Logins:        unstored(b.Logins, integrity.Logins, stored, func(r *entities.LoginEvent) entities.ID { return r.ID }),
		Processes:     unstored(b.Processes, integrity.Processes, stored, func(r *entities.ProcessEvent) entities.ID { return r.ID }),
		Steps:         unstored(b.Steps, integrity.Steps, stored, func(r *entities.StepEvent) entities.ID { return r.ID }),
		Registrations: unstored(b.Registrations, integrity.Registrations, stored, func(r *entities.RegistrationEvent) entities.ID { return r.ID }),
	}
}

// unstored is rows without those of table t in stored (nil when none is
// left).
func unstored[T any](rows []T, t integrity.Table, stored map[sealKey]bool, id func(*T) entities.ID) []T {
	var out []T
	for i := range rows {
		if !stored[sealKey{t, id(&rows[i])}] {
			out = append(out, rows[i])
		}
	}
	return out
}
