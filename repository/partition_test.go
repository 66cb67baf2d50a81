package repository_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

var daily = repository.Partitioning{Interval: repository.PartitionDaily}

// openPartitioned opens a new PostgreSQL audit database migrated with p.
func openPartitioned(t *testing.T, p repository.Partitioning) *gorm.DB {
	t.Helper()
	db, err := repository.Open(testdb.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	require.NoError(t, repository.MigratePartitioned(db, p))
	return db
}

// openPlain opens a new PostgreSQL audit database migrated unpartitioned,
// whatever AUDIT_TEST_PARTITIONING says.
func openPlain(t *testing.T) *gorm.DB {
	t.Helper()
	db := openPartitioned(t, repository.Partitioning{})
	ok, err := repository.IsPartitioned(context.Background(), db, repository.Requests)
	require.NoError(t, err)
	require.False(t, ok)
	return db
}

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// partitionOf counts the rows of table per partition that holds them.
func partitionOf(t *testing.T, db *gorm.DB, table string) map[string]int64 {
	t.Helper()
	var rows []struct {
		Part string
		N    int64
	}
	require.NoError(t, db.Raw("SELECT tableoid::regclass::text AS part, count(*) AS n FROM "+table+" GROUP BY 1").Scan(&rows).Error)
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Part] = r.N
	}
	return out
}

func rangeNames(parts []repository.Partition) (names []string, def bool) {
	for _, p := range parts {
		if p.Default {
			def = true
			continue
		}
		names = append(names, p.Name)
	}
	return names, def
}

func TestPartitionedMigrateCreatesTablesAndPartitionsAhead(t *testing.T) {
	db := openPartitioned(t, daily)
	today := day(time.Now())
	for _, k := range repository.Kinds() {
		ok, err := repository.IsPartitioned(context.Background(), db, k)
		require.NoError(t, err)
		assert.True(t, ok, "%s is partitioned", k)
		parts, err := repository.Partitions(context.Background(), db, k.Table())
		require.NoError(t, err)
		names, def := rangeNames(parts)
		assert.True(t, def, "%s has a DEFAULT partition", k)
		require.Len(t, names, 1+repository.DefaultDailyPartitionsAhead, "%s: today and 7 days ahead", k)
		assert.Equal(t, k.Table()+"_p"+today.Format("20060102"), names[0])
		assert.Equal(t, today, parts[0].From)
		assert.Equal(t, today.AddDate(0, 0, 8), parts[7].To)
	}
	// Migrating again, partitioned or not, changes nothing and fails not.
	require.NoError(t, repository.MigratePartitioned(db, daily))
	require.NoError(t, repository.Migrate(db))
	require.NoError(t, repository.CheckMigrated(db))
	require.NoError(t, repository.CheckPartitioning(db, daily))
	parts, err := repository.Partitions(context.Background(), db, repository.Requests.Table())
	require.NoError(t, err)
	assert.Len(t, parts, 1+1+repository.DefaultDailyPartitionsAhead)

	// A day later, the check creates the one new day ahead.
	created, err := repository.EnsurePartitions(context.Background(), db, daily, time.Now().Add(24*time.Hour))
	require.NoError(t, err)
	assert.Len(t, created, 5, "one new partition per table: %v", created)
}

