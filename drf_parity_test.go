package audit_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"runtime"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logins closes the trail and returns every login event.
func (h *harness) logins() []entities.LoginEvent {
	h.t.Helper()
	h.rows()
	var rows []entities.LoginEvent
	require.NoError(h.t, h.db.Order("datetime, id").Find(&rows).Error)
	return rows
}

func TestAuthAndLogoutURLsAreAuditedOutsideInclude(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{
			AuthURLs:   []string{"/auth/login/"},
			LogoutURLs: []string{"/auth/logout/"},
			Exclude:    []string{`^/auth/`}, // not even an exclusion hides them
		}, true)
		h.router.POST("/auth/login/", func(c *gin.Context) {
			audit.From(c).SignedIn("1", "ana")
			c.JSON(200, gin.H{"token": "t"})
		})
		h.router.POST("/auth/logout/", func(c *gin.Context) { c.Status(204) })
		h.router.GET("/auth/other/", func(c *gin.Context) { c.Status(200) })
		h.do(httptest.NewRequest("POST", "/auth/login/", nil))
		h.do(httptest.NewRequest("POST", "/auth/logout/", nil))
		h.do(httptest.NewRequest("GET", "/auth/other/", nil))
		logins := h.logins()
		rows := h.rows()
		require.Len(t, rows, 2, "the auth and logout URLs, not the other unincluded path")
		assert.Equal(t, "/auth/login/", rows[0].URL)
		assert.Equal(t, "/auth/logout/", rows[1].URL)
		require.Len(t, logins, 2)
		assert.Equal(t, entities.LoginSignIn, logins[0].Status)
		assert.Equal(t, "ana", logins[0].Username)
		assert.Equal(t, entities.LoginSignOut, logins[1].Status)
		assert.Empty(t, rows[0].ResponseBody, "auth URLs never store bodies")
	})
}

func TestRefusedLogoutIsAFailedLogin(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{LogoutURLs: []string{"/api/logout/"}}, true)
		h.router.POST("/api/logout/", func(c *gin.Context) {
			if c.GetHeader("Authorization") != "Bearer good" {
				c.AbortWithStatusJSON(401, gin.H{"detail": "token rejected"})
				return
			}
			audit.From(c).SetUser("7")
			c.Status(200)
		})
		w := h.do(httptest.NewRequest("POST", "/api/logout/", nil))
		require.Equal(t, 401, w.Code)
		req := httptest.NewRequest("POST", "/api/logout/", nil)
		req.Header.Set("Authorization", "Bearer good")
		require.Equal(t, 200, h.do(req).Code)
		logins := h.logins()
		require.Len(t, logins, 2)
		assert.Equal(t, entities.LoginFailed, logins[0].Status)
		assert.Empty(t, logins[0].UserID)
		assert.JSONEq(t, `{"inferred_from_status":401,"reason":"the logout was refused"}`, string(logins[0].ExtraInformations))
		assert.Equal(t, entities.LoginSignOut, logins[1].Status)
		assert.Equal(t, "7", logins[1].UserID)
	})
}

func TestExtraInformationDocumentsNullAndMerge(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{}, true)
		h.router.GET("/api/raw/", func(c *gin.Context) {
			audit.From(c).SetExtra(json.RawMessage(`{"order": 12, "items": [1, 2]}`))
		})
		h.router.GET("/api/bytes/", func(c *gin.Context) { audit.From(c).SetExtra([]byte(`["a","b"]`)) })
		h.router.GET("/api/text/", func(c *gin.Context) { audit.From(c).SetExtra([]byte("not json")) })
		h.router.GET("/api/merge/", func(c *gin.Context) {
			// a middleware, the handler, and a helper each add what they know
			ev := audit.From(c)
			ev.MergeExtra(map[string]any{"tenant": "acme", "step": "middleware"})
			ev.SetExtra(map[string]any{"data": "handler", "password": "hunter2"})
			ev.MergeExtra(map[string]any{"step": "helper", "raw": json.RawMessage(`{"x":1}`)})
		})
		h.router.GET("/api/scalar/", func(c *gin.Context) {
			audit.From(c).SetExtra("just text")
			audit.From(c).MergeExtra(map[string]any{"k": 1})
		})
		for _, p := range []string{"/api/raw/", "/api/bytes/", "/api/text/", "/api/merge/", "/api/scalar/", "/api/ping/"} {
			h.do(httptest.NewRequest("GET", p, nil))
		}
		rows := h.rows()
		require.Len(t, rows, 6)
		got := map[string]string{}
		for _, r := range rows {
			got[r.URL] = string(r.ExtraInformations)
		}
		assert.Equal(t, `{"order":12,"items":[1,2]}`, got["/api/raw/"], "the document, not a JSON string of it")
		assert.Equal(t, `["a","b"]`, got["/api/bytes/"])
		assert.Equal(t, `"not json"`, got["/api/text/"])
		assert.JSONEq(t, `{"data":"handler","password":"********","step":"helper","raw":{"x":1}}`, got["/api/merge/"],
			"SetExtra replaces what came before it; later merges add keys and win")
		assert.JSONEq(t, `{"value":"just text","k":1}`, got["/api/scalar/"])
		assert.Empty(t, got["/api/ping/"])
		var nulls int64
		require.NoError(t, h.db.Model(&entities.RequestEvent{}).Where("extra_informations IS NULL").Count(&nulls).Error)
		assert.Equal(t, int64(1), nulls, "nothing set is SQL NULL, not an empty string")
	})
}

// tracedError carries the program counters of where it was made, like
// errors of github.com/pkg/errors or go-errors do.
type tracedError struct {
	msg string
	pcs []uintptr
}

func (e *tracedError) Error() string { return e.msg }

func (e *tracedError) StackTrace() []uintptr { return e.pcs }

func newTracedError(msg string) error {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(1, pcs)
	return &tracedError{msg: msg, pcs: pcs[:n]}
}

func TestContextErrorsCarryStackTracesAndTheirInnermostType(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{}, true)
		h.router.GET("/api/traced/", func(c *gin.Context) {
			_ = c.Error(fmt.Errorf("save order: %w", newTracedError("disk full")))
			c.Status(500)
		})
		h.router.GET("/api/path/", func(c *gin.Context) {
			_ = c.Error(fmt.Errorf("read config: %w", &fs.PathError{Op: "open", Path: "/etc/app.conf", Err: fs.ErrNotExist}))
			c.Status(500)
		})
		h.do(httptest.NewRequest("GET", "/api/traced/", nil))
		h.do(httptest.NewRequest("GET", "/api/path/", nil))
		h.do(httptest.NewRequest("GET", "/api/fail/", nil))
		rows := h.rows()
		require.Len(t, rows, 3)
		assert.Equal(t, "*audit_test.tracedError", rows[0].ErrorType)
		assert.Equal(t, "save order: disk full", rows[0].ErrorMessage)
		assert.Contains(t, rows[0].ErrorStacktrace, "audit_test.newTracedError")
		assert.Contains(t, rows[0].ErrorStacktrace, "drf_parity_test.go:")
		assert.Equal(t, "*fs.PathError", rows[1].ErrorType, "the wrapped error's type, not *fmt.wrapError")
		assert.Empty(t, rows[1].ErrorStacktrace, "no stack when the error carries none")
		assert.Equal(t, "error", rows[2].ErrorType, "a plain errors.New has no more meaningful type")
	})
}
