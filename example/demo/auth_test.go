package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/example/demo"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/testlog"
	"github.com/gin-gonic/gin"
	gojwt "github.com/golang-jwt/jwt/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// ginLog collects gin's access log, shared by every test of the package.
var ginLog = &testlog.Buffer{}

func init() {
	gin.SetMode(gin.TestMode)
	gin.DefaultWriter = ginLog
	gin.DefaultErrorWriter = ginLog
}

const jwtTestSecret = "login-test-signing-key-0123456789"

// loginApp is the demo application on a fresh app database and a fresh
// audit database, auditing synchronously so that every row is committed
// when a request returns.
type loginApp struct {
	t      *testing.T
	app    *demo.App
	audit  *gorm.DB // a separate connection, to read what was stored
	log    *testlog.Buffer
	userID string // the demo user's id in the app database
}

func newLoginApp(t *testing.T, auditDSN string, password string) *loginApp {
	t.Helper()
	la := &loginApp{t: t, log: &testlog.Buffer{}}
	app, err := demo.New(demo.Config{
		AppDSN:       filepath.Join(t.TempDir(), "app.sqlite3"),
		AuditDSN:     auditDSN,
		DemoUser:     "admin",
		DemoPassword: password,
		JWTSecret:    jwtTestSecret,
		BcryptCost:   bcrypt.MinCost,
		Audit: audit.Options{
			Synchronous: true,
			Logger:      slog.New(slog.NewTextHandler(la.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	la.app = app
	la.audit = testdb.Open(t, auditDSN)
	var u demo.User
	require.NoError(t, app.DB.Where("username = ?", "admin").First(&u).Error)
	assert.NotContains(t, u.PasswordHash, password, "the demo password is stored as a bcrypt hash")
	assert.True(t, strings.HasPrefix(u.PasswordHash, "$2"), "bcrypt hash")
	la.userID = fmt.Sprint(u.ID)
	return la
}

func (la *loginApp) do(method, path, body, token string) *httptest.ResponseRecorder {
	return la.doType(method, path, body, "application/json", token)
}

func (la *loginApp) doType(method, path, body, contentType, token string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	la.app.Router.ServeHTTP(w, req)
	return w
}

func (la *loginApp) login(username, password string) (*httptest.ResponseRecorder, string) {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	w := la.do("POST", "/api/token/", string(body), "")
	var out struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w, out.Token
}

func (la *loginApp) requests() []entities.RequestEvent {
	la.t.Helper()
	var rows []entities.RequestEvent
	require.NoError(la.t, la.audit.Order("datetime, id").Find(&rows).Error)
	return rows
}

func (la *loginApp) lastRequest() entities.RequestEvent {
	la.t.Helper()
	rows := la.requests()
	require.NotEmpty(la.t, rows)
	return rows[len(rows)-1]
}

func (la *loginApp) logins() []entities.LoginEvent {
	la.t.Helper()
	var rows []entities.LoginEvent
	require.NoError(la.t, la.audit.Order("datetime, id").Find(&rows).Error)
	return rows
}

// signed makes a token with the given claims and key, like an attacker or
// an old session would present it.
func signed(t *testing.T, key string, claims gojwt.MapClaims) string {
	t.Helper()
	s, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte(key))
	require.NoError(t, err)
	return s
}

func TestLoginSignInIsOneLoginEventLinkedToItsRequest(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		la := newLoginApp(t, dsn, "admin")
		w, token := la.login("admin", "admin")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		require.NotEmpty(t, token)

		req := la.lastRequest()
		assert.Equal(t, "/api/token/", req.URL)
		assert.Equal(t, la.userID, req.UserID, "the login request names the user who signed in")
		assert.Empty(t, req.RequestBody, "auth URL bodies are never stored")
		assert.Empty(t, req.ResponseBody, "the issued token is never stored")

		logins := la.logins()
		require.Len(t, logins, 1)
		l := logins[0]
		assert.Equal(t, entities.LoginSignIn, l.Status)
		assert.Equal(t, la.userID, l.UserID)
		assert.Equal(t, "admin", l.Username)
		require.NotNil(t, l.RequestID)
		assert.Equal(t, req.ID, *l.RequestID)
	})
}

func TestFailedLoginsStoreTheUsernameTriedAndNoUser(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		la := newLoginApp(t, dsn, "admin")
		cases := []struct {
			name, body, username, reason string
		}{
			{"wrong password", `{"username":"admin","password":"wrong-guess-1"}`, "admin", "incorrect Username or Password"},
			{"unknown user", `{"username":"mallory","password":"wrong-guess-2"}`, "mallory", "incorrect Username or Password"},
			{"missing password", `{"username":"admin"}`, "admin", "missing Username or Password"},
			{"malformed JSON", `{"username":"eve","password":"wrong-guess-3"`, "", "missing Username or Password"},
			{"invalid UTF-8", "{\"username\":\"ad\xffmin\",\"password\":\"wrong-guess-4\"}", "ad\uFFFDmin", "incorrect Username or Password"},
			{"not JSON at all", "\x00\x01binary\xfe", "", "missing Username or Password"},
		}
		for _, tc := range cases {
			w := la.do("POST", "/api/token/", tc.body, "")
			assert.Equal(t, http.StatusUnauthorized, w.Code, tc.name)
			assert.NotContains(t, w.Body.String(), "token\":\"", tc.name)
		}

		reqs := la.requests()
		logins := la.logins()
		require.Len(t, reqs, len(cases))
		require.Len(t, logins, len(cases), "exactly one login event per attempt")
		for i, tc := range cases {
			r, l := reqs[i], logins[i]
			assert.Equal(t, 401, r.StatusCode, tc.name)
			assert.Empty(t, r.UserID, "%s: a failed login names no user", tc.name)
			assert.Empty(t, r.RequestBody, tc.name)
			assert.Equal(t, entities.LoginFailed, l.Status, tc.name)
			assert.Equal(t, tc.username, l.Username, tc.name)
			assert.Empty(t, l.UserID, tc.name)
			require.NotNil(t, l.RequestID, tc.name)
			assert.Equal(t, r.ID, *l.RequestID, tc.name)
			assert.JSONEq(t, fmt.Sprintf(`{"reason":%q}`, tc.reason), string(l.ExtraInformations), tc.name)
		}
	})
}

