package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gin-audit-trail/audit/internal/integrity"
	"gorm.io/gorm"
)

// Defaults of Retention.
const (
	// DefaultRetentionInterval is Retention.Interval: the time between two
	// retention passes.
	DefaultRetentionInterval = time.Hour
	// DefaultPurgeBatchRows is Retention.BatchRows: rows deleted per
	// statement.
	DefaultPurgeBatchRows = 1000
	// DefaultPurgePause is Retention.Pause: the rest between two batches,
	// which lets the writer take the database in turn.
	DefaultPurgePause = 10 * time.Millisecond
	// vacuumPages is how many free pages one SQLite incremental_vacuum
	// statement returns to the file system (4 MiB at 4 KiB pages).
	vacuumPages = 1024
)

// retentionLockKey is the PostgreSQL advisory lock held by the instance
// that runs a retention pass (migrationLockKey + 1).
const retentionLockKey int64 = 0x6175646974747262

// Retention says how long each kind of audit row is kept; a zero limit
// keeps that kind for ever. A process is kept, and deleted, with its steps
// and their registrations: they follow the process's datetime, whatever
// their own, so a report never shows part of a process.
type Retention struct {
	// Requests is how long request events are kept.
	Requests time.Duration
	// Logins is how long login events are kept.
	Logins time.Duration
	// Processes is how long processes (with their steps and
	// registrations) are kept.
	Processes time.Duration

	// Interval is the time between two passes. Default
	// DefaultRetentionInterval.
	Interval time.Duration
	// BatchRows bounds the rows one DELETE statement removes (each is its
	// own short transaction). Default DefaultPurgeBatchRows.
	BatchRows int
	// Pause is the rest between two batches. Default DefaultPurgePause.
	Pause time.Duration

	seal *integrity.Sealer // see Sealed
}

// Enabled reports whether any limit is set.
func (r Retention) Enabled() bool { return r.Requests > 0 || r.Logins > 0 || r.Processes > 0 }

func (r Retention) withDefaults() Retention {
	if r.Interval <= 0 {
		r.Interval = DefaultRetentionInterval
	}
	if r.BatchRows <= 0 {
		r.BatchRows = DefaultPurgeBatchRows
	}
	if r.Pause < 0 {
		r.Pause = 0
	} else if r.Pause == 0 {
		r.Pause = DefaultPurgePause
	}
	return r
}

// limits pairs each purged kind with its limit.
func (r Retention) limits() []struct {
	kind  Kind
	limit time.Duration
} {
	return []struct {
		kind  Kind
		limit time.Duration
	}{{Requests, r.Requests}, {Logins, r.Logins}, {Processes, r.Processes}}
}

// Purger deletes old audit rows in bounded batches. Each batch is one
// short statement (DELETE ... WHERE id IN (SELECT id ... ORDER BY datetime
// LIMIT n)), so the writer never waits longer than one batch for the
// database, on SQLite (one writer at a time) as on PostgreSQL.
type Purger struct {
	// DB is the audit database.
	DB *gorm.DB
	// BatchRows bounds the rows of one statement. Default
	// DefaultPurgeBatchRows.
	BatchRows int
	// Pause is the rest between two batches; zero does not rest.
	Pause time.Duration
	// Progress, when set, is called after each batch with the rows it
	// deleted (children of processes included).
	Progress func(kind Kind, deleted int64)
	// Integrity, when set, records each batch of deletions in the sealed
	// trail: a checkpoint digest, in the same transaction, for every batch
	// the deleted rows belonged to (docs/INTEGRITY.md, "Retention").
	Integrity *integrity.Sealer
}

