package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/internal/testskip"

	"github.com/gin-audit-trail/audit/admin"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

func init() { gin.SetMode(gin.TestMode) }

var base = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// fixture is what seed wrote.
type fixture struct {
	requests  []entities.RequestEvent // oldest first
	login     entities.LoginEvent     // a sign in carried by requests[0]
	failed    entities.LoginEvent     // a failed login carried by requests[1]
	process   entities.ProcessEvent   // "Criar produto", started by requests[2]: one success, one failure
	pending   entities.ProcessEvent   // "Validação", background: one registration missing
	xssBodyID entities.ID             // a request whose bodies hold a <script>
}

// seed writes 30 requests one minute apart (GET/POST alternating, every
// fifth a 500 with a stack trace), two logins and two processes.
func seed(t *testing.T, db *gorm.DB) fixture {
	t.Helper()
	var fx fixture
	b := &entities.Batch{}
	for i := range 30 {
		r := entities.RequestEvent{
			ID: entities.NewID(), Datetime: base.Add(time.Duration(i) * time.Minute),
			UserID: fmt.Sprintf("u%d", i%3), IPAddress: fmt.Sprintf("192.0.2.%d", i%2), Method: "GET",
			URL: fmt.Sprintf("/api/products/%d/", i%4), RequestType: "http", StatusCode: 200,
			ResponseTimeMS: float64(i + 1), RequestBody: "", ResponseBody: `{"id":1,"name":"Caneta"}`,
		}
		if i%2 == 1 {
			r.Method, r.StatusCode, r.RequestBody = "POST", 201, `{"name":"Caneta azul","price":2.5}`
		}
		if i%5 == 4 {
			r.StatusCode, r.ErrorType, r.ErrorMessage = 500, "panic: string", "boom"
			r.ErrorStacktrace = "goroutine 1 [running]:\nmain.handler()\n\t/app/main.go:42 +0x1d"
		}
		b.Requests = append(b.Requests, r)
	}
	x := &b.Requests[29]
	x.RequestBody = `<script>alert("req")</script>`
	x.ResponseBody = `{"html":"<script>alert(1)</script>"}`
	fx.xssBodyID = x.ID

	r0, r1, r2 := b.Requests[0].ID, b.Requests[1].ID, b.Requests[2].ID
	fx.login = entities.LoginEvent{ID: entities.NewID(), Datetime: b.Requests[0].Datetime, Status: entities.LoginSignIn, RequestID: &r0, UserID: "1", Username: "admin"}
	fx.failed = entities.LoginEvent{ID: entities.NewID(), Datetime: b.Requests[1].Datetime, Status: entities.LoginFailed, RequestID: &r1, Username: "mallory"}
	b.Logins = append(b.Logins, fx.login, fx.failed)

	fx.process = entities.ProcessEvent{ID: entities.NewID(), Datetime: b.Requests[2].Datetime, Name: "Criar produto", Description: "Cria um produto", CreatedBy: "u2", RequestID: &r2}
	fx.pending = entities.ProcessEvent{ID: entities.NewID(), Datetime: base.Add(time.Hour), Name: "Validação", CreatedBy: "job"}
	b.Processes = append(b.Processes, fx.process, fx.pending)
	s1 := entities.StepEvent{ID: entities.NewID(), Datetime: fx.process.Datetime, ProcessID: fx.process.ID, Name: "Validar preço", StepOrder: 1, TotalRegistrations: 1}
	s2 := entities.StepEvent{ID: entities.NewID(), Datetime: fx.process.Datetime, ProcessID: fx.process.ID, Name: "Gravar", StepOrder: 2, TotalRegistrations: 1}
	s3 := entities.StepEvent{ID: entities.NewID(), Datetime: fx.pending.Datetime, ProcessID: fx.pending.ID, Name: "Conferir estoque", StepOrder: 1, TotalRegistrations: 2}
	b.Steps = append(b.Steps, s1, s2, s3)
	b.Registrations = append(b.Registrations,
		entities.RegistrationEvent{ID: entities.NewID(), Datetime: fx.process.Datetime, StepID: s1.ID, Success: true, Name: "preço ok"},
		entities.RegistrationEvent{ID: entities.NewID(), Datetime: fx.process.Datetime, StepID: s2.ID, Success: false, Name: "código duplicado"},
		entities.RegistrationEvent{ID: entities.NewID(), Datetime: fx.pending.Datetime, StepID: s3.ID, Success: true, Name: "item 1"},
	)
	require.NoError(t, writer.GormStore{DB: db}.WriteBatch(context.Background(), b))
	fx.requests = b.Requests
	return fx
}

// server mounts the admin on /admin/audit of a new router, allowing
// requests that carry X-Admin: yes.
func server(t *testing.T, db *gorm.DB) *gin.Engine {
	t.Helper()
	r := gin.New()
	err := admin.Mount(r.Group("/admin/audit"), admin.FromDB(db), admin.Config{
		Authorize: admin.Allow(func(c *gin.Context) bool { return c.GetHeader("X-Admin") == "yes" }),
		PageSize:  10,
	})
	require.NoError(t, err)
	return r
}

// get runs an allowed GET and returns the recorder.
func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("X-Admin", "yes")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// getJSON runs an allowed GET, requires status, and decodes the body.
func getJSON[T any](t *testing.T, h http.Handler, path string, status int) T {
	t.Helper()
	w := get(t, h, path)
	require.Equal(t, status, w.Code, "%s: %.300s", path, w.Body.String())
	var v T
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v), w.Body.String())
	return v
}

// setup opens a migrated, seeded database and its admin server.
func setup(t *testing.T, dsn string) (*gin.Engine, fixture, *gorm.DB) {
	db := testdb.Open(t, dsn)
	fx := seed(t, db)
	return server(t, db), fx, db
}

// pdfText converts a PDF to text with pdftotext, skipping loudly when
// poppler-utils is missing (failing when CI is set).
func pdfText(t *testing.T, body io.Reader) string {
	t.Helper()
	bin := testskip.Tool(t, "poppler-utils", "pdftotext")
	path := filepath.Join(t.TempDir(), "report.pdf")
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	out, err := exec.Command(bin, "-enc", "UTF-8", path, "-").CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}