func TestPartitionedMonthlyAndExternal(t *testing.T) {
	db := openPartitioned(t, repository.Partitioning{Interval: repository.PartitionMonthly})
	parts, err := repository.Partitions(context.Background(), db, "audit_login_events")
	require.NoError(t, err)
	names, def := rangeNames(parts)
	assert.True(t, def)
	now := time.Now().UTC()
	require.Len(t, names, 3)
	assert.Equal(t, "audit_login_events_p"+now.Format("200601"), names[0])

	// External: the partitioned tables only; another tool makes partitions.
	ext := openPartitioned(t, repository.Partitioning{Interval: repository.PartitionDaily, External: true})
	parts, err = repository.Partitions(context.Background(), ext, "audit_request_events")
	require.NoError(t, err)
	assert.Empty(t, parts)
	ok, err := repository.IsPartitioned(context.Background(), ext, repository.Requests)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestPartitionedRowsLandInTheirPartitionAndDefaultCatchesTheRest(t *testing.T) {
	db := openPartitioned(t, daily)
	now := time.Now().UTC()
	b := agedBatch(2, now)
	write(t, db, b)
	old := agedBatch(1, now.AddDate(-1, 0, 0))    // no partition a year ago
	future := agedBatch(1, now.AddDate(0, 0, 30)) // nor a month ahead
	write(t, db, old)
	write(t, db, future)

	got := partitionOf(t, db, "audit_request_events")
	assert.Equal(t, map[string]int64{
		"audit_request_events_p" + now.Format("20060102"): 2,
		"audit_request_events_default":                    2,
	}, got)
	// Steps are dated an hour after their process: they may cross midnight.
	assert.Equal(t, int64(2*2*2+2*2*2), rowsOf(t, db, repository.Registrations, ""))

	// When the day a month ahead gets its partition, its row moves out of
	// the DEFAULT partition.
	_, err := repository.EnsurePartitions(context.Background(), db, daily, now.AddDate(0, 0, 30))
	require.NoError(t, err)
	got = partitionOf(t, db, "audit_request_events")
	assert.Equal(t, int64(1), got["audit_request_events_p"+future.Requests[0].Datetime.Format("20060102")])
	assert.Equal(t, int64(1), got["audit_request_events_default"])
}

func TestPartitionedWriterFreshAndRetryWriteNoDuplicate(t *testing.T) {
	db := openPartitioned(t, daily)
	store := writer.GormStore{DB: db}
	now := time.Now().UTC()
	b := agedBatch(50, now)
	b.Append(agedBatch(5, now.AddDate(0, -2, 0))) // DEFAULT partition too
	ctx := context.Background()
	require.NoError(t, store.WriteBatch(ctx, b)) // fresh COPY
	count := func() []int64 {
		var out []int64
		for _, k := range repository.Kinds() {
			out = append(out, rowsOf(t, db, k, ""))
		}
		return out
	}
	want := []int64{55, 55, 55, 110, 220}
	require.Equal(t, want, count())

	// The same batch again: its COPY meets the rows (unique violation on
	// (id, datetime)) and falls back to the idempotent path.
	require.NoError(t, store.WriteBatch(ctx, b))
	assert.Equal(t, want, count())
	// Half old, half new: the new half is written, the old not twice.
	more := agedBatch(10, now)
	half := &entities.Batch{Requests: append(append([]entities.RequestEvent{}, b.Requests[:10]...), more.Requests...)}
	require.NoError(t, store.WriteBatch(ctx, half))
	assert.Equal(t, int64(65), rowsOf(t, db, repository.Requests, ""))
}

func TestPartitionedRetentionDropsOldPartitionsKeepsNew(t *testing.T) {
	db := openPartitioned(t, daily)
	ctx := context.Background()
	now := time.Now().UTC()
	today := day(now)
	// Partitions for the last ten days, as a trail running for ten days
	// would have made them.
	for i := 10; i >= 1; i-- {
		_, err := repository.EnsurePartitions(ctx, db, repository.Partitioning{Interval: repository.PartitionDaily, Ahead: 1}, now.AddDate(0, 0, -i))
		require.NoError(t, err)
	}
	for i := 0; i <= 9; i++ {
		write(t, db, agedBatch(3, today.AddDate(0, 0, -i).Add(time.Hour)))
	}
	write(t, db, agedBatch(2, now.AddDate(0, -6, 0))) // DEFAULT, older than the limit
	write(t, db, agedBatch(2, now.AddDate(0, 1, 0)))  // DEFAULT, newer
	require.Equal(t, int64(34), rowsOf(t, db, repository.Requests, ""))

	// Keep 3 days: the partitions that end before now-3d go whole; the
	// one holding now-3d stays until its end passes.
	cutoff := now.Add(-3 * 24 * time.Hour)
	res, err := repository.RunRetention(ctx, db, repository.Retention{Requests: 3 * 24 * time.Hour, Logins: 3 * 24 * time.Hour, Processes: 3 * 24 * time.Hour}, now)
	require.NoError(t, err)
	assert.Positive(t, res.Deleted[repository.Requests])

	parts, err := repository.Partitions(ctx, db, "audit_request_events")
	require.NoError(t, err)
	for _, p := range parts {
		if !p.Default {
			assert.True(t, p.To.After(cutoff), "partition %s ends before the cutoff and should be gone", p.Name)
		}
	}
	assert.Equal(t, day(cutoff), parts[0].From, "the partition holding the cutoff is kept")
	for _, k := range repository.Kinds() {
		assert.Zero(t, rowsOf(t, db, k, "datetime < ?", day(cutoff)), "%s: nothing older than the oldest kept partition", k)
	}
	// Newer rows are all there: 3 per day for today..3 days ago, 2 ahead.
	assert.Equal(t, int64(4*3+2), rowsOf(t, db, repository.Requests, ""))
	assert.Equal(t, int64(2), rowsOf(t, db, repository.Requests, "datetime > ?", now.AddDate(0, 0, 20)))
	assert.Equal(t, int64(4*3+2), rowsOf(t, db, repository.Logins, ""))
	assert.Equal(t, int64(4*3+2), rowsOf(t, db, repository.Processes, ""))
	var tables int64
	require.NoError(t, db.Raw(`SELECT count(*) FROM pg_class WHERE relname LIKE 'audit_request_events_p%' AND relkind = 'r'`).Scan(&tables).Error)
	assert.Equal(t, int64(len(parts)-1), tables, "dropped partitions are no tables any more")
}

func TestPartitioningRefusesAnUnpartitionedDatabase(t *testing.T) {
	db := openPlain(t)
	err := repository.MigratePartitioned(db, daily)
	require.Error(t, err)
	assert.True(t, errors.Is(err, repository.ErrNotPartitioned), err)
	assert.Contains(t, err.Error(), "audit partition migrate")
	assert.Contains(t, err.Error(), "audit_request_events")
	err = repository.CheckPartitioning(db, daily)
	assert.True(t, errors.Is(err, repository.ErrNotPartitioned), err)
	ok, err := repository.IsPartitioned(context.Background(), db, repository.Requests)
	require.NoError(t, err)
	assert.False(t, ok, "nothing was converted")
}

func TestPartitioningOnSQLiteIsMigrate(t *testing.T) {
	db, err := repository.Open(testdb.SQLite(t))
	require.NoError(t, err)
	require.NoError(t, repository.MigratePartitioned(db, daily))
	require.NoError(t, repository.CheckMigrated(db))
	require.NoError(t, repository.CheckPartitioning(db, daily))
	ok, err := repository.IsPartitioned(context.Background(), db, repository.Requests)
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestConvertToPartitionedWhileWriting(t *testing.T) {
	db := openPlain(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for i := 0; i < 5; i++ {
		write(t, db, agedBatch(40, now.AddDate(0, 0, -i)))
	}
	write(t, db, agedBatch(3, now.AddDate(0, -4, 0))) // monthly partitions for the history

	// The application goes on writing during the conversion.
	stop := make(chan struct{})
	wrote := make(chan int)
	go func() {
		n := 0
		defer func() { wrote <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if (writer.GormStore{DB: db}).WriteBatch(ctx, agedBatch(5, time.Now())) != nil {
				return
			}
			n += 5
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var copied int64
	res, err := repository.ConvertToPartitioned(ctx, db, repository.ConvertOptions{
		Partitioning: daily, BatchRows: 37, Progress: func(_ repository.Kind, n int64) { copied += n }})
	time.Sleep(50 * time.Millisecond) // some writes after the swap too
	close(stop)
	during := <-wrote
	require.NoError(t, err)
	assert.Positive(t, during)
	assert.GreaterOrEqual(t, res.Copied[repository.Requests], int64(203), "the rows written before the mirror trigger")
	var sum int64
	for _, n := range res.Copied {
		sum += n
	}
	assert.Equal(t, sum, copied, "progress saw every copied row")
	assert.Len(t, res.Kept, 5)

	want := int64(203 + during)
	for _, k := range repository.Kinds() {
		ok, err := repository.IsPartitioned(ctx, db, k)
		require.NoError(t, err)
		assert.True(t, ok, "%s partitioned", k)
	}
	assert.Equal(t, want, rowsOf(t, db, repository.Requests, ""), "every row, none twice")
	var distinct int64
	require.NoError(t, db.Raw("SELECT count(DISTINCT id) FROM audit_request_events").Scan(&distinct).Error)
	assert.Equal(t, want, distinct)
	assert.Equal(t, 4*want, rowsOf(t, db, repository.Registrations, ""))
	got := partitionOf(t, db, "audit_request_events")
	assert.Equal(t, int64(40), got["audit_request_events_p"+now.AddDate(0, 0, -3).Format("20060102")])
	_, hasDefault := got["audit_request_events_default"]
	assert.False(t, hasDefault, "the oldest day has its partition too")

	// The indexes kept their names; the old table is kept aside.
	var idx int64
	require.NoError(t, db.Raw(`SELECT count(*) FROM pg_indexes WHERE tablename = 'audit_request_events' AND indexname IN
		('audit_request_events_pkey', 'idx_audit_request_events_datetime', 'idx_audit_request_events_user', 'idx_audit_request_events_url')`).Scan(&idx).Error)
	assert.Equal(t, int64(4), idx)
	var kept int64
	require.NoError(t, db.Raw("SELECT count(*) FROM audit_request_events_unpartitioned").Scan(&kept).Error)
	assert.GreaterOrEqual(t, kept, int64(203))

	// Now the partitioned trail opens it, and a second conversion does nothing.
	require.NoError(t, repository.MigratePartitioned(db, daily))
	require.NoError(t, repository.CheckMigrated(db))
	res, err = repository.ConvertToPartitioned(ctx, db, repository.ConvertOptions{Partitioning: daily})
	require.NoError(t, err)
	assert.Empty(t, res.Copied)
	write(t, db, agedBatch(1, now))
	assert.Equal(t, want+1, rowsOf(t, db, repository.Requests, ""))
}

func TestConvertToPartitionedStoppedLeavesTheOldTablesAsTheyWere(t *testing.T) {
	db := openPlain(t)
	write(t, db, agedBatch(30, time.Now().AddDate(0, 0, -2)))
	ctx, cancel := context.WithCancel(context.Background())
	_, err := repository.ConvertToPartitioned(ctx, db, repository.ConvertOptions{Partitioning: daily, BatchRows: 10,
		Progress: func(repository.Kind, int64) { cancel() }})
	require.ErrorIs(t, err, context.Canceled)

	var triggers, leftovers int64
	require.NoError(t, db.Raw("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal").Scan(&triggers).Error)
	require.NoError(t, db.Raw("SELECT count(*) FROM pg_class WHERE relname LIKE 'audit_%_new' OR relname LIKE 'audit_%_p2%'").Scan(&leftovers).Error)
	assert.Zero(t, triggers, "no mirror trigger left on the old tables")
	assert.Zero(t, leftovers, "no new table or partition left")
	ok, err := repository.IsPartitioned(context.Background(), db, repository.Requests)
	require.NoError(t, err)
	assert.False(t, ok)
	write(t, db, agedBatch(1, time.Now()))
	assert.Equal(t, int64(31), rowsOf(t, db, repository.Requests, ""))
}