// PurgeOlder deletes the rows of kind older than before, oldest first, and
// returns how many it deleted. Purging Processes also deletes their steps
// and registrations (children first, so none is left without its parent
// should the pass stop), then steps and registrations older than before
// whose parent is gone. Steps and Registrations cannot be purged on their
// own: they follow their process. On partitioned PostgreSQL tables it
// detaches and drops the partitions that end before before instead, and
// deletes in batches only the older rows of the DEFAULT partitions (see
// Partitioning).
func (p Purger) PurgeOlder(ctx context.Context, kind Kind, before time.Time) (int64, error) {
	if p.BatchRows <= 0 {
		p.BatchRows = DefaultPurgeBatchRows
	}
	before = before.UTC()
	if n, handled, err := p.purgePartitioned(ctx, kind, before); handled || err != nil {
		return n, err // partition.go
	}
	switch kind {
	case Requests, Logins:
		return p.loop(ctx, kind, []string{deleteOldest(kind.Table())}, before)
	case Processes:
		oldest := `SELECT id FROM audit_process_events WHERE datetime < ? ORDER BY datetime, id LIMIT ?`
		n, err := p.loop(ctx, kind, []string{
			`DELETE FROM audit_registration_events WHERE step_id IN (SELECT id FROM audit_step_events WHERE process_id IN (` + oldest + `))`,
			`DELETE FROM audit_step_events WHERE process_id IN (` + oldest + `)`,
			`DELETE FROM audit_process_events WHERE id IN (` + oldest + `)`,
		}, before)
		if err != nil {
			return n, err
		}
		orphans, err := p.loop(ctx, kind, []string{
			`DELETE FROM audit_step_events WHERE id IN (SELECT s.id FROM audit_step_events s WHERE s.datetime < ?
			 AND NOT EXISTS (SELECT 1 FROM audit_process_events p WHERE p.id = s.process_id) ORDER BY s.datetime LIMIT ?)`,
		}, before)
		n += orphans
		if err != nil {
			return n, err
		}
		orphans, err = p.loop(ctx, kind, []string{
			`DELETE FROM audit_registration_events WHERE id IN (SELECT r.id FROM audit_registration_events r WHERE r.datetime < ?
			 AND NOT EXISTS (SELECT 1 FROM audit_step_events s WHERE s.id = r.step_id) ORDER BY r.datetime LIMIT ?)`,
		}, before)
		return n + orphans, err
	}
	return 0, fmt.Errorf("audit: %s cannot be purged on their own: they follow their process", kind)
}

func deleteOldest(table string) string {
	return `DELETE FROM ` + table + ` WHERE id IN (SELECT id FROM ` + table + ` WHERE datetime < ? ORDER BY datetime LIMIT ?)`
}

// loop runs the statements of one batch in order until the last one
// deletes fewer rows than a batch. Each statement takes (before, limit).
func (p Purger) loop(ctx context.Context, kind Kind, stmts []string, before time.Time) (int64, error) {
	if p.Integrity != nil {
		return p.loopSealed(ctx, kind, stmts, before) // retention_integrity.go
	}
	var total int64
	db := p.DB.WithContext(ctx)
	for {
		var batch, last int64
		for _, stmt := range stmts {
			res := db.Exec(stmt, before, p.BatchRows)
			if res.Error != nil {
				return total + batch, fmt.Errorf("audit: purge %s: %w", kind, res.Error)
			}
			batch += res.RowsAffected
			last = res.RowsAffected
		}
		total += batch
		if p.Progress != nil && batch > 0 {
			p.Progress(kind, batch)
		}
		if last < int64(p.BatchRows) {
			return total, nil
		}
		if err := sleep(ctx, p.Pause); err != nil {
			return total, err
		}
	}
}

// CountOlder counts the rows of kind older than before: what PurgeOlder
// would delete, children of processes not included.
func CountOlder(ctx context.Context, db *gorm.DB, kind Kind, before time.Time) (int64, error) {
	if kind.Table() == "" {
		return 0, fmt.Errorf("audit: unknown kind %q", kind)
	}
	var n int64
	err := db.WithContext(ctx).Raw("SELECT count(*) FROM "+kind.Table()+" WHERE datetime < ?", before.UTC()).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("audit: count %s: %w", kind.Table(), err)
	}
	return n, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrRetentionBusy is returned by RunRetention when another instance holds
// the retention lock: it is running a pass on the same database.
var ErrRetentionBusy = errors.New("audit: another instance is running retention on this audit database")

// RetentionResult is what one retention pass did.
type RetentionResult struct {
	// Deleted counts the rows deleted per kind (steps and registrations
	// under Processes).
	Deleted map[Kind]int64
	// VacuumedPages is how many free pages a SQLite file returned to the
	// file system.
	VacuumedPages int64
}

