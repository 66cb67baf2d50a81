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
	"github.com/gin-audit-trail/audit/process"
	"github.com/gin-gonic/gin"
)

// procBenchRouter serves POST /api/product/ on an audited router; with
// run true the handler also runs the "Criar produto" process (two steps,
// three successful registrations), with extra JSON on each registration
// when extra is true.
func procBenchRouter(b *testing.B, opts audit.Options, run, extra bool) *gin.Engine {
	opts.DSN = testdb.SQLite(b)
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Writer.QueueSize = 1 << 20 // measure the request path, not writer backpressure
	opts.Writer.MaxQueueBytes = 4 << 30
	trail, err := audit.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = trail.Close(context.Background())
		b.ReportMetric(float64(trail.Stats().Dropped), "dropped")
	})
	var opt []process.Option
	r := gin.New()
	r.Use(trail.Middleware())
	r.POST("/api/product/", func(c *gin.Context) {
		if run {
			p := audit.From(c).StartProcess(procCreateProduct)
			c.Header("X-Audit-Process-Id", p.ID().String())
			if extra {
				opt = []process.Option{process.Extra(gin.H{"code": "A1", "fields": 4})}
			}
			v := p.Step(1)
			v.Succeed("Codigo do produto validados com sucesso", opt...)
			v.Succeed("Dados de criação validados com sucesso", opt...)
			p.Step(2).Succeed("Salvar no banco de dados", opt...)
		}
		audit.From(c).SetUser("42")
		c.JSON(http.StatusCreated, gin.H{"id": 1, "code": "A1"})
	})
	return r
}

func procBenchServe(b *testing.B, r *gin.Engine) {
	req := httptest.NewRequest("POST", "/api/product/", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.Body.Reset()
		r.ServeHTTP(w, req)
	}
}

// BenchmarkProcessAuditing shows what running a process adds to an
// audited request: the same handler without and with the "Criar produto"
// process (1 process, 2 steps, 3 registrations written in the request's
// batch). Requests are served one at a time, so the background writer has
// the other cores; allocs/op counts the writer's allocations too. Run:
//
//	go test -run '^$' -bench ProcessAuditing -benchmem -count 6 . | tee process-bench.txt
func BenchmarkProcessAuditing(b *testing.B) {
	b.Run("async/no-process", func(b *testing.B) { procBenchServe(b, procBenchRouter(b, audit.Options{}, false, false)) })
	b.Run("async/process", func(b *testing.B) { procBenchServe(b, procBenchRouter(b, audit.Options{}, true, false)) })
	b.Run("async/process+extra", func(b *testing.B) { procBenchServe(b, procBenchRouter(b, audit.Options{}, true, true)) })
	sync := audit.Options{Synchronous: true}
	b.Run("sync/no-process", func(b *testing.B) { procBenchServe(b, procBenchRouter(b, sync, false, false)) })
	b.Run("sync/process", func(b *testing.B) { procBenchServe(b, procBenchRouter(b, sync, true, false)) })
}