func TestLogoutIsASignOutOfTheTokensUser(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		la := newLoginApp(t, dsn, "admin")
		_, token := la.login("admin", "admin")

		w := la.do("POST", "/api/logout/", "", token)
		require.Equal(t, http.StatusOK, w.Code)
		logout := la.lastRequest()
		assert.Equal(t, la.userID, logout.UserID)

		// Without a token, logout is refused: a failed login event, as
		// drf-audit-trail records it.
		w = la.do("POST", "/api/logout/", "", "")
		assert.Equal(t, http.StatusUnauthorized, w.Code)

		logins := la.logins()
		require.Len(t, logins, 3)
		assert.Equal(t, entities.LoginFailed, logins[2].Status)
		assert.Empty(t, logins[2].UserID)
		assert.Equal(t, entities.LoginSignIn, logins[0].Status)
		assert.Equal(t, entities.LoginSignOut, logins[1].Status)
		assert.Equal(t, la.userID, logins[1].UserID)
		assert.Equal(t, logout.ID, *logins[1].RequestID)
		assert.Empty(t, la.lastRequest().UserID)
	})
}

func TestRefreshNamesTheUserAndIsNotALogin(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		la := newLoginApp(t, dsn, "admin")
		_, token := la.login("admin", "admin")

		w := la.do("POST", "/api/token/refresh/", "", token)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var out struct {
			Token string `json:"token"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		require.NotEmpty(t, out.Token)
		refresh := la.lastRequest()
		assert.Equal(t, "/api/token/refresh/", refresh.URL)
		assert.Equal(t, la.userID, refresh.UserID)
		assert.Empty(t, refresh.ResponseBody, "the refreshed token is not stored")

		w = la.do("GET", "/api/protected/", "", out.Token)
		assert.Equal(t, http.StatusOK, w.Code)

		// A forged token cannot be refreshed and names nobody.
		forged := signed(t, "not-the-key", gojwt.MapClaims{demo.IdentityKey: la.userID, "exp": time.Now().Add(time.Hour).Unix(), "orig_iat": time.Now().Unix()})
		w = la.do("POST", "/api/token/refresh/", "", forged)
		assert.Equal(t, http.StatusUnauthorized, w.Code)
		assert.Empty(t, la.lastRequest().UserID)

		logins := la.logins()
		require.Len(t, logins, 1, "refreshes are not login events")
		assert.Equal(t, entities.LoginSignIn, logins[0].Status)
	})
}

func TestExpiredAndForgedTokensNeverNameAUser(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		la := newLoginApp(t, dsn, "admin")
		_, valid := la.login("admin", "admin")
		past := time.Now().Add(-2 * time.Hour)
		future := time.Now().Add(time.Hour)
		bad := map[string]string{
			"expired": signed(t, jwtTestSecret, gojwt.MapClaims{demo.IdentityKey: la.userID, "exp": past.Unix(), "orig_iat": past.Add(-time.Hour).Unix()}),
			"forged":  signed(t, "guessed-key", gojwt.MapClaims{demo.IdentityKey: la.userID, "exp": future.Unix(), "orig_iat": time.Now().Unix()}),
			"no exp":  signed(t, jwtTestSecret, gojwt.MapClaims{demo.IdentityKey: la.userID}),
			"alg none": func() string {
				s, err := gojwt.NewWithClaims(gojwt.SigningMethodNone, gojwt.MapClaims{demo.IdentityKey: la.userID, "exp": future.Unix()}).SignedString(gojwt.UnsafeAllowNoneSignatureType)
				require.NoError(t, err)
				return s
			}(),
			"tampered": func() string { // the valid token with its payload swapped
				parts := strings.Split(valid, ".")
				other := strings.Split(signed(t, "x", gojwt.MapClaims{demo.IdentityKey: "999", "exp": future.Unix()}), ".")
				return parts[0] + "." + other[1] + "." + parts[2]
			}(),
		}

		// First the valid token: the request is audited with the user.
		w := la.do("GET", "/api/protected/", "", valid)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, la.userID, la.lastRequest().UserID)

		for name, tok := range bad {
			w := la.do("GET", "/api/protected/", "", tok)
			assert.Contains(t, []int{400, 401}, w.Code, name)
			r := la.lastRequest()
			assert.Equal(t, "/api/protected/", r.URL, name)
			assert.Empty(t, r.UserID, "%s token on a protected route", name)

			w = la.do("GET", "/api/ping/", "", tok)
			assert.Equal(t, http.StatusOK, w.Code, name)
			assert.Empty(t, la.lastRequest().UserID, "%s token on a public route", name)
		}
		logins := la.logins()
		require.Len(t, logins, 1, "a rejected token is not a failed login")
		assert.Equal(t, entities.LoginSignIn, logins[0].Status)
	})
}

func TestUserIsNamedOnProtectedAndPublicRoutes(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		la := newLoginApp(t, dsn, "admin")
		_, token := la.login("admin", "admin")

		w := la.do("GET", "/api/protected/", "", token)
		require.Equal(t, http.StatusOK, w.Code)
		assert.JSONEq(t, fmt.Sprintf(`{"user":{"id":%q,"username":"admin","is_admin":true}}`, la.userID), w.Body.String())
		assert.Equal(t, la.userID, la.lastRequest().UserID, "protected route")

		w = la.do("GET", "/api/ping/", "", token)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, la.userID, la.lastRequest().UserID, "public route carrying a valid token")

		w = la.do("GET", "/api/ping/", "", "")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Empty(t, la.lastRequest().UserID, "public route without a token")

		product := `{"name":"Pen","code":"P-1","price":1.5,"quantity":3}`
		w = la.do("POST", "/api/product/", product, "")
		assert.Equal(t, http.StatusUnauthorized, w.Code, "product writes need the token")
		assert.Empty(t, la.lastRequest().UserID)
		assert.Len(t, la.logins(), 1)

		// Last request on this router: the demo's product handlers pass the
		// gin.Context to GORM, which gin recycles for the next request.
		w = la.do("POST", "/api/product/", product, token)
		assert.Equal(t, http.StatusCreated, w.Code, w.Body.String())
		assert.Equal(t, la.userID, la.lastRequest().UserID)
	})
}

func TestNoPasswordOrTokenIsStoredOrLogged(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		const password = "Correct-Horse-Battery-7781"
		const wrongPassword = "Wrong-Staple-Guess-4432"
		la := newLoginApp(t, dsn, password)

		w, token := la.login("admin", password)
		require.Equal(t, http.StatusOK, w.Code)
		la.login("admin", wrongPassword)
		la.do("POST", "/api/token/", `{"username":"admin","password":"`+wrongPassword+`"`, "") // malformed
		la.doType("POST", "/api/token/", "username=admin&password="+wrongPassword, "application/x-www-form-urlencoded", "")
		w = la.do("POST", "/api/token/refresh/", "", token)
		require.Equal(t, http.StatusOK, w.Code)
		var refreshed struct {
			Token string `json:"token"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &refreshed))
		la.do("GET", "/api/protected/", "", token)
		la.do("GET", "/api/ping/?token="+token+"&password="+password, "", "")
		la.do("POST", "/api/logout/", "", token)

		secrets := map[string]string{
			"password":        password,
			"wrong password":  wrongPassword,
			"token":           token,
			"refreshed token": refreshed.Token,
			"token signature": token[strings.LastIndex(token, ".")+1:],
		}
		var leaks []string
		for _, model := range entities.All() {
			stmt := &gorm.Statement{DB: la.audit}
			require.NoError(t, stmt.Parse(model))
			table := stmt.Schema.Table
			var rows []map[string]any
			require.NoError(t, la.audit.Table(table).Find(&rows).Error)
			for _, row := range rows {
				for col, v := range row {
					var text string
					switch s := v.(type) {
					case string:
						text = s
					case []byte:
						text = string(s)
					default:
						continue
					}
					for what, secret := range secrets {
						if strings.Contains(text, secret) {
							leaks = append(leaks, fmt.Sprintf("%s.%s holds the %s", table, col, what))
						}
					}
				}
			}
		}
		assert.Empty(t, leaks)
		// The scan read real rows, and the token in the query was masked.
		assert.Len(t, la.logins(), 5, "sign in, three failures, sign out")
		var ping entities.RequestEvent
		require.NoError(t, la.audit.Where("url = ?", "/api/ping/").First(&ping).Error)
		assert.Equal(t, "token=********&password=********", ping.QueryParams)
		for what, secret := range secrets {
			assert.NotContains(t, la.log.String(), secret, "audit log holds the %s", what)
		}

		// What is stored is still useful: the attempts are there.
		var failed int64
		require.NoError(t, la.audit.Model(&entities.LoginEvent{}).Where("status = ? AND username = ?", entities.LoginFailed, "admin").Count(&failed).Error)
		assert.EqualValues(t, 2, failed, "the wrong password and the form body (the malformed JSON has no readable username)")
	})
}

