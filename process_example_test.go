package audit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/process"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
)

// A handler runs a process declared once; its rows are written with the
// request event when the request ends, and the handler can hand the
// process id to its caller at once.
func ExampleEvent_StartProcess() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	trail, err := audit.Open(audit.Options{DSN: filepath.Join(dir, "audit.sqlite3"), Synchronous: true})
	if err != nil {
		panic(err)
	}
	defer trail.Close(context.Background())

	createProduct := process.Definition{
		Name: "Criar produto",
		Steps: []process.StepDefinition{
			{Name: "Validação dos Dados", Order: 1, Expected: 2},
			{Name: "Salvar no banco de dados", Order: 2},
		},
	}
	gin.SetMode(gin.TestMode) // no debug output
	r := gin.New()
	r.Use(gin.Recovery(), trail.Middleware())
	r.POST("/api/product/", func(c *gin.Context) {
		run := audit.From(c).StartProcess(createProduct)
		c.Header("X-Audit-Process-Id", run.ID().String())
		run.Step(1).Succeed("Codigo do produto validados com sucesso")
		run.Step(1).Succeed("Dados de criação validados com sucesso")
		run.Step(2).Succeed("Salvar no banco de dados")
		audit.From(c).SetUser("42")
		c.JSON(http.StatusCreated, gin.H{"code": "A1"})
	})

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/api/product/", nil))

	id, _ := entities.ParseID(w.Header().Get("X-Audit-Process-Id"))
	p, err := query.LoadProcess(context.Background(), trail.DB(), id)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Process.Name, "by", p.Process.CreatedBy, "linked to a request:", p.Process.RequestID != nil)
	for _, s := range p.Steps {
		fmt.Printf("  %d %s: %s (%d registrations)\n", s.Step.StepOrder, s.Step.Name, s.Outcome(), len(s.Registrations))
	}
	fmt.Println("outcome:", p.Outcome())
	// Output:
	// Criar produto by 42 linked to a request: true
	//   1 Validação dos Dados: success (2 registrations)
	//   2 Salvar no banco de dados: success (1 registrations)
	// outcome: success
}

// A background job runs a process with the trail itself: no request, its
// own user, written when the job calls End.
func ExampleTrail_StartProcess() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	trail, err := audit.Open(audit.Options{DSN: filepath.Join(dir, "audit.sqlite3")})
	if err != nil {
		panic(err)
	}

	nightly := process.Definition{Name: "Atualizar preços", Steps: []process.StepDefinition{
		{Name: "Baixar tabela"}, {Name: "Gravar preços"},
	}}
	job := func(ctx context.Context) (id entities.ID) {
		run := trail.StartProcess(nightly, "cron")
		defer run.End(ctx) // queue the rows, whatever happens below
		run.Step(1).Succeed("tabela baixada")
		run.Step(2).Fail("Gravar preços", "2 preços negativos recusados")
		return run.ID()
	}
	id := job(context.Background())

	_ = trail.Close(context.Background()) // drains the queue
	db, _ := repository.Open(filepath.Join(dir, "audit.sqlite3"))
	p, err := query.LoadProcess(context.Background(), db, id)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Process.Name, "by", p.Process.CreatedBy, "in a request:", p.Process.RequestID != nil, "outcome:", p.Outcome())
	// Output: Atualizar preços by cron in a request: false outcome: failed
}
