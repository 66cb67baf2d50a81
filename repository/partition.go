package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// PostgreSQL time partitioning (docs/RETENTION.md). With Partitioning set,
// a new PostgreSQL audit database gets its five tables declared
// PARTITION BY RANGE (datetime), with the primary key (id, datetime), a
// DEFAULT partition that takes any row no range partition covers, and
// daily or monthly range partitions created ahead of time by the trail.
// Retention then detaches and drops whole partitions instead of deleting
// rows. An existing unpartitioned database is never converted by Migrate:
// ConvertToPartitioned (the audit command's `partition migrate`) does it.

// PartitionInterval is the time range of one partition.
type PartitionInterval string

// Partition intervals. Partitions start at 00:00 UTC (a day) or on the
// first of a month at 00:00 UTC.
const (
	PartitionDaily   PartitionInterval = "daily"
	PartitionMonthly PartitionInterval = "monthly"
)

// Defaults of Partitioning.
const (
	// DefaultDailyPartitionsAhead is how many daily partitions beyond the
	// current one exist at any time.
	DefaultDailyPartitionsAhead = 7
	// DefaultMonthlyPartitionsAhead is how many monthly partitions beyond
	// the current one exist at any time.
	DefaultMonthlyPartitionsAhead = 2
	// DefaultPartitionCheckInterval is Partitioning.CheckInterval.
	DefaultPartitionCheckInterval = time.Hour
	// partitionLockTimeout bounds the wait of a partition's ATTACH or
	// DETACH for its lock, so that a long query on the audit tables makes
	// the maintenance try again later rather than queue the writer behind it.
	partitionLockTimeout = "2s"
)

// partitionLockKey is the PostgreSQL advisory lock held while partitions
// are created or dropped (migrationLockKey + 2).
const partitionLockKey int64 = 0x6175646974747263

// Partitioning turns on time partitioning of the five audit tables on
// PostgreSQL. Its zero value leaves the tables unpartitioned. SQLite has no
// partitions: the trail ignores the setting there, with a warning.
type Partitioning struct {
	// Interval is the time range of one partition: PartitionDaily (tens of
	// millions of rows a day) or PartitionMonthly. "" turns partitioning
	// off.
	Interval PartitionInterval
	// Ahead is how many partitions beyond the current one are kept
	// created. Default DefaultDailyPartitionsAhead or
	// DefaultMonthlyPartitionsAhead.
	Ahead int
	// External leaves the partitions to another tool (pg_partman): Migrate
	// creates the partitioned tables only, with no partition, not even the
	// DEFAULT one, and the trail neither creates nor drops partitions.
	External bool
	// CheckInterval is the time between two checks that the partitions
	// ahead exist. Default DefaultPartitionCheckInterval.
	CheckInterval time.Duration
}

// Enabled reports whether partitioning is on.
func (p Partitioning) Enabled() bool { return p.Interval != "" }

func (p Partitioning) withDefaults() Partitioning {
	if p.Ahead <= 0 {
		p.Ahead = DefaultDailyPartitionsAhead
		if p.Interval == PartitionMonthly {
			p.Ahead = DefaultMonthlyPartitionsAhead
		}
	}
	if p.CheckInterval <= 0 {
		p.CheckInterval = DefaultPartitionCheckInterval
	}
	return p
}

// ParsePartitionInterval reads "daily" or "monthly" (any case); "" and
// "none" give "" (off).
func ParsePartitionInterval(s string) (PartitionInterval, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none", "off":
		return "", nil
	case "daily", "day":
		return PartitionDaily, nil
	case "monthly", "month":
		return PartitionMonthly, nil
	}
	return "", fmt.Errorf("audit: unknown partition interval %q: use daily or monthly", s)
}

