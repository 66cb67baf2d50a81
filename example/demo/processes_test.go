package demo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/example/demo"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// procApp is the demo on fresh databases with a synchronous trail, and a
// token of the demo user.
type procApp struct {
	t     *testing.T
	app   *demo.App
	audit *gorm.DB
	token string
	user  string // the demo user's id
}

func newProcApp(t *testing.T, auditDSN string) *procApp {
	t.Helper()
	app, err := demo.New(demo.Config{
		AppDSN:       filepath.Join(t.TempDir(), "app.sqlite3"),
		AuditDSN:     auditDSN,
		DemoUser:     "admin",
		DemoPassword: "s3cret-demo",
		JWTSecret:    "process-test-signing-key-0123456789",
		BcryptCost:   bcrypt.MinCost,
		Audit:        audit.Options{Synchronous: true},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	pa := &procApp{t: t, app: app, audit: testdb.Open(t, auditDSN)}

	w := pa.do("POST", "/api/token/", `{"username":"admin","password":"s3cret-demo"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var tok struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &tok))
	require.NotEmpty(t, tok.Token)
	pa.token = tok.Token
	var u demo.User
	require.NoError(t, app.DB.Where("username = ?", "admin").First(&u).Error)
	pa.user = idString(u.ID)
	return pa
}

func idString(id uint) string {
	b, _ := json.Marshal(id)
	return string(b)
}

func (pa *procApp) do(method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if pa.token != "" {
		req.Header.Set("Authorization", "Bearer "+pa.token)
	}
	w := httptest.NewRecorder()
	pa.app.Router.ServeHTTP(w, req)
	return w
}

// process loads the process named by the response's header.
func (pa *procApp) process(w *httptest.ResponseRecorder) *entities.ProcessDetail {
	pa.t.Helper()
	id, err := entities.ParseID(w.Header().Get(demo.ProcessIDHeader))
	require.NoError(pa.t, err, "the response names its process")
	p, err := query.LoadProcess(context.Background(), pa.audit, id)
	require.NoError(pa.t, err)
	return p
}

type regView struct {
	Success bool
	Name    string
}

func regsOf(s entities.StepDetail) []regView {
	out := make([]regView, len(s.Registrations))
	for i, r := range s.Registrations {
		out[i] = regView{r.Success, r.Name}
	}
	return out
}

const productJSON = `{"name":"Café torrado","code":"CAFE-1","price":12.5,"quantity":3}`

func TestDemoCreateProductProcess(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		pa := newProcApp(t, dsn)
		w := pa.do("POST", "/api/product/", productJSON)
		require.Equal(t, http.StatusCreated, w.Code, w.Body.String())

		p := pa.process(w)
		require.Equal(t, "Criar produto", p.Process.Name)
		require.Equal(t, pa.user, p.Process.CreatedBy, "created_by is the token's user")
		require.NotNil(t, p.Process.RequestID)
		var req entities.RequestEvent
		require.NoError(t, pa.audit.First(&req, "id = ?", *p.Process.RequestID).Error)
		require.Equal(t, "POST", req.Method)
		require.Equal(t, "/api/product/", req.URL)
		require.Equal(t, pa.user, req.UserID)

		require.Equal(t, entities.OutcomeSuccess, p.Outcome())
		require.Len(t, p.Steps, 2)
		require.Equal(t, "Validação dos Dados", p.Steps[0].Step.Name)
		require.Equal(t, 2, p.Steps[0].Step.TotalRegistrations)
		require.Equal(t, []regView{{true, "Codigo do produto validados com sucesso"}, {true, "Dados de criação validados com sucesso"}}, regsOf(p.Steps[0]))
		require.Equal(t, "Salvar no banco de dados", p.Steps[1].Step.Name)
		require.Equal(t, []regView{{true, "Salvar no banco de dados"}}, regsOf(p.Steps[1]))
		for _, s := range p.Steps {
			require.Equal(t, pa.user, s.Step.CreatedBy)
			for _, r := range s.Registrations {
				require.Equal(t, pa.user, r.CreatedBy)
			}
		}
		var n int64
		require.NoError(t, pa.audit.Model(&entities.ProcessEvent{}).Count(&n).Error)
		require.Equal(t, int64(1), n, "the login made no process")
	})
}

func TestDemoCreateProductValidationFailure(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		pa := newProcApp(t, dsn)
		w := pa.do("POST", "/api/product/", `{"name":"","price":-1,"quantity":1}`)
		require.Equal(t, http.StatusBadRequest, w.Code)

		p := pa.process(w)
		require.Equal(t, entities.OutcomeFailed, p.Outcome())
		v := p.Steps[0]
		require.Equal(t, entities.OutcomeFailed, v.Outcome())
		require.Equal(t, []regView{{false, "Error de validação de codigo"}, {false, "Erros de validação"}}, regsOf(v))
		require.JSONEq(t, `["This field is required."]`, v.Registrations[0].Description)
		var errs map[string][]string
		require.NoError(t, json.Unmarshal([]byte(v.Registrations[1].Description), &errs), "the errors are stored as JSON")
		require.Contains(t, errs, "name")
		require.Contains(t, errs, "price")
		require.Contains(t, errs, "code")
		require.Empty(t, p.Steps[1].Registrations, "nothing was saved")
		require.Equal(t, 1, p.Steps[1].Missing())

		// Only the data is invalid: the code is validated, the data is not.
		w = pa.do("POST", "/api/product/", `{"name":"X","code":"OK-1","price":-1,"quantity":1}`)
		require.Equal(t, http.StatusBadRequest, w.Code)
		require.Equal(t, []regView{{true, "Codigo do produto validados com sucesso"}, {false, "Erros de validação"}}, regsOf(pa.process(w).Steps[0]))

		// Malformed JSON is a failed validation too.
		w = pa.do("POST", "/api/product/", `{"name":`)
		require.Equal(t, http.StatusBadRequest, w.Code)
		require.Equal(t, entities.OutcomeFailed, pa.process(w).Outcome())
	})
}

func TestDemoCreateProductDuplicateCode(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		pa := newProcApp(t, dsn)
		require.Equal(t, http.StatusCreated, pa.do("POST", "/api/product/", productJSON).Code)
		w := pa.do("POST", "/api/product/", productJSON)
		require.Equal(t, http.StatusBadRequest, w.Code)

		p := pa.process(w)
		require.Equal(t, entities.OutcomeFailed, p.Outcome())
		require.Equal(t, entities.OutcomeSuccess, p.Steps[0].Outcome(), "the data was valid")
		save := p.Steps[1]
		require.Equal(t, []regView{{false, "Salvar no banco de dados"}}, regsOf(save))
		require.Equal(t, "product with this code already exists.", save.Registrations[0].Description)
		require.Contains(t, string(save.Registrations[0].ExtraInformations), `"code":"CAFE-1"`)

		// The rollups as the admin lists them: one success, one failure.
		ctx := context.Background()
		ok, err := query.CountProcesses(ctx, pa.audit, query.ProcessFilter{Name: "Criar produto", Outcome: entities.OutcomeSuccess})
		require.NoError(t, err)
		require.Equal(t, int64(1), ok)
		var failed []string
		for d, err := range query.StreamProcesses(ctx, pa.audit, query.ProcessFilter{Outcome: entities.OutcomeFailed, CreatedBy: pa.user}) {
			require.NoError(t, err)
			failed = append(failed, d.Process.ID.String())
		}
		require.Equal(t, []string{p.Process.ID.String()}, failed)
	})
}

func TestDemoDeleteProductProcess(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		pa := newProcApp(t, dsn)
		w := pa.do("DELETE", "/api/product/999/", "")
		require.Equal(t, http.StatusNotFound, w.Code)
		missing := pa.process(w)
		require.Equal(t, "Deletar produto", missing.Process.Name)
		require.Equal(t, entities.OutcomeFailed, missing.Outcome())
		require.Equal(t, entities.OutcomeFailed, missing.Steps[0].Outcome(), "a missing product is a failed step")
		require.Equal(t, []regView{{false, "Produto não encontrado"}}, regsOf(missing.Steps[0]))
		require.Empty(t, missing.Steps[1].Registrations)
		require.Equal(t, pa.user, missing.Process.CreatedBy)

		created := pa.do("POST", "/api/product/", productJSON)
		require.Equal(t, http.StatusCreated, created.Code)
		var prod demo.Product
		require.NoError(t, json.Unmarshal(created.Body.Bytes(), &prod))
		w = pa.do("DELETE", "/api/product/"+idString(prod.ID)+"/", "")
		require.Equal(t, http.StatusNoContent, w.Code)
		deleted := pa.process(w)
		require.Equal(t, entities.OutcomeSuccess, deleted.Outcome())
		require.Equal(t, []regView{{true, "Produto encontrado"}}, regsOf(deleted.Steps[0]))
		require.Equal(t, []regView{{true, "Produto deletado"}}, regsOf(deleted.Steps[1]))
	})
}

func TestDemoProductWritesWithoutTokenRunNoProcess(t *testing.T) {
	pa := newProcApp(t, testdb.SQLite(t))
	pa.token = ""
	w := pa.do("POST", "/api/product/", productJSON)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Empty(t, w.Header().Get(demo.ProcessIDHeader))
	var n int64
	require.NoError(t, pa.audit.Model(&entities.ProcessEvent{}).Count(&n).Error)
	require.Zero(t, n)
}
