package audit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SkipMigration on a database that nobody migrated fails at Open, naming
// the missing tables, instead of spooling every batch; once migrated, the
// same options open and write.
func TestSkipMigrationWithoutTablesFailsAtOpen(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		_, err := audit.Open(audit.Options{DSN: dsn, SkipMigration: true})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "audit_request_events")
		assert.Contains(t, err.Error(), "repository.Migrate")

		db := testdb.Open(t, dsn) // migrates, as a deploy step would
		trail, err := audit.Open(audit.Options{DB: db, SkipMigration: true, Synchronous: true})
		require.NoError(t, err)
		r := gin.New()
		r.Use(trail.Middleware())
		r.GET("/api/ping/", func(c *gin.Context) { c.String(http.StatusOK, "pong") })
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/ping/", nil))
		require.NoError(t, trail.Close(context.Background()))
		var n int64
		require.NoError(t, db.Model(&entities.RequestEvent{}).Count(&n).Error)
		assert.Equal(t, int64(1), n)
	})
}

// The trail of audit.New has no handle to close: it drains when
// Options.Context ends and reports on Options.Closed. The flush interval is
// an hour, so only the drain can have written the rows.
func TestNewDrainsWhenItsContextEnds(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		closed := make(chan error, 1)
		r := gin.New()
		r.Use(audit.New(audit.Options{DSN: dsn, Context: ctx, Closed: closed,
			Writer: repository.WriterConfig{FlushInterval: time.Hour}}))
		r.GET("/api/ping/", func(c *gin.Context) { c.String(http.StatusOK, "pong") })
		for range 5 {
			r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/ping/", nil))
		}
		db := testdb.Open(t, dsn)
		var n int64
		require.NoError(t, db.Model(&entities.RequestEvent{}).Count(&n).Error)
		require.Zero(t, n, "nothing is written before the hour-long flush interval or the drain")

		cancel()
		select {
		case err := <-closed:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("the end of Options.Context did not close the trail")
		}
		require.NoError(t, db.Model(&entities.RequestEvent{}).Count(&n).Error)
		assert.Equal(t, int64(5), n, "every accepted event was written by the drain")
	})
}

// Close before the end of Options.Context: the context's end then has
// nothing to do, and Closed receives nothing.
func TestCloseBeforeTheContextEndsClosesOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	closed := make(chan error, 1)
	trail, err := audit.Open(audit.Options{DSN: testdb.SQLite(t), Context: ctx, Closed: closed})
	require.NoError(t, err)
	require.NoError(t, trail.Close(context.Background()))
	cancel()
	select {
	case err := <-closed:
		t.Fatalf("a second close ran at the context's end: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
}

// A negative MaxBodyBytes stores no bodies; the application still reads
// and answers the whole body.
func TestNegativeMaxBodyBytesStoresNoBodies(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{MaxBodyBytes: -1}, true)
	body := `{"name":"Caneta","code":"C-1","price":2.5}`
	req := httptest.NewRequest(http.MethodPost, "/api/echo/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := h.do(req)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, body, w.Body.String())
	row := h.only()
	assert.Empty(t, row.RequestBody)
	assert.Empty(t, row.ResponseBody)
	assert.Equal(t, http.StatusOK, row.StatusCode)
}

// request_type is the scheme of the connection that reached the
// application: https over TLS, http otherwise.
func TestRequestTypeIsHTTPSOverTLS(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{}, true)
	tlsSrv := httptest.NewTLSServer(h.router)
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(h.router)
	defer plainSrv.Close()
	for _, get := range []func() (*http.Response, error){
		func() (*http.Response, error) { return tlsSrv.Client().Get(tlsSrv.URL + "/api/ping/?over=tls") },
		func() (*http.Response, error) { return plainSrv.Client().Get(plainSrv.URL + "/api/ping/?over=tcp") },
	} {
		res, err := get()
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	rows := h.rows()
	require.Len(t, rows, 2)
	byQuery := map[string]string{}
	for _, r := range rows {
		byQuery[r.QueryParams] = r.RequestType
	}
	assert.Equal(t, map[string]string{"over=tls": "https", "over=tcp": "http"}, byQuery)
}
