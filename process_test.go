package audit_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/process"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

var procCreateProduct = process.Definition{
	Name: "Criar produto",
	Steps: []process.StepDefinition{
		{Name: "Validação dos Dados", Order: 1, Expected: 2},
		{Name: "Salvar no banco de dados", Order: 2},
	},
}

// procEnv is an audited router whose routes run processes, on a real audit
// database, with a synchronous trail so rows are committed when a request
// returns.
type procEnv struct {
	t      *testing.T
	trail  *audit.Trail
	router *gin.Engine
	db     *gorm.DB
}

func newProcEnv(t *testing.T, dsn string, routes func(r *gin.Engine)) *procEnv {
	t.Helper()
	trail, err := audit.Open(audit.Options{DSN: dsn, Synchronous: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	r := gin.New()
	r.Use(gin.RecoveryWithWriter(io.Discard), trail.Middleware())
	routes(r)
	return &procEnv{t: t, trail: trail, router: r, db: testdb.Open(t, dsn)}
}

func (e *procEnv) call(method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func (e *procEnv) process(id string) *entities.ProcessDetail {
	e.t.Helper()
	pid, err := entities.ParseID(id)
	require.NoError(e.t, err)
	p, err := query.LoadProcess(context.Background(), e.db, pid)
	require.NoError(e.t, err)
	return p
}

func (e *procEnv) request(id entities.ID) entities.RequestEvent {
	e.t.Helper()
	var r entities.RequestEvent
	require.NoError(e.t, e.db.First(&r, "id = ?", id).Error)
	return r
}

func (e *procEnv) count(model any) int64 {
	e.t.Helper()
	var n int64
	require.NoError(e.t, e.db.Model(model).Count(&n).Error)
	return n
}

func TestProcessIsWrittenWithItsRequestAndUser(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		env := newProcEnv(t, dsn, func(r *gin.Engine) {
			r.POST("/api/product/", func(c *gin.Context) {
				run := audit.From(c).StartProcess(procCreateProduct)
				c.Header("X-Audit-Process-Id", run.ID().String())
				run.Step(1).Succeed("Codigo do produto validados com sucesso")
				run.Step(1).Succeed("Dados de criação validados com sucesso", process.Extra(map[string]string{"password": "hunter2", "code": "A1"}))
				run.Step(2).Succeed("Salvar no banco de dados")
				audit.From(c).SetUser("user-7") // known only late in the request
				c.JSON(http.StatusCreated, gin.H{"id": 1})
			})
		})
		w := env.call("POST", "/api/product/")
		require.Equal(t, http.StatusCreated, w.Code)

		p := env.process(w.Header().Get("X-Audit-Process-Id"))
		require.Equal(t, "Criar produto", p.Process.Name)
		require.Equal(t, "user-7", p.Process.CreatedBy)
		require.NotNil(t, p.Process.RequestID)
		req := env.request(*p.Process.RequestID)
		require.Equal(t, "/api/product/", req.URL)
		require.Equal(t, "user-7", req.UserID)
		require.Equal(t, entities.OutcomeSuccess, p.Outcome())
		require.Len(t, p.Steps, 2)
		require.Equal(t, "Validação dos Dados", p.Steps[0].Step.Name, "accents survive storage")
		require.Equal(t, 2, p.Steps[0].Step.TotalRegistrations)
		regs := 0
		for _, s := range p.Steps {
			require.Equal(t, "user-7", s.Step.CreatedBy)
			require.Equal(t, entities.OutcomeSuccess, s.Outcome())
			for _, r := range s.Registrations {
				require.True(t, r.Success)
				require.Equal(t, "user-7", r.CreatedBy)
				regs++
			}
		}
		require.Equal(t, 3, regs)
		extra := p.Steps[0].Registrations[1].ExtraInformations
		require.NotContains(t, extra, "hunter2", "secrets in extra JSON are masked")
		require.Contains(t, extra, `"code":"A1"`)
		require.Equal(t, int64(1), env.count(&entities.ProcessEvent{}))
		require.Equal(t, int64(3), env.count(&entities.RegistrationEvent{}))
	})
}

func TestPanicHalfWayStoresWhatWasRegistered(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		var pid entities.ID
		env := newProcEnv(t, dsn, func(r *gin.Engine) {
			r.POST("/api/product/", func(c *gin.Context) {
				run := audit.From(c).StartProcess(procCreateProduct)
				pid = run.ID()
				run.Step(1).Succeed("Codigo do produto validados com sucesso")
				run.Step(1).Succeed("Dados de criação validados com sucesso")
				panic("database driver exploded")
			})
		})
		require.Equal(t, http.StatusInternalServerError, env.call("POST", "/api/product/").Code)

		p := env.process(pid.String())
		require.Equal(t, entities.OutcomeSuccess, p.Steps[0].Outcome())
		require.Equal(t, entities.OutcomePending, p.Steps[1].Outcome(), "the save was never registered")
		require.Equal(t, 1, p.Steps[1].Missing())
		require.Equal(t, entities.OutcomePending, p.Outcome())
		req := env.request(*p.Process.RequestID)
		require.Equal(t, http.StatusInternalServerError, req.StatusCode)
		require.Equal(t, "panic: string", req.ErrorType)
		require.Equal(t, "database driver exploded", req.ErrorMessage)
	})
}