// start is the beginning of the partition that holds t.
func (i PartitionInterval) start(t time.Time) time.Time {
	t = t.UTC()
	if i == PartitionMonthly {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// next is the beginning of the partition after the one starting at t.
func (i PartitionInterval) next(t time.Time) time.Time {
	if i == PartitionMonthly {
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(0, 0, 1)
}

// partitionName is the name of table's partition starting at from:
// audit_request_events_p20261127 (daily) or audit_request_events_p202611.
func (i PartitionInterval) partitionName(table string, from time.Time) string {
	if i == PartitionMonthly {
		return table + "_p" + from.Format("200601")
	}
	return table + "_p" + from.Format("20060102")
}

// defaultPartition is the name of table's DEFAULT partition (pg_partman's
// naming too).
func defaultPartition(table string) string { return table + "_default" }

// ErrNotPartitioned is returned (wrapped) by MigratePartitioned and
// CheckPartitioning when Partitioning is set and the audit tables exist
// unpartitioned: converting them copies every row, so it is never done by
// accident.
var ErrNotPartitioned = errors.New("audit: the audit tables are not partitioned")

// relkind returns the kind of table: 'p' partitioned, 'r' ordinary, 0 when
// it does not exist.
func relkind(db *gorm.DB, table string) (byte, error) {
	var kind string
	err := db.Raw(`SELECT coalesce((SELECT relkind::text FROM pg_class WHERE oid = to_regclass(?)), '')`, table).Scan(&kind).Error
	if err != nil {
		return 0, fmt.Errorf("audit: read the kind of table %s: %w", table, err)
	}
	if kind == "" {
		return 0, nil
	}
	return kind[0], nil
}

// IsPartitioned reports whether the table of kind is a partitioned table
// (always false on SQLite).
func IsPartitioned(ctx context.Context, db *gorm.DB, kind Kind) (bool, error) {
	if db.Dialector.Name() != "postgres" {
		return false, nil
	}
	k, err := relkind(db.WithContext(ctx), kind.Table())
	return k == 'p', err
}

// MigratePartitioned is Migrate with time partitioning on PostgreSQL: the
// audit tables that do not exist yet are created partitioned (with their
// DEFAULT partition unless p.External), then the partitions ahead are
// created (unless p.External). Tables that exist unpartitioned make it
// fail with ErrNotPartitioned, naming the command that converts them.
// With p off, or on SQLite, it is Migrate.
func MigratePartitioned(db *gorm.DB, p Partitioning) error {
	if !p.Enabled() || TargetOf(db).Driver != DriverPostgres {
		return Migrate(db)
	}
	p = p.withDefaults()
	ctx := db.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if partitioned, err := allPartitioned(db); err != nil {
		return err
	} else if partitioned {
		if err := migrateLocked(db); err != nil {
			return err
		}
		if p.External {
			return nil
		}
		_, err = EnsurePartitions(ctx, db, p, time.Now())
		return err
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
			return fmt.Errorf("audit: lock the audit tables' migration: %w", err)
		}
		var plain []string
		for _, k := range Kinds() {
			kind, err := relkind(tx, k.Table())
			if err != nil {
				return err
			}
			switch kind {
			case 0:
				if err := createPartitionedTable(tx, k, k.Table(), !p.External); err != nil {
					return err
				}
			case 'r':
				plain = append(plain, k.Table())
			}
		}
		if len(plain) > 0 {
			return notPartitioned(plain)
		}
		return migrate(tx)
	})
	if err != nil || p.External {
		return err
	}
	_, err = EnsurePartitions(ctx, db, p, time.Now())
	return err
}

// allPartitioned reports whether the five audit tables exist, partitioned.
func allPartitioned(db *gorm.DB) (bool, error) {
	for _, k := range Kinds() {
		kind, err := relkind(db, k.Table())
		if err != nil || kind != 'p' {
			return false, err
		}
	}
	return true, nil
}

// migrateLocked migrates partitioned tables statement by statement on one
// connection holding the migration's advisory lock as a session lock: in
// one transaction, reading every partition's columns and indexes would
// hold thousands of locks at once (PostgreSQL's lock table is bounded by
// max_locks_per_transaction).
func migrateLocked(db *gorm.DB) error {
	return db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("SELECT pg_advisory_lock(?)", migrationLockKey).Error; err != nil {
			return fmt.Errorf("audit: lock the audit tables' migration: %w", err)
		}
		defer func() {
			// Under a context of its own: the migration's may have ended.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn.WithContext(ctx).Exec("SELECT pg_advisory_unlock(?)", migrationLockKey)
		}()
		return migrate(conn)
	})
}

func notPartitioned(tables []string) error {
	return fmt.Errorf("%w: %s exist unpartitioned while Partitioning is set; an existing database is never converted on its own: "+
		"convert it with `audit partition migrate --interval daily|monthly` (docs/RETENTION.md), or unset Partitioning",
		ErrNotPartitioned, strings.Join(tables, ", "))
}

