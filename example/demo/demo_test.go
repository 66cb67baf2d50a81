package demo_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
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

// The demo keeps its products and users in its own database and the trail
// writes only into the audit database: after a login, a product created
// (a process) and a ping, each database holds only its own tables.
func TestAuditDatabaseIsSeparateFromTheApplications(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		app := newAdminDemo(t, dsn)
		w := serve(app, httptest.NewRequest(http.MethodPost, "/api/token/", strings.NewReader(`{"username":"admin","password":"admin"}`)))
		require.Equal(t, http.StatusOK, w.Code)
		var tok struct {
			Token string `json:"token"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &tok))
		req := httptest.NewRequest(http.MethodPost, "/api/product/", strings.NewReader(`{"name":"Caneta","code":"C-1","price":2.5,"quantity":10}`))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Content-Type", "application/json")
		require.Equal(t, http.StatusCreated, serve(app, req).Code)
		require.Equal(t, http.StatusOK, serve(app, httptest.NewRequest(http.MethodGet, "/api/ping/", nil)).Code)

		appTables, err := app.DB.Migrator().GetTables()
		require.NoError(t, err)
		require.Contains(t, appTables, "products")
		for _, name := range appTables {
			require.False(t, strings.HasPrefix(name, "audit_"), "audit table %s in the application's database", name)
		}

		auditDB := testdb.Open(t, dsn)
		auditTables, err := auditDB.Migrator().GetTables()
		require.NoError(t, err)
		for _, name := range appTables {
			require.NotContains(t, auditTables, name, "application table in the audit database")
		}
		for table, min := range map[string]int64{"audit_request_events": 3, "audit_login_events": 1, "audit_process_events": 1} {
			var n int64
			require.NoError(t, auditDB.Table(table).Count(&n).Error)
			require.GreaterOrEqual(t, n, min, table)
		}
	})
}
