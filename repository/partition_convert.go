package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// DefaultConvertBatchRows is ConvertOptions.BatchRows.
const DefaultConvertBatchRows = 10_000

// ConvertOptions tunes ConvertToPartitioned.
type ConvertOptions struct {
	// Partitioning is the partitioning of the converted tables; its
	// Interval is required. With External, the partitions that hold the
	// existing rows are still created (and the DEFAULT one), since the
	// rows must go somewhere.
	Partitioning Partitioning
	// BatchRows bounds the rows of one copy statement. Default
	// DefaultConvertBatchRows.
	BatchRows int
	// Pause is the rest between two batches. Zero does not rest.
	Pause time.Duration
	// DropOld drops the unpartitioned tables after the swap; by default
	// they are kept, renamed <table>_unpartitioned, for the operator to
	// check and drop.
	DropOld bool
	// SwapLockTimeout bounds the wait for the tables' locks at the swap.
	// Default 10 s.
	SwapLockTimeout time.Duration
	// Progress, when set, is called after each batch with the rows it
	// copied.
	Progress func(kind Kind, copied int64)
}

// ConvertResult is what ConvertToPartitioned did.
type ConvertResult struct {
	// Copied counts the rows copied per kind (rows mirrored by the trigger
	// while the copy ran are not counted).
	Copied map[Kind]int64
	// Kept names the old tables kept, renamed, when DropOld is false.
	Kept []string
}

// EstimateRows returns PostgreSQL's estimate of the rows of table
// (pg_class.reltuples), 0 when it has none.
func EstimateRows(ctx context.Context, db *gorm.DB, table string) (int64, error) {
	var n float64
	err := db.WithContext(ctx).Raw(`SELECT coalesce((SELECT reltuples FROM pg_class WHERE oid = to_regclass(?)), 0)`, table).Scan(&n).Error
	if n < 0 {
		n = 0
	}
	return int64(n), err
}

// ConvertToPartitioned converts the unpartitioned audit tables of a
// PostgreSQL database to partitioned ones (docs/RETENTION.md), while the
// applications go on writing:
//
//  1. Migrate brings the old tables up to date. For each table, a
//     partitioned copy <table>_new is created with the same columns, the
//     primary key (id, datetime), the same indexes, a DEFAULT partition
//     and the range partitions from the oldest row to the partitions
//     ahead (with daily partitioning, the rows before the previous month
//     get monthly partitions).
//  2. A trigger on the old table mirrors every row inserted from then on
//     into the new one.
//  3. The existing rows are copied in batches of BatchRows, oldest first
//     (INSERT ... SELECT ... ON CONFLICT DO NOTHING, one short statement
//     each).
//  4. The swap, in one transaction that holds the five old tables
//     exclusively (writes and reads wait, for milliseconds): the triggers
//     go, the old tables are renamed <table>_unpartitioned (their indexes
//     and primary keys take the same suffix) or dropped, and the new ones
//     take their names.
//
// Tables already partitioned are left alone. A conversion that fails or
// is canceled removes its trigger and new tables: the old tables stay in
// use and whole; running it again starts over (so does it after a crash,
// which may leave the trigger: it is dropped first).
func ConvertToPartitioned(ctx context.Context, db *gorm.DB, o ConvertOptions) (res ConvertResult, err error) {
	res = ConvertResult{Copied: map[Kind]int64{}}
	if db.Dialector.Name() != "postgres" {
		return res, errors.New("audit: partitioning is for PostgreSQL audit databases")
	}
	if !o.Partitioning.Enabled() {
		return res, errors.New("audit: give the partition interval (daily or monthly)")
	}
	p := o.Partitioning.withDefaults()
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultConvertBatchRows
	}
	if o.SwapLockTimeout <= 0 {
		o.SwapLockTimeout = 10 * time.Second
	}
	db = db.WithContext(ctx)
	if err := Migrate(db); err != nil {
		return res, err
	}
	var kinds []Kind
	for _, k := range Kinds() {
		kind, err := relkind(db, k.Table())
		if err != nil {
			return res, err
		}
		if kind == 'r' {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return res, nil
	}
	defer func() {
		if err != nil {
			abandon(db, kinds)
		}
	}()
	for _, k := range kinds {
		if err = prepareNew(ctx, db, k, p); err != nil {
			return res, err
		}
	}
	for _, k := range kinds {
		var n int64
		n, err = copyOld(ctx, db, k, o)
		res.Copied[k] = n
		if err != nil {
			return res, err
		}
	}
	if res.Kept, err = swap(ctx, db, kinds, o); err != nil {
		return res, err
	}
	if !p.External {
		_, err = EnsurePartitions(ctx, db, p, time.Now())
	}
	return res, err
}

func newName(table string) string { return table + "_new" }