// CheckPartitioning reports ErrNotPartitioned when p is on and some audit
// table exists unpartitioned, for applications that migrate from their
// deploy step (SkipMigration). It checks nothing on SQLite.
func CheckPartitioning(db *gorm.DB, p Partitioning) error {
	if !p.Enabled() || TargetOf(db).Driver != DriverPostgres {
		return nil
	}
	var plain []string
	for _, k := range Kinds() {
		kind, err := relkind(db, k.Table())
		if err != nil {
			return err
		}
		if kind == 'r' {
			plain = append(plain, k.Table())
		}
	}
	if len(plain) > 0 {
		return notPartitioned(plain)
	}
	return nil
}

// createPartitionedTable creates the table name with the columns of kind's
// model, as GORM would type them, the primary key (id, datetime) and
// PARTITION BY RANGE (datetime), and its DEFAULT partition when
// withDefault. Indexes are created by migrate (on the partitioned table,
// so every partition gets them).
func createPartitionedTable(tx *gorm.DB, kind Kind, name string, withDefault bool) error {
	stmt := &gorm.Statement{DB: tx}
	if err := stmt.Parse(kind.Model()); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	sql := "CREATE TABLE ? ("
	values := []any{clause.Table{Name: name}}
	for _, dbName := range stmt.Schema.DBNames {
		field := stmt.Schema.FieldsByDBName[dbName]
		if field.IgnoreMigration {
			continue
		}
		sql += "? ?,"
		values = append(values, clause.Column{Name: dbName}, tx.Migrator().FullDataTypeOf(field))
	}
	sql += "PRIMARY KEY (id, datetime)) PARTITION BY RANGE (datetime)"
	if err := tx.Exec(sql, values...).Error; err != nil {
		return fmt.Errorf("audit: create partitioned table %s: %w", name, err)
	}
	if withDefault {
		if err := tx.Exec(fmt.Sprintf("CREATE TABLE %s PARTITION OF %s DEFAULT", defaultPartition(kind.Table()), name)).Error; err != nil {
			return fmt.Errorf("audit: create the default partition of %s: %w", name, err)
		}
	}
	return nil
}

// Partition is one partition of an audit table.
type Partition struct {
	// Name is the partition's table name.
	Name string `json:"name"`
	// Default is true for the DEFAULT partition, which holds the rows no
	// range partition covers.
	Default bool `json:"default,omitempty"`
	// From and To bound the partition's rows: From <= datetime < To. Zero
	// for the DEFAULT partition.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Rows is PostgreSQL's estimate of the rows the partition holds
	// (pg_class.reltuples, kept by autovacuum), exact for the DEFAULT
	// partition; -1 when never estimated.
	Rows int64 `json:"rows"`
}

// Partitions lists the partitions of table, oldest first, the DEFAULT
// partition last.
func Partitions(ctx context.Context, db *gorm.DB, table string) ([]Partition, error) {
	return partitions(ctx, db, table, true)
}

