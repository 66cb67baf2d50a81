package jwtaudit_test

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jwt "github.com/appleboy/gin-jwt/v2"
	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/jwtaudit"
	"github.com/gin-gonic/gin"
	gojwt "github.com/golang-jwt/jwt/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

func init() { gin.SetMode(gin.TestMode) }

const key = "jwtaudit-test-key"

// env is a bare router with gin-jwt wrapped by jwtaudit, audited
// synchronously into a real database.
type env struct {
	t      *testing.T
	router *gin.Engine
	mw     *jwt.GinJWTMiddleware
	db     *gorm.DB
	hooks  []string // application hooks that ran, in order
	bodyIn int      // bytes the Authenticator read
}

// newEnv: user "alice" with password "pw" has id 42 (a number claim "uid");
// "bob" authenticates but his token cannot be signed; "carol" is refused by
// the Authorizator.
func newEnv(t *testing.T, dsn string, cfg jwtaudit.Config, tune func(*jwt.GinJWTMiddleware)) *env {
	t.Helper()
	e := &env{t: t}
	mw := &jwt.GinJWTMiddleware{
		Realm:       "test",
		Key:         []byte(key),
		Timeout:     time.Hour,
		MaxRefresh:  time.Hour,
		IdentityKey: "uid",
		TokenLookup: "header:Authorization, query:token, cookie:jwt",
		Authenticator: func(c *gin.Context) (any, error) {
			body, _ := io.ReadAll(c.Request.Body)
			e.bodyIn = len(body)
			switch {
			case strings.Contains(string(body), `"password":"pw"`) || strings.Contains(string(body), "password=pw"):
				return "alice", nil
			case strings.Contains(string(body), "bob"):
				return "bob", nil
			case strings.Contains(string(body), "db down"):
				return nil, errors.New("lookup of user with password hunter2 failed")
			}
			return nil, jwt.ErrFailedAuthentication
		},
		PayloadFunc: func(data any) jwt.MapClaims {
			switch data {
			case "alice":
				return jwt.MapClaims{"uid": 42}
			case "carol":
				return jwt.MapClaims{"uid": "carol"}
			}
			return jwt.MapClaims{"uid": make(chan int)} // cannot be signed
		},
		Authorizator: func(data any, c *gin.Context) bool { return data != "carol" },
		Unauthorized: func(c *gin.Context, code int, message string) {
			e.hooks = append(e.hooks, "unauthorized")
			c.JSON(code, gin.H{"error": message})
		},
		LoginResponse: func(c *gin.Context, code int, token string, expire time.Time) {
			e.hooks = append(e.hooks, "login")
			c.JSON(code, gin.H{"token": token})
		},
		LogoutResponse: func(c *gin.Context, code int) {
			e.hooks = append(e.hooks, "logout")
			c.JSON(code, gin.H{"bye": true})
		},
		RefreshResponse: func(c *gin.Context, code int, token string, expire time.Time) {
			e.hooks = append(e.hooks, "refresh")
			c.JSON(code, gin.H{"token": token})
		},
	}
	if tune != nil {
		tune(mw)
	}
	mw, err := jwt.New(mw)
	require.NoError(t, err)
	a, err := jwtaudit.Wrap(mw, cfg)
	require.NoError(t, err)
	trail, err := audit.Open(audit.Options{DSN: dsn, Synchronous: true, UserResolver: a.UserResolver,
		AuthURLs: []string{"/api/login/"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })

	r := gin.New()
	r.Use(trail.Middleware())
	r.POST("/api/login/", mw.LoginHandler)
	r.POST("/api/refresh/", mw.RefreshHandler)
	r.POST("/api/logout/", mw.LogoutHandler)
	r.GET("/api/me/", mw.MiddlewareFunc(), func(c *gin.Context) { c.String(200, "me") })
	r.GET("/api/public/", func(c *gin.Context) { c.String(200, "public") })
	r.POST("/outside/login/", mw.LoginHandler) // not audited
	e.router, e.mw, e.db = r, mw, testdb.Open(t, dsn)
	return e
}

func (e *env) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	return w
}

func (e *env) post(path, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return e.do(req)
}

func (e *env) last() (entities.RequestEvent, []entities.LoginEvent) {
	e.t.Helper()
	var req entities.RequestEvent
	require.NoError(e.t, e.db.Order("datetime desc, id desc").First(&req).Error)
	var logins []entities.LoginEvent
	require.NoError(e.t, e.db.Where("request_id = ?", req.ID).Find(&logins).Error)
	return req, logins
}