// prepareNew creates the partitioned <table>_new for kind, its partitions,
// its indexes and the trigger that mirrors new rows into it.
func prepareNew(ctx context.Context, db *gorm.DB, k Kind, p Partitioning) error {
	old, nt := k.Table(), newName(k.Table())
	if err := dropMirror(db, k); err != nil {
		return err
	}
	if err := db.Exec("DROP TABLE IF EXISTS " + quoteIdent(nt)).Error; err != nil {
		return fmt.Errorf("audit: drop the leftover %s: %w", nt, err)
	}
	stmts := []string{
		fmt.Sprintf("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS) PARTITION BY RANGE (datetime)", quoteIdent(nt), quoteIdent(old)),
		fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (id, datetime)", quoteIdent(nt)),
		fmt.Sprintf("CREATE TABLE %s PARTITION OF %s DEFAULT", quoteIdent(defaultPartition(old)), quoteIdent(nt)),
	}
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			return fmt.Errorf("audit: prepare %s: %w", nt, err)
		}
	}
	var oldest *time.Time
	if err := db.Raw("SELECT min(datetime) FROM " + quoteIdent(old)).Scan(&oldest).Error; err != nil {
		return fmt.Errorf("audit: read the oldest row of %s: %w", old, err)
	}
	from := time.Now()
	if oldest != nil && oldest.Before(from) {
		from = *oldest
	}
	to := p.Interval.start(time.Now())
	for range p.Ahead + 1 {
		to = p.Interval.next(to)
	}
	// Daily partitions for this month and the previous one; the history
	// before in monthly partitions, so that years of rows do not make
	// thousands of tables (retention drops them by their bounds alike).
	if p.Interval == PartitionDaily {
		history := PartitionMonthly.start(time.Now()).AddDate(0, -1, 0)
		if from.Before(history) {
			if _, err := ensureTableRange(ctx, db, PartitionMonthly, nt, old, from, history); err != nil {
				return err
			}
			from = history
		}
	}
	if _, err := ensureTableRange(ctx, db, p.Interval, nt, old, from, to); err != nil {
		return err
	}
	var idx []struct{ Name, Def string }
	err := db.Raw(`SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE x.indrelid = to_regclass(?) AND NOT x.indisprimary ORDER BY 1`, old).Scan(&idx).Error
	if err != nil {
		return fmt.Errorf("audit: list the indexes of %s: %w", old, err)
	}
	for _, ix := range idx {
		using := strings.Index(ix.Def, " USING ")
		if using < 0 {
			return fmt.Errorf("audit: cannot read the index %s: %s", ix.Name, ix.Def)
		}
		create := "CREATE INDEX "
		if strings.HasPrefix(ix.Def, "CREATE UNIQUE") {
			create = "CREATE UNIQUE INDEX "
		}
		def := create + quoteIdent(ix.Name+"_new") + " ON " + quoteIdent(nt) + ix.Def[using:]
		if err := db.Exec(def).Error; err != nil {
			return fmt.Errorf("audit: create index %s on %s: %w", ix.Name, nt, err)
		}
	}
	cols, err := columnsOf(db, old)
	if err != nil {
		return err
	}
	vals := "NEW." + strings.ReplaceAll(cols, ", ", ", NEW.")
	fn := quoteIdent(old + "_mirror")
	trigger := []string{
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO %s (%s) VALUES (%s) ON CONFLICT DO NOTHING;
	RETURN NULL;
END $$`, fn, quoteIdent(nt), cols, vals),
		fmt.Sprintf("DROP TRIGGER IF EXISTS %s ON %s", fn, quoteIdent(old)),
		fmt.Sprintf("CREATE TRIGGER %s AFTER INSERT ON %s FOR EACH ROW EXECUTE FUNCTION %s()", fn, quoteIdent(old), fn),
	}
	for _, s := range trigger {
		if err := db.Exec(s).Error; err != nil {
			return fmt.Errorf("audit: mirror trigger on %s: %w", old, err)
		}
	}
	return nil
}

// dropMirror drops the trigger (and its function) that mirrors kind's new
// rows into <table>_new, if there is one.
func dropMirror(db *gorm.DB, k Kind) error {
	fn := quoteIdent(k.Table() + "_mirror")
	for _, s := range []string{"DROP TRIGGER IF EXISTS " + fn + " ON " + quoteIdent(k.Table()), "DROP FUNCTION IF EXISTS " + fn + "()"} {
		if err := db.Exec(s).Error; err != nil {
			return fmt.Errorf("audit: drop the mirror trigger of %s: %w", k.Table(), err)
		}
	}
	return nil
}

// abandon undoes an unfinished conversion, under a context of its own (the
// conversion's may have ended): the old tables stay as they were, with no
// trigger, and the new ones go.
func abandon(db *gorm.DB, kinds []Kind) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db = db.WithContext(ctx)
	for _, k := range kinds {
		if dropMirror(db, k) == nil {
			_ = db.Exec("DROP TABLE IF EXISTS " + quoteIdent(newName(k.Table()))).Error
		}
	}
}

// copyOld copies the rows of kind's old table into the new one, in
// batches of datetime ranges of at most o.BatchRows rows, oldest first.
func copyOld(ctx context.Context, db *gorm.DB, k Kind, o ConvertOptions) (int64, error) {
	old, nt := quoteIdent(k.Table()), quoteIdent(newName(k.Table()))
	cols, err := columnsOf(db, k.Table())
	if err != nil {
		return 0, err
	}
	var cur *time.Time
	if err := db.Raw("SELECT min(datetime) FROM " + old).Scan(&cur).Error; err != nil || cur == nil {
		return 0, err
	}
	insert := "INSERT INTO " + nt + " (" + cols + ") SELECT " + cols + " FROM " + old + " WHERE datetime >= ? "
	var total int64
	for {
		var next *time.Time
		if err := db.Raw("SELECT datetime FROM "+old+" WHERE datetime >= ? ORDER BY datetime OFFSET ? LIMIT 1", *cur, o.BatchRows).Scan(&next).Error; err != nil {
			return total, fmt.Errorf("audit: copy %s: %w", k.Table(), err)
		}
		if next != nil && next.Equal(*cur) { // a batch's worth of rows at one instant
			if err := db.Raw("SELECT min(datetime) FROM "+old+" WHERE datetime > ?", *cur).Scan(&next).Error; err != nil {
				return total, fmt.Errorf("audit: copy %s: %w", k.Table(), err)
			}
		}
		var r *gorm.DB
		if next == nil {
			r = db.Exec(insert+"ON CONFLICT DO NOTHING", *cur)
		} else {
			r = db.Exec(insert+"AND datetime < ? ON CONFLICT DO NOTHING", *cur, *next)
		}
		if r.Error != nil {
			return total, fmt.Errorf("audit: copy %s: %w", k.Table(), r.Error)
		}
		total += r.RowsAffected
		if o.Progress != nil {
			o.Progress(k, r.RowsAffected)
		}
		if next == nil {
			return total, nil
		}
		cur = next
		if err := sleep(ctx, o.Pause); err != nil {
			return total, err
		}
	}
}

// swap replaces the old tables by the new ones in one transaction.
func swap(ctx context.Context, db *gorm.DB, kinds []Kind, o ConvertOptions) (kept []string, err error) {
	err = withLockRetry(ctx, func() error {
		kept = nil
		return db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(fmt.Sprintf("SET LOCAL lock_timeout = '%dms'", o.SwapLockTimeout.Milliseconds())).Error; err != nil {
				return err
			}
			for _, k := range kinds {
				if err := tx.Exec("LOCK TABLE " + quoteIdent(k.Table()) + " IN ACCESS EXCLUSIVE MODE").Error; err != nil {
					return fmt.Errorf("audit: lock %s: %w", k.Table(), err)
				}
			}
			for _, k := range kinds {
				names, err := swapOne(tx, k, o.DropOld)
				if err != nil {
					return err
				}
				kept = append(kept, names...)
			}
			return nil
		})
	})
	return kept, err
}

func swapOne(tx *gorm.DB, k Kind, dropOld bool) ([]string, error) {
	t := k.Table()
	fn := quoteIdent(t + "_mirror")
	var renames []string
	renames = append(renames,
		fmt.Sprintf("DROP TRIGGER %s ON %s", fn, quoteIdent(t)),
		fmt.Sprintf("DROP FUNCTION %s()", fn))
	var oldIdx, newIdx []string
	if err := tx.Raw(`SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass(?) ORDER BY 1`, t).Scan(&oldIdx).Error; err != nil {
		return nil, err
	}
	if err := tx.Raw(`SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass(?) ORDER BY 1`, newName(t)).Scan(&newIdx).Error; err != nil {
		return nil, err
	}
	var kept []string
	if dropOld {
		renames = append(renames, "DROP TABLE "+quoteIdent(t))
	} else {
		keep := t + "_unpartitioned"
		if err := tx.Exec("DROP TABLE IF EXISTS " + quoteIdent(keep)).Error; err != nil {
			return nil, err
		}
		for _, ix := range oldIdx {
			renames = append(renames, fmt.Sprintf("ALTER INDEX %s RENAME TO %s", quoteIdent(ix), quoteIdent(ix+"_unpartitioned")))
		}
		renames = append(renames, fmt.Sprintf("ALTER TABLE %s RENAME TO %s", quoteIdent(t), quoteIdent(keep)))
		kept = append(kept, keep)
	}
	renames = append(renames, fmt.Sprintf("ALTER TABLE %s RENAME TO %s", quoteIdent(newName(t)), quoteIdent(t)))
	for _, ix := range newIdx {
		final := strings.TrimSuffix(ix, "_new")
		if ix == newName(t)+"_pkey" {
			final = t + "_pkey"
		}
		if final != ix {
			renames = append(renames, fmt.Sprintf("ALTER INDEX %s RENAME TO %s", quoteIdent(ix), quoteIdent(final)))
		}
	}
	for _, s := range renames {
		if err := tx.Exec(s).Error; err != nil {
			return nil, fmt.Errorf("audit: swap %s: %s: %w", t, s, err)
		}
	}
	return kept, nil
}