// RunRetention makes one retention pass over db: it takes the retention
// lock (a PostgreSQL session advisory lock, or an flock of the file
// "<database>-retention.lock" beside a SQLite file) without waiting,
// returning ErrRetentionBusy when another instance holds it, then purges
// every kind that has a limit, in batches, and on SQLite returns the freed
// pages to the file system (PRAGMA incremental_vacuum, in steps of a few
// MiB) when the file was created with auto_vacuum=INCREMENTAL, as Migrate
// creates new files.
func RunRetention(ctx context.Context, db *gorm.DB, r Retention, now time.Time) (RetentionResult, error) {
	r = r.withDefaults()
	res := RetentionResult{Deleted: map[Kind]int64{}}
	release, err := LockRetention(ctx, db)
	if err != nil {
		return res, err
	}
	defer release()
	p := Purger{DB: db, BatchRows: r.BatchRows, Pause: r.Pause, Integrity: r.seal}
	for _, l := range r.limits() {
		if l.limit <= 0 {
			continue
		}
		n, err := p.PurgeOlder(ctx, l.kind, now.Add(-l.limit))
		res.Deleted[l.kind] = n
		if err != nil {
			return res, err
		}
	}
	if TargetOf(db).Driver == DriverSQLite || db.Dialector.Name() == "sqlite" {
		res.VacuumedPages, err = IncrementalVacuum(ctx, db, r.Pause)
	}
	return res, err
}

// LockRetention takes the retention lock of db without waiting, as
// RunRetention does, and returns its release; ErrRetentionBusy when another
// instance holds it. The audit command's purge holds it too.
func LockRetention(ctx context.Context, db *gorm.DB) (release func(), err error) {
	if db.Dialector.Name() == "postgres" {
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		// A session lock lives on one connection: hold that connection for
		// the pass. Should it break, the server releases the lock.
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit: retention lock: %w", err)
		}
		var got bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", retentionLockKey).Scan(&got); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("audit: retention lock: %w", err)
		}
		if !got {
			_ = conn.Close()
			return nil, ErrRetentionBusy
		}
		return func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", retentionLockKey)
			_ = conn.Close()
		}, nil
	}
	path := TargetOf(db).Path
	if path == "" {
		return func() {}, nil // in memory: one process by definition
	}
	release, ok, err := tryLockFile(path + "-retention.lock")
	if err != nil {
		return nil, fmt.Errorf("audit: retention lock: %w", err)
	}
	if !ok {
		return nil, ErrRetentionBusy
	}
	return release, nil
}

// IncrementalVacuum returns the free pages of a SQLite file created with
// auto_vacuum=INCREMENTAL to the file system, a few MiB per statement with
// pause between them, and returns how many pages it freed. On a file
// without incremental auto-vacuum it does nothing: there, freed pages are
// reused by new rows, so the file stops growing but does not shrink (see
// EnableIncrementalVacuum).
func IncrementalVacuum(ctx context.Context, db *gorm.DB, pause time.Duration) (int64, error) {
	db = db.WithContext(ctx)
	var mode int
	if err := db.Raw("PRAGMA auto_vacuum").Scan(&mode).Error; err != nil {
		return 0, fmt.Errorf("audit: read auto_vacuum: %w", err)
	}
	if mode != 2 {
		return 0, nil
	}
	var total int64
	for {
		var free int64
		if err := db.Raw("PRAGMA freelist_count").Scan(&free).Error; err != nil {
			return total, fmt.Errorf("audit: read freelist_count: %w", err)
		}
		if free == 0 {
			return total, nil
		}
		// The statement frees one page per step: drain it, as a query.
		rows, err := db.Raw(fmt.Sprintf("PRAGMA incremental_vacuum(%d)", vacuumPages)).Rows()
		if err != nil {
			return total, fmt.Errorf("audit: incremental vacuum: %w", err)
		}
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return total, fmt.Errorf("audit: incremental vacuum: %w", err)
		}
		var left int64
		if err := db.Raw("PRAGMA freelist_count").Scan(&left).Error; err != nil {
			return total, fmt.Errorf("audit: read freelist_count: %w", err)
		}
		if left >= free {
			return total, nil // nothing moved: another connection holds it
		}
		total += free - left
		if err := sleep(ctx, pause); err != nil {
			return total, err
		}
	}
}

// EnableIncrementalVacuum switches a SQLite audit file to
// auto_vacuum=INCREMENTAL, which lets retention return deleted space to the
// file system. A new file needs nothing (Migrate sets it before creating
// the tables); an existing file is rewritten by VACUUM, which holds the
// database exclusively for as long as it takes to copy it: run it during
// maintenance (the audit command's `migrate --incremental-vacuum`).
func EnableIncrementalVacuum(ctx context.Context, db *gorm.DB) error {
	return db.WithContext(ctx).Connection(func(tx *gorm.DB) error {
		var mode int
		if err := tx.Raw("PRAGMA auto_vacuum").Scan(&mode).Error; err != nil {
			return err
		}
		if mode == 2 {
			return nil
		}
		if err := tx.Exec("PRAGMA auto_vacuum = INCREMENTAL").Error; err != nil {
			return err
		}
		return tx.Exec("VACUUM").Error
	})
}
