package repository

import (
	"fmt"

	"gorm.io/gorm"
)

// listIndexes serve the admin's lists, which filter on a column and sort by
// datetime: with (column, datetime) the first page is read in index order
// instead of sorting every matching row. Only the low-cardinality columns
// need them: a user's or an IP's rows are few enough to sort.
var listIndexes = []struct{ name, columns string }{
	{"idx_audit_request_events_method_datetime", "audit_request_events (method, datetime)"},
	{"idx_audit_request_events_status_datetime", "audit_request_events (status_code, datetime)"},
	{"idx_audit_login_events_status_datetime", "audit_login_events (status, datetime)"},
}

// migrateListIndexes creates listIndexes (idempotent). Migrate calls it.
func migrateListIndexes(db *gorm.DB) error {
	for _, ix := range listIndexes {
		if err := db.Exec("CREATE INDEX IF NOT EXISTS " + ix.name + " ON " + ix.columns).Error; err != nil {
			return fmt.Errorf("audit: create index %s: %w", ix.name, err)
		}
	}
	return nil
}
