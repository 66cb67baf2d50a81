package audit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// loginEnv is a bare audited router (no gin-jwt) on a real audit
// database, synchronous so each request's rows are committed on return.
type loginEnv struct {
	t      *testing.T
	router *gin.Engine
	trail  *audit.Trail
	db     *gorm.DB
}

func newLoginEnv(t *testing.T, dsn string, opts audit.Options, routes func(r *gin.Engine)) *loginEnv {
	t.Helper()
	opts.DSN = dsn
	opts.Synchronous = true
	trail, err := audit.Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	r := gin.New()
	r.Use(trail.Middleware())
	routes(r)
	return &loginEnv{t: t, router: r, trail: trail, db: testdb.Open(t, dsn)}
}

func (e *loginEnv) call(method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(`{"username":"u","password":"p4ss"}`)))
	return w
}

// loginFor returns the login events of the request to path (its only
// audited request).
func (e *loginEnv) loginFor(path string) (entities.RequestEvent, []entities.LoginEvent) {
	e.t.Helper()
	var req entities.RequestEvent
	require.NoError(e.t, e.db.Where("url = ?", path).First(&req).Error)
	var logins []entities.LoginEvent
	require.NoError(e.t, e.db.Where("request_id = ?", req.ID).Order("datetime, id").Find(&logins).Error)
	return req, logins
}

func TestEventLoginMethodsRecordOneLoginEventPerRequest(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		e := newLoginEnv(t, dsn, audit.Options{}, func(r *gin.Engine) {
			r.GET("/api/sso/callback/", func(c *gin.Context) {
				audit.From(c).SignedIn("42", "alice")
				c.Status(http.StatusNoContent)
			})
			r.POST("/api/login/", func(c *gin.Context) {
				audit.From(c).LoginFailed("mallory", "wrong one-time code")
				c.Status(http.StatusForbidden)
			})
			r.POST("/api/signout/", func(c *gin.Context) {
				audit.From(c).SignedOut("42")
				c.Status(http.StatusOK)
			})
			r.POST("/api/retry/", func(c *gin.Context) {
				ev := audit.From(c)
				ev.SignedIn("7", "bob") // then the second factor fails
				ev.LoginFailed("bob", "second factor refused")
				c.Status(http.StatusUnauthorized)
			})
			r.GET("/api/logout-named/", func(c *gin.Context) {
				ev := audit.From(c)
				ev.SetUser("9")
				ev.SignedOut("")
				c.Status(http.StatusOK)
			})
		})
		e.call("GET", "/api/sso/callback/")
		e.call("POST", "/api/login/")
		e.call("POST", "/api/signout/")
		e.call("POST", "/api/retry/")
		e.call("GET", "/api/logout-named/")

		req, l := e.loginFor("/api/sso/callback/")
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginSignIn, l[0].Status)
		assert.Equal(t, "42", l[0].UserID)
		assert.Equal(t, "alice", l[0].Username)
		assert.Equal(t, "42", req.UserID, "SignedIn names the request's user")
		assert.Empty(t, l[0].ExtraInformations)

		req, l = e.loginFor("/api/login/")
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginFailed, l[0].Status)
		assert.Equal(t, "mallory", l[0].Username)
		assert.Empty(t, l[0].UserID)
		assert.Empty(t, req.UserID)
		assert.JSONEq(t, `{"reason":"wrong one-time code"}`, string(l[0].ExtraInformations))

		req, l = e.loginFor("/api/signout/")
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginSignOut, l[0].Status)
		assert.Equal(t, "42", l[0].UserID)
		assert.Equal(t, "42", req.UserID)

		_, l = e.loginFor("/api/retry/")
		require.Len(t, l, 1, "the last call wins: one login event")
		assert.Equal(t, entities.LoginFailed, l[0].Status)
		assert.Equal(t, "bob", l[0].Username)

		_, l = e.loginFor("/api/logout-named/")
		require.Len(t, l, 1)
		assert.Equal(t, "9", l[0].UserID, "an unnamed sign out takes the request's user")
	})
}

