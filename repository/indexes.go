package repository

import (
	"fmt"

	"gorm.io/gorm"
)

// The index budget of audit_request_events, the table written once per
// audited request: every index is one more b-tree insert per row, so it
// keeps only the indexes that earn their place (docs/PERFORMANCE.md,
// "Index budget"): the primary key, datetime (every list is read newest
// first, and time ranges), user_id where it is not empty (the audit's
// main question; with the datetime on PostgreSQL), (status_code, datetime) and (method,
// datetime) for the filtered lists, and the url prefix index. The
// single-column status_code and method indexes were redundant with the
// composite ones; the IP filter reads the table (add a time range).

// listIndexes serve the admin's lists, which filter on a column and sort by
// datetime: with (column, datetime) the first page is read in index order
// instead of sorting every matching row.
var listIndexes = []struct{ name, columns string }{
	{"idx_audit_request_events_method_datetime", "audit_request_events (method, datetime)"},
	{"idx_audit_request_events_status_datetime", "audit_request_events (status_code, datetime)"},
	{"idx_audit_login_events_status_datetime", "audit_login_events (status, datetime)"},
}

// userIndex serves "what did this user do": one user's request events,
// newest first. It holds only the rows where user_id is not empty, so
// anonymous requests (often most of a public API's traffic) cost the
// writer no entry in it. A query uses it when its WHERE clause repeats the
// index's condition beside the user filter, as internal/query's does
// (SQLite and PostgreSQL use a partial index only when the query implies
// its predicate).
const userIndex = "idx_audit_request_events_user"

// retiredIndexes were created by earlier versions on audit_request_events
// and cost the writer more than they give the admin's queries: Migrate
// drops them (after creating the others, so that the user index that
// replaces idx_audit_request_events_user_id serves queries throughout).
var retiredIndexes = []string{
	"idx_audit_request_events_user_id",
	"idx_audit_request_events_ip_address",
	"idx_audit_request_events_method",
	"idx_audit_request_events_status_code",
}

// migrateIndexes creates the url prefix index, the user index and
// listIndexes, and drops retiredIndexes (idempotent). Migrate calls it.
func migrateIndexes(db *gorm.DB) error {
	// The url is up to 2048 characters, more than a PostgreSQL b-tree entry
	// may hold, so it is indexed by its first 255 characters, with the
	// operator class that serves LIKE 'prefix%' whatever the collation.
	idx := `CREATE INDEX IF NOT EXISTS idx_audit_request_events_url ON audit_request_events (url)`
	if db.Dialector.Name() == "postgres" {
		idx = `CREATE INDEX IF NOT EXISTS idx_audit_request_events_url ON audit_request_events ((left(url, 255)) text_pattern_ops)`
	}
	if err := db.Exec(idx).Error; err != nil {
		return fmt.Errorf("audit: create url index: %w", err)
	}
	// On PostgreSQL the user index also holds the datetime (8 bytes), so a
	// user's requests are read newest first in index order; on SQLite the
	// datetime is 35 bytes of text, which made signed-in rows about 25%
	// slower to write (BenchmarkIndexCost), so the user's rows are sorted.
	user := "CREATE INDEX IF NOT EXISTS " + userIndex + " ON audit_request_events (user_id) WHERE user_id <> ''"
	if db.Dialector.Name() == "postgres" {
		user = "CREATE INDEX IF NOT EXISTS " + userIndex + " ON audit_request_events (user_id, datetime) WHERE user_id <> ''"
	}
	if err := db.Exec(user).Error; err != nil {
		return fmt.Errorf("audit: create index %s: %w", userIndex, err)
	}
	for _, ix := range listIndexes {
		if err := db.Exec("CREATE INDEX IF NOT EXISTS " + ix.name + " ON " + ix.columns).Error; err != nil {
			return fmt.Errorf("audit: create index %s: %w", ix.name, err)
		}
	}
	for _, name := range retiredIndexes {
		if err := db.Exec("DROP INDEX IF EXISTS " + name).Error; err != nil {
			return fmt.Errorf("audit: drop index %s: %w", name, err)
		}
	}
	return nil
}