// partitions is Partitions; countDefault false leaves the DEFAULT
// partition's Rows an estimate, as the others'.
func partitions(ctx context.Context, db *gorm.DB, table string, countDefault bool) ([]Partition, error) {
	var rows []struct {
		Name      string
		Bound     string
		From      *time.Time
		To        *time.Time
		Reltuples float64
	}
	err := db.WithContext(ctx).Raw(`
SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz AS "from",
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS "to",
       c.reltuples
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = to_regclass(?)
 ORDER BY 3 NULLS LAST, 1`, table).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("audit: list the partitions of %s: %w", table, err)
	}
	out := make([]Partition, 0, len(rows))
	for _, r := range rows {
		p := Partition{Name: r.Name, Default: r.Bound == "DEFAULT", Rows: int64(r.Reltuples)}
		if r.From != nil {
			p.From = r.From.UTC()
		}
		if r.To != nil {
			p.To = r.To.UTC()
		}
		if p.Default && countDefault {
			if err := db.WithContext(ctx).Raw("SELECT count(*) FROM " + quoteIdent(p.Name)).Scan(&p.Rows).Error; err != nil {
				return nil, fmt.Errorf("audit: count the rows of %s: %w", p.Name, err)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func pgTime(t time.Time) string { return "'" + t.UTC().Format("2006-01-02 15:04:05") + "+00'" }

// EnsurePartitions creates, on every partitioned audit table, the missing
// partitions from the one holding now to p.Ahead partitions beyond it,
// and returns their names. A partition is created apart and then
// attached (ATTACH PARTITION takes a lock that lets the writer go on),
// after moving into it any rows the DEFAULT partition holds for its range.
// Each waits at most 2 s for its locks; one instance at a time creates
// partitions (an advisory lock), the others return at once.
func EnsurePartitions(ctx context.Context, db *gorm.DB, p Partitioning, now time.Time) ([]string, error) {
	if !p.Enabled() || p.External || db.Dialector.Name() != "postgres" {
		return nil, nil
	}
	p = p.withDefaults()
	from := p.Interval.start(now)
	to := from
	for range p.Ahead + 1 {
		to = p.Interval.next(to)
	}
	return ensureRange(ctx, db, p.Interval, Kinds(), from, to)
}

// ensureRange creates the missing partitions of kinds' tables that cover
// [from, to).
func ensureRange(ctx context.Context, db *gorm.DB, interval PartitionInterval, kinds []Kind, from, to time.Time) ([]string, error) {
	var created []string
	for _, k := range kinds {
		kind, err := relkind(db.WithContext(ctx), k.Table())
		if err != nil {
			return created, err
		}
		if kind != 'p' {
			continue
		}
		names, err := ensureTableRange(ctx, db, interval, k.Table(), k.Table(), from, to)
		created = append(created, names...)
		if err != nil {
			return created, err
		}
	}
	return created, nil
}

// ensureTableRange creates the missing partitions of parent that cover
// [from, to), naming them after table.
func ensureTableRange(ctx context.Context, db *gorm.DB, interval PartitionInterval, parent, table string, from, to time.Time) ([]string, error) {
	have, err := partitions(ctx, db, parent, false)
	if err != nil {
		return nil, err
	}
	var created []string
	for lo := interval.start(from); lo.Before(to); lo = interval.next(lo) {
		hi := interval.next(lo)
		if covered(have, lo, hi) {
			continue
		}
		name := interval.partitionName(table, lo)
		err := withLockRetry(ctx, func() error { return createPartition(ctx, db, parent, name, lo, hi) })
		if errors.Is(err, errPartitionBusy) {
			return created, nil // another instance is at it
		}
		if err != nil {
			return created, err
		}
		created = append(created, name)
	}
	return created, nil
}

// covered reports whether a range partition of have overlaps [lo, hi).
func covered(have []Partition, lo, hi time.Time) bool {
	for _, p := range have {
		if !p.Default && p.From.Before(hi) && lo.Before(p.To) {
			return true
		}
	}
	return false
}

// errPartitionBusy is createPartition's error when another session holds
// the partition lock.
var errPartitionBusy = errors.New("audit: another instance is creating partitions")

// createPartition creates name for [lo, hi) apart from parent, moves into
// it the rows of parent's DEFAULT partition in that range, and attaches
// it, in one transaction.
func createPartition(ctx context.Context, db *gorm.DB, parent, name string, lo, hi time.Time) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL lock_timeout = '" + partitionLockTimeout + "'").Error; err != nil {
			return err
		}
		var got bool
		if err := tx.Raw("SELECT pg_try_advisory_xact_lock(?)", partitionLockKey).Scan(&got).Error; err != nil {
			return err
		}
		if !got {
			return errPartitionBusy
		}
		if kind, err := relkind(tx, name); err != nil || kind != 0 {
			return err // created meanwhile
		}
		if err := tx.Exec(fmt.Sprintf("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)", quoteIdent(name), quoteIdent(parent))).Error; err != nil {
			return fmt.Errorf("audit: create partition %s: %w", name, err)
		}
		if def, err := defaultOf(tx, parent); err != nil {
			return err
		} else if def != "" {
			cols, err := columnsOf(tx, parent)
			if err != nil {
				return err
			}
			move := fmt.Sprintf("WITH moved AS (DELETE FROM %s WHERE datetime >= %s AND datetime < %s RETURNING %s) INSERT INTO %s (%s) SELECT %s FROM moved",
				quoteIdent(def), pgTime(lo), pgTime(hi), cols, quoteIdent(name), cols, cols)
			if err := tx.Exec(move).Error; err != nil {
				return fmt.Errorf("audit: move rows of %s into %s: %w", def, name, err)
			}
		}
		attach := fmt.Sprintf("ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)", quoteIdent(parent), quoteIdent(name), pgTime(lo), pgTime(hi))
		if err := tx.Exec(attach).Error; err != nil {
			return fmt.Errorf("audit: attach partition %s: %w", name, err)
		}
		return nil
	})
}

// defaultOf is the name of parent's DEFAULT partition, "" when it has none.
func defaultOf(db *gorm.DB, parent string) (string, error) {
	var name string
	err := db.Raw(`SELECT coalesce((SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = to_regclass(?) AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'), '')`, parent).Scan(&name).Error
	if err != nil {
		return "", fmt.Errorf("audit: find the default partition of %s: %w", parent, err)
	}
	return name, nil
}

