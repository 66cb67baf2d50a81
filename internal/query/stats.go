package query

import (
	"context"
	"fmt"
	"github.com/gin-audit-trail/audit/repository"
	"os"
	"time"

	"gorm.io/gorm"
)

// TableStat describes one audit table.
type TableStat struct {
	Kind  repository.Kind `json:"kind"`
	Table string          `json:"table"`
	// Rows is the exact row count.
	Rows int64 `json:"rows"`
	// Oldest and Newest are the first and last datetime, zero when the
	// table is empty.
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
	// Bytes is the table's size on disk with its indexes (and its
	// partitions, when partitioned), -1 where the
	// database does not say (SQLite: see DatabaseBytes).
	Bytes int64 `json:"bytes"`
}

// TableStats describes the five audit tables of db. Counting is exact, so
// it reads every row's index entry: seconds on a table of tens of millions
// of rows.
func TableStats(ctx context.Context, db *gorm.DB) ([]TableStat, error) {
	db = db.WithContext(ctx)
	pg := db.Dialector.Name() == "postgres"
	out := make([]TableStat, 0, 5)
	for _, k := range repository.Kinds() {
		st := TableStat{Kind: k, Table: k.Table(), Bytes: -1}
		if err := db.Raw("SELECT count(*) FROM " + st.Table).Scan(&st.Rows).Error; err != nil {
			return nil, fmt.Errorf("audit: count %s: %w", st.Table, err)
		}
		// ORDER BY ... LIMIT 1 reads one index entry and, unlike min(),
		// keeps the column's type on SQLite.
		var first, last []time.Time
		if err := db.Raw("SELECT datetime FROM " + st.Table + " ORDER BY datetime LIMIT 1").Scan(&first).Error; err != nil {
			return nil, fmt.Errorf("audit: oldest of %s: %w", st.Table, err)
		}
		if err := db.Raw("SELECT datetime FROM " + st.Table + " ORDER BY datetime DESC LIMIT 1").Scan(&last).Error; err != nil {
			return nil, fmt.Errorf("audit: newest of %s: %w", st.Table, err)
		}
		if len(first) > 0 {
			st.Oldest, st.Newest = first[0].UTC(), last[0].UTC()
		}
		if pg {
			if err := db.Raw("SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree(?::regclass)", st.Table).Scan(&st.Bytes).Error; err != nil {
				return nil, fmt.Errorf("audit: size of %s: %w", st.Table, err)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// DatabaseBytes is the audit database's size on disk: the SQLite file with
// its write-ahead log, or the PostgreSQL database (which may hold more
// than the audit tables).
func DatabaseBytes(ctx context.Context, db *gorm.DB) (int64, error) {
	if db.Dialector.Name() == "postgres" {
		var n int64
		err := db.WithContext(ctx).Raw("SELECT pg_database_size(current_database())").Scan(&n).Error
		return n, err
	}
	path := repository.TargetOf(db).Path
	if path == "" {
		return 0, nil
	}
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err == nil {
			total += fi.Size()
		} else if !os.IsNotExist(err) {
			return 0, err
		}
	}
	return total, nil
}