func TestLoginsAreInferredForAuthURLsNoHookDescribed(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		opts := audit.Options{
			AuthURLs:         []string{"/api/token/", "/api/token/ok/", "/api/token/anon/", "/api/token/resolved/", "/api/token/err/", "/api/token/denied/", "/api/token/own/"},
			AuthFailedStatus: http.StatusForbidden,
			UserResolver: func(c *gin.Context) string {
				if c.Request.URL.Path == "/api/token/resolved/" {
					return "r-1"
				}
				return ""
			},
		}
		e := newLoginEnv(t, dsn, opts, func(r *gin.Engine) {
			r.Any("/api/token/", func(c *gin.Context) { c.Status(http.StatusUnauthorized) })
			r.POST("/api/token/ok/", func(c *gin.Context) {
				audit.From(c).SetUser("u-1")
				c.JSON(http.StatusOK, gin.H{"access": "secret-token"})
			})
			r.POST("/api/token/anon/", func(c *gin.Context) { c.Status(http.StatusOK) })
			r.POST("/api/token/resolved/", func(c *gin.Context) { c.Status(http.StatusOK) })
			r.POST("/api/token/err/", func(c *gin.Context) {
				audit.From(c).SetUser("u-2")
				c.Status(http.StatusInternalServerError)
			})
			r.POST("/api/token/denied/", func(c *gin.Context) {
				audit.From(c).SetUser("u-3")
				c.Status(http.StatusForbidden) // the configured failure status
			})
			r.POST("/api/token/own/", func(c *gin.Context) {
				audit.From(c).SignedIn("own", "")
				c.Status(http.StatusOK)
			})
		})
		e.call("POST", "/api/token/")
		e.call("GET", "/api/token/") // not a POST: no login event
		e.call("POST", "/api/token/ok/")
		e.call("POST", "/api/token/anon/")
		e.call("POST", "/api/token/resolved/")
		e.call("POST", "/api/token/err/")
		e.call("POST", "/api/token/denied/")
		e.call("POST", "/api/token/own/")

		var all []entities.LoginEvent
		require.NoError(t, e.db.Find(&all).Error)
		assert.Len(t, all, 7)

		cases := []struct {
			path, status, user string
		}{
			{"/api/token/ok/", entities.LoginSignIn, "u-1"},
			{"/api/token/anon/", entities.LoginFailed, ""},
			{"/api/token/resolved/", entities.LoginSignIn, "r-1"},
			{"/api/token/err/", entities.LoginFailed, ""},
			{"/api/token/denied/", entities.LoginFailed, ""},
			{"/api/token/own/", entities.LoginSignIn, "own"},
		}
		for _, tc := range cases {
			_, l := e.loginFor(tc.path)
			require.Len(t, l, 1, tc.path)
			assert.Equal(t, tc.status, l[0].Status, tc.path)
			assert.Equal(t, tc.user, l[0].UserID, tc.path)
		}
		var rows []entities.LoginEvent
		require.NoError(t, e.db.Joins("JOIN audit_request_events r ON r.id = audit_login_events.request_id").
			Where("r.url = ? AND r.method = ?", "/api/token/", "POST").Find(&rows).Error)
		require.Len(t, rows, 1)
		assert.Equal(t, entities.LoginFailed, rows[0].Status)
		assert.Contains(t, string(rows[0].ExtraInformations), `"inferred_from_status":401`)

		_, ok := e.loginFor("/api/token/ok/")
		assert.NotContains(t, string(ok[0].ExtraInformations), "secret-token")
	})
}

func TestLoginMethodsOnANilEventAreNoOps(t *testing.T) {
	var ev *audit.Event
	ev.SignedIn("1", "a")
	ev.LoginFailed("a", "x")
	ev.SignedOut("1")
	assert.Nil(t, audit.From(&gin.Context{}))
}

func TestLoginRecordedAfterTheRequestEndedIsStillWritten(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		handles := make(chan *audit.Event, 1)
		e := newLoginEnv(t, dsn, audit.Options{}, func(r *gin.Engine) {
			r.GET("/api/async/", func(c *gin.Context) {
				handles <- audit.From(c)
				c.Status(http.StatusAccepted)
			})
		})
		e.call("GET", "/api/async/")
		ev := <-handles
		ev.SignedIn("late-user", "late")

		req, l := e.loginFor("/api/async/")
		require.Len(t, l, 1)
		assert.Equal(t, "late-user", l[0].UserID)
		assert.Equal(t, req.ID, *l[0].RequestID)
	})
}

func TestConcurrentExplicitLoginsAreOneEventEach(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		e := newLoginEnv(t, dsn, audit.Options{}, func(r *gin.Engine) {
			r.POST("/api/token/", func(c *gin.Context) {
				name := c.Query("u")
				ev := audit.From(c)
				var wg sync.WaitGroup // handlers may use the handle from several goroutines
				for range 4 {
					wg.Go(func() { ev.LoginFailed(name, "bad password") })
				}
				wg.Wait()
				c.Status(http.StatusUnauthorized)
			})
		})
		const n = 32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				w := httptest.NewRecorder()
				e.router.ServeHTTP(w, httptest.NewRequest("POST", "/api/token/?u=user-"+string(rune('A'+i)), nil))
			})
		}
		wg.Wait()
		var logins []entities.LoginEvent
		require.NoError(t, e.db.Find(&logins).Error)
		require.Len(t, logins, n)
		names := map[string]bool{}
		for _, l := range logins {
			names[l.Username] = true
		}
		assert.Len(t, names, n)
	})
}