// columnsOf lists the columns of table, quoted and comma-separated.
func columnsOf(db *gorm.DB, table string) (string, error) {
	var cols []string
	err := db.Raw(`SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table).Scan(&cols).Error
	if err != nil {
		return "", fmt.Errorf("audit: list the columns of %s: %w", table, err)
	}
	return strings.Join(cols, ", "), nil
}

// withLockRetry runs f up to three times while it fails on lock_timeout
// (SQLSTATE 55P03), resting a second between tries.
func withLockRetry(ctx context.Context, f func() error) error {
	var err error
	for range 3 {
		err = f()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
			return err
		}
		if serr := sleep(ctx, time.Second); serr != nil {
			return err
		}
	}
	return err
}

// dropPartitionsBefore detaches and drops every range partition of table
// that ends at or before before, oldest first, and returns the rows they
// held (PostgreSQL's estimate). Each DETACH waits at most 2 s for its
// lock (it holds the table exclusively for an instant).
func dropPartitionsBefore(ctx context.Context, db *gorm.DB, table string, before time.Time, progress func(int64)) (int64, error) {
	parts, err := partitions(ctx, db, table, false)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, p := range parts {
		if p.Default || p.To.IsZero() || p.To.After(before) {
			continue // a partition up to MAXVALUE is never old
		}
		rows := p.Rows
		if rows < 0 { // never analyzed
			if err := db.WithContext(ctx).Raw("SELECT count(*) FROM " + quoteIdent(p.Name)).Scan(&rows).Error; err != nil {
				return total, fmt.Errorf("audit: count the rows of %s: %w", p.Name, err)
			}
		}
		err := withLockRetry(ctx, func() error {
			return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				if err := tx.Exec("SET LOCAL lock_timeout = '" + partitionLockTimeout + "'").Error; err != nil {
					return err
				}
				return tx.Exec(fmt.Sprintf("ALTER TABLE %s DETACH PARTITION %s", quoteIdent(table), quoteIdent(p.Name))).Error
			})
		})
		if err != nil {
			return total, fmt.Errorf("audit: detach partition %s: %w", p.Name, err)
		}
		if err := db.WithContext(ctx).Exec("DROP TABLE " + quoteIdent(p.Name)).Error; err != nil {
			return total, fmt.Errorf("audit: drop partition %s: %w", p.Name, err)
		}
		total += rows
		if progress != nil {
			progress(rows)
		}
	}
	return total, nil
}

// purgePartitioned is PurgeOlder on partitioned tables: every range
// partition that ends before before is detached and dropped whole (a
// partition that holds rows on both sides of before is kept until its
// end passes), and the DEFAULT partition's older rows are deleted in
// batches. For Processes the steps' and registrations' partitions go by
// their own datetime. handled is false when the tables are not
// partitioned, or the trail is sealed (Purger.Integrity). Partitions are told apart by their bounds, not their names,
// so those made by another tool (pg_partman) are dropped too.
func (p Purger) purgePartitioned(ctx context.Context, kind Kind, before time.Time) (n int64, handled bool, err error) {
	if p.DB.Dialector.Name() != "postgres" || p.Integrity != nil {
		// A sealed trail records every deleted row in a checkpoint digest
		// (retention_integrity.go): it purges partitioned tables by
		// batched deletes too.
		return 0, false, nil
	}
	tables := []Kind{kind}
	if kind == Processes {
		tables = []Kind{Registrations, Steps, Processes} // children first
	}
	for _, k := range tables {
		if ok, err := IsPartitioned(ctx, p.DB, k); err != nil || !ok {
			return 0, false, err
		}
	}
	progress := func(rows int64) {
		if p.Progress != nil {
			p.Progress(kind, rows)
		}
	}
	for _, k := range tables {
		dropped, err := dropPartitionsBefore(ctx, p.DB, k.Table(), before, progress)
		n += dropped
		if err != nil {
			return n, true, err
		}
		def, err := defaultOf(p.DB.WithContext(ctx), k.Table())
		if err != nil {
			return n, true, err
		}
		if def == "" {
			continue
		}
		deleted, err := p.loop(ctx, kind, []string{deleteOldest(quoteIdent(def))}, before)
		n += deleted
		if err != nil {
			return n, true, err
		}
	}
	return n, true, nil
}
