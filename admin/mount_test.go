package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/admin"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/process"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMountRefusesWithoutAuthorize(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	r := gin.New()
	err := admin.Mount(r.Group("/admin/audit"), admin.FromDB(db), admin.Config{})
	require.ErrorIs(t, err, admin.ErrNoAuthorization)
	assert.Contains(t, err.Error(), "Config.Authorize")
	assert.Empty(t, r.Routes(), "nothing mounted")

	assert.Error(t, admin.Mount(nil, admin.FromDB(db), admin.Config{Public: true}))
	assert.Error(t, admin.Mount(r.Group("/x"), nil, admin.Config{Public: true}))
	assert.Error(t, admin.Mount(r.Group("/x"), admin.FromDB(nil), admin.Config{Public: true}))

	// Public is an explicit opt-in.
	require.NoError(t, admin.Mount(r.Group("/public"), admin.FromDB(db), admin.Config{Public: true}))
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/public/api/requests", nil))
	assert.Equal(t, http.StatusOK, w.Code)
}

func TestAccessRefusedWithoutAuthorization(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	fx := seed(t, db)
	h := server(t, db)
	paths := []string{
		"/admin/audit/", "/admin/audit/requests", "/admin/audit/requests/" + fx.requests[0].ID.String(),
		"/admin/audit/logins", "/admin/audit/processes", "/admin/audit/processes/" + fx.process.ID.String(),
		"/admin/audit/endpoints", "/admin/audit/static/admin.css",
		"/admin/audit/api/requests", "/admin/audit/api/requests/" + fx.requests[0].ID.String(),
		"/admin/audit/api/logins", "/admin/audit/api/processes", "/admin/audit/api/processes/" + fx.process.ID.String(),
		"/admin/audit/api/endpoints", "/admin/audit/api/health",
		"/admin/audit/reports/requests.pdf", "/admin/audit/reports/logins.pdf",
		"/admin/audit/reports/processes.pdf", "/admin/audit/reports/endpoints.pdf",
	}
	for _, p := range paths {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		assert.Equal(t, http.StatusForbidden, w.Code, p)
		assert.NotContains(t, w.Body.String(), "Caneta", p)

		allowed := get(t, h, p)
		assert.Less(t, allowed.Code, 400, p)
	}
	// Read-only: no route accepts a write.
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req := httptest.NewRequest(m, "/admin/audit/api/requests/"+fx.requests[0].ID.String(), nil)
		req.Header.Set("X-Admin", "yes")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		assert.Equal(t, http.StatusNotFound, w.Code, m)
	}
}

func TestHealthShowsTrailCounters(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		trail, err := audit.Open(audit.Options{DSN: dsn, Synchronous: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = trail.Close(context.Background()) })
		r := gin.New()
		r.Use(trail.Middleware())
		r.GET("/api/ping/", func(c *gin.Context) { c.String(200, "pong") })
		require.NoError(t, admin.Mount(r.Group("/admin/audit"), trail, admin.Config{
			Authorize: admin.Allow(func(c *gin.Context) bool { return c.GetHeader("X-Admin") == "yes" }),
		}))
		for range 3 {
			r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/ping/", nil))
		}
		type health struct {
			Status   string `json:"status"`
			Database string `json:"database"`
			Writer   *struct {
				Accepted int64 `json:"accepted"`
				Written  int64 `json:"written"`
				Dropped  int64 `json:"dropped"`
			} `json:"writer"`
		}
		h := getJSON[health](t, r, "/admin/audit/api/health", http.StatusOK)
		assert.Equal(t, "ok", h.Status)
		assert.Equal(t, "ok", h.Database)
		require.NotNil(t, h.Writer)
		assert.EqualValues(t, 3, h.Writer.Written)

		page := getJSON[requestPage](t, r, "/admin/audit/api/requests?url=/api/ping/", http.StatusOK)
		assert.Len(t, page.Items, 3)
	})
}

func TestAllowLetsThroughOnlyWhatThePredicateAccepts(t *testing.T) {
	r := gin.New()
	r.GET("/", admin.Allow(func(c *gin.Context) bool { return c.GetHeader("X-Role") == "auditor" }),
		func(c *gin.Context) { c.String(200, "secret") })
	for role, want := range map[string]int{"": http.StatusForbidden, "guest": http.StatusForbidden, "auditor": http.StatusOK} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("X-Role", role)
		r.ServeHTTP(w, req)
		assert.Equal(t, want, w.Code, "role %q", role)
		assert.Equal(t, want == http.StatusOK, strings.Contains(w.Body.String(), "secret"), "role %q", role)
	}
}

func TestHealthWarnsOfPastLossesWithoutStayingDegraded(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	trail, err := audit.Open(audit.Options{DB: db})
	require.NoError(t, err)
	require.NoError(t, trail.Close(context.Background()))
	// A row offered after Close is refused and counted as dropped.
	late := trail.StartProcess(process.Definition{Name: "late job"}, "job")
	require.Error(t, late.End(context.Background()))

	r := gin.New()
	require.NoError(t, admin.Mount(r.Group("/admin/audit"), trail, admin.Config{Public: true}))
	type health struct {
		Status   string   `json:"status"`
		Warnings []string `json:"warnings"`
	}
	h := getJSON[health](t, r, "/admin/audit/api/health", http.StatusOK)
	assert.Equal(t, "ok", h.Status, "the database answers and nothing waits in the spool")
	assert.Equal(t, []string{"1 rows dropped since start"}, h.Warnings)
}