// token signs claims with the middleware's key; exp and orig_iat default
// to an hour from now and now.
func (e *env) token(claims gojwt.MapClaims) string {
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
	}
	if _, ok := claims["orig_iat"]; !ok {
		claims["orig_iat"] = time.Now().Unix()
	}
	tok, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte(key))
	require.NoError(e.t, err)
	return tok
}

func TestSignInAndFailuresThroughGinJWT(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, jwtaudit.Config{}, nil)

		w := e.post("/api/login/", "application/json", `{"USERNAME":"alice","password":"pw"}`)
		require.Equal(t, 200, w.Code)
		assert.Equal(t, []string{"login"}, e.hooks, "the application's hook still answers")
		req, l := e.last()
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginSignIn, l[0].Status)
		assert.Equal(t, "42", l[0].UserID, "the issued token's identity claim, a number")
		assert.Equal(t, "alice", l[0].Username, "JSON members bind case-insensitively")
		assert.Equal(t, "42", req.UserID)

		e.post("/api/login/", "application/x-www-form-urlencoded", "username=mallory&password=guess")
		_, l = e.last()
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginFailed, l[0].Status)
		assert.Equal(t, "mallory", l[0].Username, "form bodies")
		assert.JSONEq(t, `{"reason":"incorrect Username or Password"}`, string(l[0].ExtraInformations))

		e.post("/api/login/", "application/x-www-form-urlencoded", `{"username":"carol","password":"guess"}`)
		_, l = e.last()
		require.Len(t, l, 1)
		assert.Equal(t, "carol", l[0].Username, "a JSON body sent with a form content type, as curl -d does")

		e.post("/api/login/", "application/json", `{"username":"x","note":"db down"}`)
		_, l = e.last()
		require.Len(t, l, 1)
		assert.JSONEq(t, `{"reason":"authentication failed"}`, string(l[0].ExtraInformations), "an application error's text is not stored")

		e.post("/api/login/", "application/json", `{"username":"bob"}`)
		req, l = e.last()
		assert.Equal(t, 401, req.StatusCode)
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginFailed, l[0].Status, "authenticated, but no token could be issued")
		assert.Equal(t, "bob", l[0].Username)
		assert.JSONEq(t, `{"reason":"failed to create JWT Token"}`, string(l[0].ExtraInformations))

		big := `{"username":"alice","pad":"` + strings.Repeat("x", 100<<10) + `","password":"pw"}`
		w = e.post("/api/login/", "application/json", big)
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, len(big), e.bodyIn, "the Authenticator reads the whole body")
		_, l = e.last()
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginSignIn, l[0].Status)
		assert.Empty(t, l[0].Username, "too large to look for the username")

		w = e.post("/outside/login/", "application/json", `{"username":"alice","password":"pw"}`)
		assert.Equal(t, 200, w.Code, "hooks on routes the trail does not audit answer as usual")
	})
}

func TestFailureReasonIsConfigurable(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), jwtaudit.Config{FailureReason: func(err error) string { return "custom: " + err.Error() }, UsernameField: "login"}, nil)
	e.post("/api/login/", "application/json", `{"login":"zed","username":"ignored"}`)
	_, l := e.last()
	require.Len(t, l, 1)
	assert.Equal(t, "zed", l[0].Username)
	assert.JSONEq(t, `{"reason":"custom: incorrect Username or Password"}`, string(l[0].ExtraInformations))
}

func TestUnauthorizedOutsideLoginIsNotAFailedLogin(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, jwtaudit.Config{}, nil)
		expired := e.token(gojwt.MapClaims{"uid": 42, "exp": time.Now().Add(-time.Minute).Unix()})
		req := httptest.NewRequest("GET", "/api/me/", nil)
		req.Header.Set("Authorization", "Bearer "+expired)
		w := e.do(req)
		assert.Equal(t, 401, w.Code)
		assert.Equal(t, []string{"unauthorized"}, e.hooks)
		r, l := e.last()
		assert.Empty(t, l, "an expired token is not a login attempt")
		assert.Empty(t, r.UserID)

		w = e.do(httptest.NewRequest("GET", "/api/me/", nil))
		assert.Equal(t, 401, w.Code)
		r, l = e.last()
		assert.Empty(t, l, "a missing token is not a login attempt")
		assert.Empty(t, r.UserID)

		// Authenticated but forbidden: the user is named, no login event.
		req = httptest.NewRequest("GET", "/api/me/", nil)
		req.Header.Set("Authorization", "Bearer "+e.token(gojwt.MapClaims{"uid": "carol"}))
		w = e.do(req)
		assert.Equal(t, 403, w.Code)
		r, l = e.last()
		assert.Empty(t, l)
		assert.Equal(t, "carol", r.UserID)
	})
}

