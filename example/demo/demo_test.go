package demo_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/require"
)

// The README's `AUDIT_DSN=postgres://postgres@127.0.0.1:5432/audit go run
// ./example` runs on a server where that database does not exist yet: the
// demo creates it, and audits into it.
func TestDemoCreatesItsPostgresAuditDatabase(t *testing.T) {
	dsn := testdb.MissingPostgres(t)
	app := newAdminDemo(t, dsn)

	w := serve(app, httptest.NewRequest(http.MethodGet, "/api/ping/", nil))
	require.Equal(t, http.StatusOK, w.Code)

	db := testdb.Open(t, dsn)
	var rows []entities.RequestEvent
	require.NoError(t, db.Where("url = ?", "/api/ping/").Find(&rows).Error)
	require.Len(t, rows, 1, "the request is audited in the database the demo created")
	require.Equal(t, 200, rows[0].StatusCode)

	// A second start finds the database and keeps its rows.
	again := newAdminDemo(t, dsn)
	w = serve(again, httptest.NewRequest(http.MethodGet, "/api/ping/", nil))
	require.Equal(t, http.StatusOK, w.Code)
	var n int64
	require.NoError(t, db.Model(&entities.RequestEvent{}).Where("url = ?", "/api/ping/").Count(&n).Error)
	require.Equal(t, int64(2), n)
}
