package audit_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-gonic/gin"
)

// benchRouter is the trivial JSON handler of every middleware benchmark;
// mw is nil for bare Gin.
func benchRouter(mw gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	if mw != nil {
		r.Use(mw)
	}
	r.GET("/api/ping/", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/health", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	return r
}

func serve(b *testing.B, r *gin.Engine, path string) {
	req := httptest.NewRequest("GET", path, nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := httptest.NewRecorder()
		for pb.Next() {
			w.Body.Reset()
			r.ServeHTTP(w, req)
		}
	})
}

func benchTrail(b *testing.B, dsn string, opts audit.Options) *audit.Trail {
	opts.DSN = dsn
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Writer.QueueSize = 1 << 20 // measure the request path, not writer backpressure
	opts.Writer.MaxQueueBytes = 4 << 30
	t, err := audit.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = t.Close(context.Background())
		st := t.Stats()
		b.ReportMetric(float64(st.Dropped), "dropped")
	})
	return t
}

// BenchmarkMiddleware compares, in one run, bare Gin with the audited
// router on the same handler. The async variants' ns/op include the
// background writer's CPU, which shares the machine's cores with the
// requests: it is the whole cost of auditing a request. Run:
//
//	go test -run '^$' -bench Middleware -benchmem -count 6 . | tee bench.txt
func BenchmarkMiddleware(b *testing.B) {
	b.Run("bare-gin", func(b *testing.B) { serve(b, benchRouter(nil), "/api/ping/") })
	b.Run("audited-unmatched-path", func(b *testing.B) {
		t := benchTrail(b, testdb.SQLite(b), audit.Options{})
		serve(b, benchRouter(t.Middleware()), "/health")
	})
	b.Run("audited-async-sqlite", func(b *testing.B) {
		t := benchTrail(b, testdb.SQLite(b), audit.Options{})
		serve(b, benchRouter(t.Middleware()), "/api/ping/")
	})
	b.Run("audited-async-postgres", func(b *testing.B) {
		t := benchTrail(b, testdb.Postgres(b), audit.Options{})
		serve(b, benchRouter(t.Middleware()), "/api/ping/")
	})
	b.Run("audited-sync-sqlite", func(b *testing.B) {
		t := benchTrail(b, testdb.SQLite(b), audit.Options{Synchronous: true})
		serve(b, benchRouter(t.Middleware()), "/api/ping/")
	})
}
