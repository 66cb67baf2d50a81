package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/admin"
	"github.com/gin-audit-trail/audit/internal/tcpproxy"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/process"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type healthBody struct {
	Status   string `json:"status"`
	Database string `json:"database"`
	Error    string `json:"error"`
}

// healthWithin asks for api/health and fails the test if no answer comes
// within limit (a bound on a hang, not a speed measurement).
func healthWithin(t *testing.T, h http.Handler, status int, limit time.Duration) healthBody {
	t.Helper()
	got := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/admin/audit/api/health", nil))
		got <- w
	}()
	var w *httptest.ResponseRecorder
	select {
	case w = <-got:
	case <-time.After(limit):
		t.Fatalf("api/health did not answer within %s", limit)
	}
	require.Equal(t, status, w.Code, w.Body.String())
	var b healthBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b), w.Body.String())
	return b
}

// While the audit database hangs (it accepts connections and never
// answers, like a SIGSTOP'd server), api/health answers 503 "unreachable"
// within about a second, for a trail and for a bare database.
func TestHealthDuringDatabaseHang(t *testing.T) {
	dsn := testdb.Postgres(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy, err := tcpproxy.New(u.Host)
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	u.Host = proxy.Addr

	trail, err := audit.Open(audit.Options{DSN: u.String(), WaitForDatabase: true,
		Writer: repository.WriterConfig{Spool: repository.SpoolConfig{Dir: filepath.Join(t.TempDir(), "spool")}}})
	require.NoError(t, err)
	bare, err := repository.Open(u.String())
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = proxy.Restore()
		_ = trail.Close(context.Background())
		if sqlDB, err := bare.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	for name, src := range map[string]admin.Source{"trail": trail, "db": admin.FromDB(bare)} {
		t.Run(name, func(t *testing.T) {
			r := gin.New()
			require.NoError(t, admin.Mount(r.Group("/admin/audit"), src, admin.Config{Public: true}))
			h := healthWithin(t, r, http.StatusOK, 10*time.Second)
			assert.Equal(t, "ok", h.Database)

			proxy.Hang()
			defer func() { require.NoError(t, proxy.Restore()) }()
			for range 2 {
				h = healthWithin(t, r, http.StatusServiceUnavailable, 2*time.Second)
				assert.Equal(t, "unreachable", h.Database)
				assert.Equal(t, "degraded", h.Status)
				assert.NotEmpty(t, h.Error)
			}
		})
	}
}

// A SQLite audit file that can be read but not written (read-only) is a
// write outage: 503 "unwritable", not 200 with database "ok".
func TestHealthReportsReadOnlySQLite(t *testing.T) {
	path := testdb.SQLite(t)
	sqlDB, err := testdb.Open(t, path).DB()
	require.NoError(t, err)
	require.NoError(t, sqlDB.Close()) // migrated, then closed

	trail, err := audit.Open(audit.Options{
		DSN:           "file:" + path + "?mode=ro",
		SkipMigration: true,
		Synchronous:   true,
		Writer:        repository.WriterConfig{Spool: repository.SpoolConfig{Dir: filepath.Join(t.TempDir(), "spool")}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	r := gin.New()
	require.NoError(t, admin.Mount(r.Group("/admin/audit"), trail, admin.Config{Public: true}))
	assert.Equal(t, "ok", healthWithin(t, r, http.StatusOK, 10*time.Second).Database, "nothing written yet")

	run := trail.StartProcess(process.Definition{Name: "nightly import"}, "job")
	require.NoError(t, run.End(context.Background()), "the spool takes what the database refuses")
	require.EqualValues(t, 1, trail.Stats().Spooled)

	h := healthWithin(t, r, http.StatusServiceUnavailable, 10*time.Second)
	assert.Equal(t, "unwritable", h.Database)
	assert.Equal(t, "degraded", h.Status)
	assert.Contains(t, h.Error, "readonly")
}