func TestConcurrentLoginsAreOneLoginEventEach(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		la := newLoginApp(t, dsn, "admin")
		const n = 24
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Go(func() {
				if i%2 == 0 {
					w, _ := la.login("admin", "admin")
					codes[i] = w.Code
				} else {
					w, _ := la.login(fmt.Sprintf("user-%02d", i), "nope")
					codes[i] = w.Code
				}
			})
		}
		wg.Wait()
		for i, c := range codes {
			if i%2 == 0 {
				assert.Equal(t, 200, c, i)
			} else {
				assert.Equal(t, 401, c, i)
			}
		}

		reqs := la.requests()
		require.Len(t, reqs, n)
		byID := map[entities.ID]entities.RequestEvent{}
		for _, r := range reqs {
			byID[r.ID] = r
		}
		logins := la.logins()
		require.Len(t, logins, n, "exactly one login event per request")
		seen := map[entities.ID]bool{}
		failedNames := map[string]bool{}
		signIns := 0
		for _, l := range logins {
			require.NotNil(t, l.RequestID)
			r, ok := byID[*l.RequestID]
			require.True(t, ok, "login event linked to an audited request")
			assert.False(t, seen[r.ID], "two login events for one request")
			seen[r.ID] = true
			switch l.Status {
			case entities.LoginSignIn:
				signIns++
				assert.Equal(t, 200, r.StatusCode)
				assert.Equal(t, la.userID, l.UserID)
				assert.Equal(t, "admin", l.Username)
			case entities.LoginFailed:
				assert.Equal(t, 401, r.StatusCode)
				assert.Empty(t, l.UserID)
				failedNames[l.Username] = true
			default:
				t.Errorf("unexpected status %q", l.Status)
			}
		}
		assert.Equal(t, n/2, signIns)
		assert.Len(t, failedNames, n/2, "each failed attempt keeps its own username")
	})
}
