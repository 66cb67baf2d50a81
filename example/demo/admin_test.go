package demo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/example/demo"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// newAdminDemo is the demo on fresh databases, auditing synchronously.
func newAdminDemo(t *testing.T, auditDSN string) *demo.App {
	t.Helper()
	app, err := demo.New(demo.Config{
		AppDSN:     filepath.Join(t.TempDir(), "app.sqlite3"),
		AuditDSN:   auditDSN,
		JWTSecret:  "admin-test-signing-key-0123456789",
		BcryptCost: bcrypt.MinCost,
		Audit:      audit.Options{Synchronous: true},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	return app
}

func serve(app *demo.App, req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	app.Router.ServeHTTP(w, req)
	return w
}

func TestDemoAdminBrowserLoginAndBearerToken(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		app := newAdminDemo(t, dsn)

		// A browser without a token is sent to the login form.
		req := httptest.NewRequest(http.MethodGet, "/admin/audit/requests", nil)
		req.Header.Set("Accept", "text/html")
		w := serve(app, req)
		require.Equal(t, http.StatusFound, w.Code)
		assert.Equal(t, "/admin/login?next=%2Fadmin%2Faudit%2Frequests", w.Header().Get("Location"))

		// A script without a token gets 401.
		w = serve(app, httptest.NewRequest(http.MethodGet, "/admin/audit/api/requests", nil))
		assert.Equal(t, http.StatusUnauthorized, w.Code)

		// A wrong password shows the form again.
		form := url.Values{"username": {"admin"}, "password": {"wrong"}, "next": {"/admin/audit/requests"}}
		req = httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w = serve(app, req)
		assert.Equal(t, http.StatusUnauthorized, w.Code)
		assert.Contains(t, w.Body.String(), "Incorrect username or password")
		assert.Empty(t, w.Result().Cookies())

		// The right one sets the cookie and goes where the user was headed.
		form.Set("password", "admin")
		req = httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w = serve(app, req)
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		assert.Equal(t, "/admin/audit/requests", w.Header().Get("Location"))
		cookies := w.Result().Cookies()
		require.Len(t, cookies, 1)
		assert.Equal(t, demo.AdminCookie, cookies[0].Name)
		assert.True(t, cookies[0].HttpOnly)
		assert.Equal(t, http.SameSiteStrictMode, cookies[0].SameSite)

		req = httptest.NewRequest(http.MethodGet, "/admin/audit/logins", nil)
		req.Header.Set("Accept", "text/html")
		req.AddCookie(cookies[0])
		w = serve(app, req)
		require.Equal(t, http.StatusOK, w.Code)
		body := w.Body.String()
		assert.Contains(t, body, entities.LoginFailed, "the form's sign in went through the audited /api/token/")
		assert.Contains(t, body, entities.LoginSignIn)

		// Scripts use the API's bearer token.
		w = serve(app, httptest.NewRequest(http.MethodPost, "/api/token/", strings.NewReader(`{"username":"admin","password":"admin"}`)))
		require.Equal(t, http.StatusOK, w.Code)
		var tok struct {
			Token string `json:"token"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &tok))
		req = httptest.NewRequest(http.MethodGet, "/admin/audit/reports/logins.pdf", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		w = serve(app, req)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "application/pdf", w.Header().Get("Content-Type"))

		// A forged cookie is not a login.
		req = httptest.NewRequest(http.MethodGet, "/admin/audit/api/requests", nil)
		req.AddCookie(&http.Cookie{Name: demo.AdminCookie, Value: "forged.token.value"})
		assert.Equal(t, http.StatusUnauthorized, serve(app, req).Code)

		// Open redirects are refused.
		form.Set("next", "https://evil.example/")
		req = httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		assert.Equal(t, "/admin/audit/", serve(app, req).Header().Get("Location"))
	})
}