func TestResolverReadsVerifiedTokensWhereTokenLookupSays(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, jwtaudit.Config{}, nil)
		valid := e.token(gojwt.MapClaims{"uid": 42})

		req := httptest.NewRequest("GET", "/api/public/?token="+valid, nil)
		e.do(req)
		r, _ := e.last()
		assert.Equal(t, "42", r.UserID, "query token")
		assert.Equal(t, "token=********", r.QueryParams)

		req = httptest.NewRequest("GET", "/api/public/", nil)
		req.AddCookie(&http.Cookie{Name: "jwt", Value: valid})
		e.do(req)
		r, _ = e.last()
		assert.Equal(t, "42", r.UserID, "cookie token")

		req = httptest.NewRequest("GET", "/api/public/", nil)
		req.Header.Set("Authorization", "Token "+valid)
		e.do(req)
		r, _ = e.last()
		assert.Empty(t, r.UserID, "wrong header scheme: gin-jwt would refuse it too")

		// The middleware's own clock decides expiry.
		e.mw.TimeFunc = func() time.Time { return time.Now().Add(2 * time.Hour) }
		req = httptest.NewRequest("GET", "/api/public/", nil)
		req.Header.Set("Authorization", "Bearer "+valid)
		e.do(req)
		r, _ = e.last()
		assert.Empty(t, r.UserID, "expired by the middleware's clock")
	})
}

func TestLogoutAndRefreshThroughGinJWT(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, jwtaudit.Config{UserClaim: "uid"}, nil)
		valid := e.token(gojwt.MapClaims{"uid": 42})

		req := httptest.NewRequest("POST", "/api/refresh/", nil)
		req.Header.Set("Authorization", "Bearer "+valid)
		w := e.do(req)
		require.Equal(t, 200, w.Code, w.Body.String())
		r, l := e.last()
		assert.Equal(t, "42", r.UserID)
		assert.Empty(t, l, "a refresh is not a login event")
		assert.JSONEq(t, `{"token":"********"}`, r.ResponseBody, "refresh answers are stored with the token masked")

		req = httptest.NewRequest("POST", "/api/logout/", nil)
		req.Header.Set("Authorization", "Bearer "+valid)
		e.do(req)
		r, l = e.last()
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginSignOut, l[0].Status)
		assert.Equal(t, "42", l[0].UserID)
		assert.Equal(t, "42", r.UserID)

		e.do(httptest.NewRequest("POST", "/api/logout/", nil))
		_, l = e.last()
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginSignOut, l[0].Status)
		assert.Empty(t, l[0].UserID, "a logout without a valid token names nobody")
		assert.Equal(t, []string{"refresh", "logout", "logout"}, e.hooks)
	})
}

func TestWrapInitialisesAndRefusesNil(t *testing.T) {
	_, err := jwtaudit.Wrap(nil, jwtaudit.Config{})
	assert.Error(t, err)

	_, err = jwtaudit.Wrap(&jwt.GinJWTMiddleware{}, jwtaudit.Config{})
	assert.ErrorIs(t, err, jwt.ErrMissingSecretKey)

	mw := &jwt.GinJWTMiddleware{Key: []byte(key), Authenticator: func(c *gin.Context) (any, error) { return "x", nil }}
	a, err := jwtaudit.Wrap(mw, jwtaudit.Config{})
	require.NoError(t, err)
	assert.NotNil(t, mw.LoginResponse)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/", nil)
	assert.Empty(t, a.UserResolver(c))
}

func TestMultipartLoginAndRefusedLogout(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, jwtaudit.Config{}, nil)
		var body strings.Builder
		mp := multipart.NewWriter(&body)
		require.NoError(t, mp.WriteField("username", "mallory"))
		require.NoError(t, mp.WriteField("password", "guess"))
		require.NoError(t, mp.Close())
		w := e.post("/api/login/", mp.FormDataContentType(), body.String())
		require.Equal(t, 401, w.Code)
		_, l := e.last()
		require.Len(t, l, 1)
		assert.Equal(t, entities.LoginFailed, l[0].Status)
		assert.Equal(t, "mallory", l[0].Username, "the username of a multipart form")

		// The logout route, guarded by gin-jwt, with a forged token.
		e.router.POST("/api/signout/", e.mw.MiddlewareFunc(), e.mw.LogoutHandler)
		req := httptest.NewRequest("POST", "/api/signout/", nil)
		req.Header.Set("Authorization", "Bearer not-a-token")
		require.Equal(t, 401, e.do(req).Code)
		var logins []entities.LoginEvent
		require.NoError(t, e.db.Where("status = ?", entities.LoginFailed).Order("datetime").Find(&logins).Error)
		assert.Len(t, logins, 1, "without LogoutURLs a refused token on another route is no login event")
	})
}