func TestConcurrentRegistrationsInOneRequest(t *testing.T) {
	const workers, each = 20, 25
	def := process.Definition{Name: "Importar", Steps: []process.StepDefinition{
		{Name: "Linhas", Expected: workers * each}, {Name: "Resumo"},
	}}
	testdb.Run(t, func(t *testing.T, dsn string) {
		var pid entities.ID
		env := newProcEnv(t, dsn, func(r *gin.Engine) {
			r.POST("/api/import/", func(c *gin.Context) {
				run := audit.From(c).StartProcess(def)
				pid = run.ID()
				var wg sync.WaitGroup
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range each {
							if (w+i)%7 == 0 {
								run.Step(1).Succeed("linha", process.Description("ok"))
							} else {
								run.StepNamed("Linhas").Succeed("linha")
							}
						}
					}()
				}
				wg.Wait()
				run.Step(2).Succeed("resumo")
				c.Status(http.StatusNoContent)
			})
		})
		require.Equal(t, http.StatusNoContent, env.call("POST", "/api/import/").Code)
		p := env.process(pid.String())
		require.Len(t, p.Steps[0].Registrations, workers*each)
		require.Equal(t, entities.OutcomeSuccess, p.Outcome())
	})
}

func TestBackgroundJobProcess(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		env := newProcEnv(t, dsn, func(*gin.Engine) {})
		job := process.Definition{Name: "Reindexar catálogo", Steps: []process.StepDefinition{{Name: "Ler"}, {Name: "Gravar"}}}

		run := env.trail.StartProcess(job, "cron-42")
		ctx := process.NewContext(context.Background(), run)
		process.FromContext(ctx).Step(1).Succeed("lido")
		process.FromContext(ctx).Step(2).Fail("Gravar", "disk full")
		require.Zero(t, env.count(&entities.ProcessEvent{}), "nothing is written before End")
		require.NoError(t, run.End(ctx))

		p := env.process(run.ID().String())
		require.Nil(t, p.Process.RequestID)
		require.Equal(t, "cron-42", p.Process.CreatedBy)
		require.Equal(t, "Reindexar catálogo", p.Process.Name)
		require.Equal(t, "cron-42", p.Steps[1].Registrations[0].CreatedBy)
		require.Equal(t, entities.OutcomeFailed, p.Outcome())
		require.Zero(t, env.count(&entities.RequestEvent{}))

		got, err := query.CountProcesses(context.Background(), env.db, query.ProcessFilter{Background: true, CreatedBy: "cron-42"})
		require.NoError(t, err)
		require.Equal(t, int64(1), got)
	})
}

func TestRegistrationsAfterTheRequestEndedNeedEnd(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		runs := make(chan *process.Run, 1)
		env := newProcEnv(t, dsn, func(r *gin.Engine) {
			r.POST("/api/async/", func(c *gin.Context) {
				audit.From(c).SetUser("user-9")
				run := audit.From(c).StartProcess(procCreateProduct)
				run.Step(1).Succeed("Codigo do produto validados com sucesso")
				runs <- run // finished by a goroutine that outlives the request
				c.Status(http.StatusAccepted)
			})
		})
		require.Equal(t, http.StatusAccepted, env.call("POST", "/api/async/").Code)
		run := <-runs
		run.Step(1).Succeed("Dados de criação validados com sucesso")
		run.Step(2).Succeed("Salvar no banco de dados")
		require.NoError(t, run.End(context.Background()))

		p := env.process(run.ID().String())
		require.Equal(t, entities.OutcomeSuccess, p.Outcome())
		require.Equal(t, "user-9", p.Steps[1].Registrations[0].CreatedBy, "late rows keep the request's user")
		require.Equal(t, int64(3), env.count(&entities.RegistrationEvent{}))
	})
}

func TestEndDuringTheRequestJoinsItsBatch(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		var pid entities.ID
		env := newProcEnv(t, dsn, func(r *gin.Engine) {
			r.POST("/api/product/", func(c *gin.Context) {
				run := audit.From(c).StartProcess(procCreateProduct)
				pid = run.ID()
				run.Step(1).Succeed("a")
				require.NoError(t, run.End(c))
				run.Step(1).Succeed("b") // after End, still in the request
				audit.From(c).SetUser("user-3")
				c.Status(http.StatusCreated)
			})
		})
		require.Equal(t, http.StatusCreated, env.call("POST", "/api/product/").Code)
		p := env.process(pid.String())
		require.Len(t, p.Steps[0].Registrations, 2)
		for _, r := range p.Steps[0].Registrations {
			require.Equal(t, "user-3", r.CreatedBy)
		}
		require.Equal(t, "user-3", p.Process.CreatedBy)
	})
}

func TestProcessOfAnUnauditedRequestIsNotStored(t *testing.T) {
	env := newProcEnv(t, testdb.SQLite(t), func(r *gin.Engine) {
		r.POST("/internal/job/", func(c *gin.Context) {
			run := audit.From(c).StartProcess(procCreateProduct)
			require.False(t, run.ID().IsZero(), "the run still works")
			run.Step(1).Succeed("a")
			require.NoError(t, run.End(c))
			c.Status(http.StatusOK)
		})
	})
	require.Equal(t, http.StatusOK, env.call("POST", "/internal/job/").Code)
	require.Zero(t, env.count(&entities.ProcessEvent{}))
}
