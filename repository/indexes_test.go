package repository_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// indexesOf lists the indexes of audit_request_events and their
// definitions.
func indexesOf(t *testing.T, db *gorm.DB) map[string]string {
	t.Helper()
	q := "SELECT name, coalesce(sql, '') AS def FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_request_events'"
	if db.Dialector.Name() == "postgres" {
		q = "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'audit_request_events'"
	}
	var rows []struct{ Name, Def string }
	require.NoError(t, db.Raw(q).Scan(&rows).Error)
	out := map[string]string{}
	for _, r := range rows {
		out[r.Name] = r.Def
	}
	return out
}

// The user index holds signed-in users only, and a database migrated by an
// earlier version (with the full user_id index) has it replaced.
func TestMigrateIndexesUsersWhereSet(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		idx := indexesOf(t, db)
		require.Contains(t, idx, "idx_audit_request_events_user")
		require.Contains(t, idx["idx_audit_request_events_user"], "WHERE")
		require.Contains(t, idx["idx_audit_request_events_user"], "<> ''")
		if db.Dialector.Name() == "postgres" { // a user's rows are read newest first in index order
			require.Contains(t, idx["idx_audit_request_events_user"], "(user_id, datetime)")
		}
		require.NotContains(t, idx, "idx_audit_request_events_user_id")

		// As an earlier version left it.
		require.NoError(t, db.Exec("DROP INDEX idx_audit_request_events_user").Error)
		require.NoError(t, db.Exec("CREATE INDEX idx_audit_request_events_user_id ON audit_request_events (user_id)").Error)
		require.NoError(t, repository.Migrate(db))
		idx = indexesOf(t, db)
		require.Contains(t, idx, "idx_audit_request_events_user")
		require.NotContains(t, idx, "idx_audit_request_events_user_id")
	})
}

// sqlRecorder keeps the SQL text of every statement GORM runs, its values
// inlined.
type sqlRecorder struct {
	logger.Interface
	sql []string
}

func (r *sqlRecorder) LogMode(logger.LogLevel) logger.Interface { return r }

func (r *sqlRecorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s, _ := fc()
	r.sql = append(r.sql, s)
}

// The admin's "requests of this user" list is served by the user index:
// its query says the index's predicate. SQLite's plan names the index.
func TestUserFilterUsesTheUserIndex(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	var rows []entities.RequestEvent
	for i := range 200 {
		user := ""
		if i%4 == 0 {
			user = fmt.Sprintf("u%d", i%20)
		}
		rows = append(rows, entities.RequestEvent{ID: entities.NewID(), Datetime: time.Now().UTC(), UserID: user, Method: "GET", URL: "/"})
	}
	require.NoError(t, db.CreateInBatches(rows, 100).Error)

	rec := &sqlRecorder{Interface: logger.Discard}
	page, err := query.ListRequests(context.Background(), db.Session(&gorm.Session{Logger: rec}), query.RequestFilter{UserID: "u0"}, query.ListOptions{Limit: 50})
	require.NoError(t, err)
	require.Len(t, page.Items, 10)
	require.NotEmpty(t, rec.sql)
	var plan []struct{ Detail string }
	require.NoError(t, db.Raw("EXPLAIN QUERY PLAN "+rec.sql[len(rec.sql)-1]).Scan(&plan).Error)
	var details []string
	for _, p := range plan {
		details = append(details, p.Detail)
	}
	require.Contains(t, strings.Join(details, "\n"), "idx_audit_request_events_user", "the plan: %q", details)
}
