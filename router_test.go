package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/example/demo"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/testlog"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

func init() { gin.SetMode(gin.TestMode) }

// harness is an audited router on a real audit database.
type harness struct {
	t      *testing.T
	router *gin.Engine
	trail  *audit.Trail
	db     *gorm.DB // a separate connection for reading what was stored
	log    *testlog.Buffer
}

// newHarness builds gin.New() + Recovery + the audit middleware with the
// demo-like routes used across tests.
func newHarness(t *testing.T, dsn string, opts audit.Options, recovery bool) *harness {
	t.Helper()
	h := &harness{t: t, log: &testlog.Buffer{}}
	opts.DSN = dsn
	opts.Logger = slog.New(slog.NewTextHandler(h.log, nil))
	trail, err := audit.Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	h.trail = trail
	h.db = testdb.Open(t, dsn)
	r := gin.New()
	if recovery {
		r.Use(gin.RecoveryWithWriter(io.Discard))
	}
	r.Use(trail.Middleware())
	r.GET("/api/ping/", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok"}) })
	r.POST("/api/echo/", func(c *gin.Context) {
		body, _ := io.ReadAll(c.Request.Body)
		c.Data(200, c.ContentType(), body)
	})
	r.POST("/api/token/", func(c *gin.Context) {
		c.JSON(200, gin.H{"access": "eyJ.secret.token"})
	})
	r.GET("/api/boom/", func(c *gin.Context) { panic(fmt.Errorf("boom %d", 42)) })
	r.GET("/api/fail/", func(c *gin.Context) {
		_ = c.Error(errors.New("database unreachable"))
		c.JSON(503, gin.H{"detail": "try later"})
	})
	r.GET("/api/extra/", func(c *gin.Context) {
		ev := c.MustGet("audit").(*audit.Event)
		ev.SetUser("user-7")
		ev.SetExtra(map[string]any{"data": "Example of extra information", "api_key": "k-123"})
		c.String(200, "ok")
	})
	r.GET("/health", func(c *gin.Context) { c.String(200, "up") })
	h.router = r
	return h
}

func (h *harness) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.router.ServeHTTP(w, req)
	return w
}

// rows closes the trail (draining it) and returns every request event.
func (h *harness) rows() []entities.RequestEvent {
	h.t.Helper()
	require.NoError(h.t, h.trail.Close(context.Background()))
	var rows []entities.RequestEvent
	require.NoError(h.t, h.db.Order("datetime, id").Find(&rows).Error)
	return rows
}

func (h *harness) only() entities.RequestEvent {
	h.t.Helper()
	rows := h.rows()
	require.Len(h.t, rows, 1)
	return rows[0]
}

func TestUnmatchedRouteIsAuditedAs404(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{}, true)
		w := h.do(httptest.NewRequest("GET", "/api/does-not-exist/", nil))
		require.Equal(t, 404, w.Code)
		r := h.only()
		assert.Equal(t, "GET", r.Method)
		assert.Equal(t, 404, r.StatusCode)
		assert.Equal(t, "/api/does-not-exist/", r.URL)
		assert.Empty(t, r.QueryParams)
		assert.Empty(t, r.UserID)
		assert.Equal(t, "http", r.RequestType)
		assert.False(t, r.ID.IsZero())
		assert.WithinDuration(t, time.Now(), r.Datetime, time.Minute)
	})
}

func TestOnlyIncludedAndNotExcludedPathsAreAudited(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{Exclude: []string{`^/api/ping/`}}, true)
	var sawHandle bool
	h.router.GET("/api/seen/", func(c *gin.Context) { sawHandle = audit.From(c) != nil; c.Status(204) })
	h.router.GET("/public/", func(c *gin.Context) {
		_, exists := c.Get(audit.ContextKey)
		assert.False(t, exists, "unaudited requests carry no handle")
		audit.From(c).SetExtra("ignored") // nil handle: a no-op, not a panic
		c.Status(204)
	})
	h.do(httptest.NewRequest("GET", "/health", nil))
	h.do(httptest.NewRequest("GET", "/public/", nil))
	h.do(httptest.NewRequest("GET", "/api/ping/", nil))
	h.do(httptest.NewRequest("GET", "/api/seen/", nil))
	r := h.only()
	assert.Equal(t, "/api/seen/", r.URL)
	assert.True(t, sawHandle)
}

func TestLongURLAndQueryAreTruncatedWithAWarning(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{}, true)
		longPath := "/api/" + strings.Repeat("a", 3000)
		longQuery := "q=" + strings.Repeat("b", 5000)
		w := h.do(httptest.NewRequest("GET", longPath+"?"+longQuery, nil))
		require.Equal(t, 404, w.Code)
		r := h.only()
		assert.Len(t, r.URL, 2048)
		assert.Equal(t, longPath[:2048], r.URL)
		assert.Len(t, r.QueryParams, 2048)
		logs := h.log.String()
		assert.Contains(t, logs, "field=url original_length=3005")
		assert.Contains(t, logs, "field=query_params original_length=5002")
	})
}

func TestPanicIsRecordedAndRecoveryStillAnswers500(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{}, true)
		w := h.do(httptest.NewRequest("GET", "/api/boom/", nil))
		require.Equal(t, 500, w.Code)
		r := h.only()
		assert.Equal(t, 500, r.StatusCode)
		assert.Equal(t, "panic: error", r.ErrorType, "a plain error has no more meaningful type")
		assert.Equal(t, "boom 42", r.ErrorMessage)
		assert.Contains(t, r.ErrorStacktrace, "router_test.go", "the stack reaches the handler that panicked")
		assert.Contains(t, r.ErrorStacktrace, "goroutine ")
	})
}

func TestPanicPropagatesWithoutRecovery(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{}, false)
	func() {
		defer func() {
			rec := recover()
			require.NotNil(t, rec, "without gin.Recovery the panic must reach net/http as before")
			assert.EqualError(t, rec.(error), "boom 42")
		}()
		h.do(httptest.NewRequest("GET", "/api/boom/", nil))
	}()
	r := h.only()
	assert.Equal(t, "boom 42", r.ErrorMessage)
	assert.Equal(t, 500, r.StatusCode)
}

func TestContextErrorsAreRecorded(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{}, true)
	w := h.do(httptest.NewRequest("GET", "/api/fail/", nil))
	require.Equal(t, 503, w.Code)
	r := h.only()
	assert.Equal(t, 503, r.StatusCode)
	assert.Equal(t, "error", r.ErrorType, "a plain error has no more meaningful type")
	assert.Equal(t, "database unreachable", r.ErrorMessage)
	assert.JSONEq(t, `{"detail":"try later"}`, r.ResponseBody)
}

func TestJSONBodiesAreStoredAsJSONWithSecretsMasked(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{}, true)
		body := `{"name":"Caneta","password":"hunter2","nested":{"refresh":"r-tok"},"price":2.5}`
		req := httptest.NewRequest("POST", "/api/echo/?page=2&access_token=qs-secret", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer header-secret")
		req.Header.Set("Cookie", "session=cookie-secret")
		w := h.do(req)
		require.Equal(t, body, w.Body.String(), "the handler and the client see the real body")
		r := h.only()
		want := `{"name":"Caneta","password":"********","nested":{"refresh":"********"},"price":2.5}`
		assert.Equal(t, want, r.RequestBody, "JSON text, not a JSON string holding JSON")
		assert.Equal(t, want, r.ResponseBody)
		assert.Equal(t, "page=2&access_token=********", r.QueryParams)
		assertNoSecret(t, r, "hunter2", "r-tok", "qs-secret", "header-secret", "cookie-secret")
	})
}

func TestAuthURLBodiesAreNeverStored(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{}, true)
	req := httptest.NewRequest("POST", "/api/token/", strings.NewReader(`{"username":"ana","pwd":"plain-text-pw"}`))
	req.Header.Set("Content-Type", "application/json")
	h.do(req)
	r := h.only()
	assert.Empty(t, r.RequestBody)
	assert.Empty(t, r.ResponseBody)
	assertNoSecret(t, r, "plain-text-pw", "eyJ.secret.token")
}

func assertNoSecret(t *testing.T, r entities.RequestEvent, secrets ...string) {
	t.Helper()
	all, err := json.Marshal(r)
	require.NoError(t, err)
	for _, s := range secrets {
		assert.NotContains(t, string(all), s)
	}
}

func TestSkipBodyRules(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{
		SkipRequestBody:  []audit.BodyRule{{Route: `^/api/echo/$`, Method: "post"}},
		SkipResponseBody: []audit.BodyRule{{Route: `^/api/ping/`, Method: "ALL"}},
	}, true)
	h.do(httptest.NewRequest("POST", "/api/echo/", strings.NewReader(`{"a":1}`)))
	h.do(httptest.NewRequest("GET", "/api/ping/", nil))
	rows := h.rows()
	require.Len(t, rows, 2)
	assert.Empty(t, rows[0].RequestBody, "request body skipped for POST /api/echo/")
	assert.Equal(t, `{"a":1}`, rows[0].ResponseBody, "its response body is kept")
	assert.Empty(t, rows[1].ResponseBody, "response body skipped for /api/ping/")
}

func TestLargeBodiesStreamAndAreStoredCut(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{MaxBodyBytes: 1024}, true)
	const size = 256 << 20 // 256 MiB, never held in memory
	var got int64
	h.router.POST("/api/upload/", func(c *gin.Context) {
		n, err := io.Copy(io.Discard, c.Request.Body)
		require.NoError(t, err)
		got = n
		c.JSON(200, gin.H{"received": n})
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req := httptest.NewRequest("POST", "/api/upload/", io.LimitReader(repeatReader('x'), size))
	req.Header.Set("Content-Type", "text/plain")
	w := h.do(req)
	runtime.ReadMemStats(&after)
	require.Equal(t, 200, w.Code)
	assert.Equal(t, int64(size), got, "the handler reads every byte")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "the upload is not buffered")
	r := h.only()
	assert.True(t, strings.HasPrefix(r.RequestBody, strings.Repeat("x", 1024)))
	assert.Contains(t, r.RequestBody, fmt.Sprintf("[audit: body truncated, 1024 of %d bytes stored]", size))
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestBinaryBodiesAreNotStored(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{}, true)
	req := httptest.NewRequest("POST", "/api/echo/", bytes.NewReader([]byte{0x89, 'P', 'N', 'G', 0, 0, 0xff}))
	req.Header.Set("Content-Type", "image/png")
	w := h.do(req)
	require.Equal(t, 7, w.Body.Len())
	r := h.only()
	assert.Equal(t, "[audit: image/png body of 7 bytes not stored]", r.RequestBody)
}

func TestNULBytesAndInvalidUTF8NeverBreakStorage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{}, true)
		req := httptest.NewRequest("POST", "/api/echo/?q=%00%ff", strings.NewReader("text\x00with\xffbad bytes"))
		req.Header.Set("Content-Type", "text/plain")
		w := h.do(req)
		require.Equal(t, "text\x00with\xffbad bytes", w.Body.String(), "the application's answer is untouched")
		r := h.only()
		assert.Equal(t, "textwith\uFFFDbad bytes", r.RequestBody)
		assert.Equal(t, "q=%00%ff", r.QueryParams)
	})
}

func TestExtraAndUserAreStored(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{}, true)
		h.do(httptest.NewRequest("GET", "/api/extra/", nil))
		r := h.only()
		assert.Equal(t, "user-7", r.UserID)
		assert.JSONEq(t, `{"data":"Example of extra information","api_key":"********"}`, string(r.ExtraInformations))
	})
}

func TestUserResolverAndConcurrentHandleUse(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{
		UserResolver: func(c *gin.Context) string { return c.GetHeader("X-Demo-User") },
	}, true)
	h.router.GET("/api/parallel/", func(c *gin.Context) {
		ev := audit.From(c)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() { defer wg.Done(); ev.SetExtra(map[string]int{"worker": i}) }()
		}
		wg.Wait()
		c.Status(204)
	})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("GET", "/api/parallel/", nil)
			req.Header.Set("X-Demo-User", fmt.Sprintf("u%d", i))
			h.do(req)
		}()
	}
	wg.Wait()
	rows := h.rows()
	require.Len(t, rows, 50)
	users := map[string]bool{}
	for _, r := range rows {
		users[r.UserID] = true
		assert.Regexp(t, `^\{"worker":[0-7]\}$`, string(r.ExtraInformations))
	}
	assert.Len(t, users, 50)
}

func TestClientIPHonoursTrustedProxies(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{}, true)
	require.NoError(t, h.router.SetTrustedProxies(nil))
	req := httptest.NewRequest("GET", "/api/ping/", nil)
	req.RemoteAddr = "203.0.113.9:5555"
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	h.do(req)
	require.NoError(t, h.router.SetTrustedProxies([]string{"203.0.113.9"}))
	h.do(req)
	rows := h.rows()
	require.Len(t, rows, 2)
	assert.Equal(t, "203.0.113.9", rows[0].IPAddress, "a spoofed header from an untrusted peer is ignored")
	assert.Equal(t, "6.6.6.6", rows[1].IPAddress, "a trusted proxy's header is honoured")
}

func TestTwoTrailsInOneProcess(t *testing.T) {
	a := newHarness(t, testdb.SQLite(t), audit.Options{}, true)
	b := newHarness(t, testdb.SQLite(t), audit.Options{Include: []string{`^/health$`}}, true)
	a.do(httptest.NewRequest("GET", "/api/ping/", nil))
	b.do(httptest.NewRequest("GET", "/health", nil))
	b.do(httptest.NewRequest("GET", "/api/ping/", nil))
	ra, rb := a.rows(), b.rows()
	require.Len(t, ra, 1)
	require.Len(t, rb, 1)
	assert.Equal(t, "/api/ping/", ra[0].URL)
	assert.Equal(t, "/health", rb[0].URL)
}

func TestCloseDrainsEveryAcceptedEvent(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		opts := audit.Options{}
		opts.Writer.FlushInterval = time.Hour // nothing is written before Close
		h := newHarness(t, dsn, opts, true)
		const n = 500
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range n / 10 {
					h.do(httptest.NewRequest("GET", "/api/ping/", nil))
				}
			}()
		}
		wg.Wait()
		rows := h.rows()
		assert.Len(t, rows, n)
		st := h.trail.Stats()
		assert.Equal(t, int64(n), st.Written)
		assert.Zero(t, st.Dropped)
		assert.Zero(t, st.QueueDepth)
	})
}

func TestSynchronousModeCommitsBeforeTheResponseReturns(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{Synchronous: true}, true)
		for i := range 5 {
			h.do(httptest.NewRequest("GET", fmt.Sprintf("/api/ping/?i=%d", i), nil))
			var n int64
			require.NoError(t, h.db.Model(&entities.RequestEvent{}).Count(&n).Error)
			assert.Equal(t, int64(i+1), n)
		}
	})
}

func TestInvalidOptionsAreRefused(t *testing.T) {
	_, err := audit.Open(audit.Options{DSN: testdb.SQLite(t), Include: []string{"(unclosed"}})
	require.ErrorContains(t, err, "Options.Include")
	_, err = audit.Open(audit.Options{DSN: testdb.SQLite(t), SkipRequestBody: []audit.BodyRule{{Route: "["}}})
	require.ErrorContains(t, err, "Options.SkipRequestBody")
	assert.Panics(t, func() { audit.New(audit.Options{DSN: testdb.SQLite(t), Exclude: []string{"*"}}) })
}

func TestEndpointsAreGroupedByRouteTemplate(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn, audit.Options{}, true)
		h.router.GET("/api/product/:id/", func(c *gin.Context) { c.Status(200) })
		for _, id := range []string{"12", "13", "14"} {
			h.do(httptest.NewRequest("GET", "/api/product/"+id+"/", nil))
		}
		h.do(httptest.NewRequest("GET", "/api/nowhere/", nil))
		rows := h.rows()
		require.Len(t, rows, 4)
		assert.Equal(t, "/api/product/:id/", rows[0].Route)
		assert.Equal(t, "/api/product/12/", rows[0].URL)
		assert.Empty(t, rows[3].Route, "no route matched the 404")

		stats, err := query.EndpointStats(context.Background(), h.db, query.EndpointFilter{})
		require.NoError(t, err)
		require.Len(t, stats, 2)
		assert.Equal(t, "/api/product/:id/", stats[0].URL)
		assert.Equal(t, int64(3), stats[0].Count)
		assert.Equal(t, "/api/nowhere/", stats[1].URL)
	})
}

func TestResponseWrittenWithWriteStringIsCaptured(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{MaxBodyBytes: 8}, true)
	h.router.GET("/api/stream/", func(c *gin.Context) {
		c.Header("Content-Type", "text/plain")
		c.Status(200)
		_, _ = c.Writer.WriteString("hello ")
		_, _ = c.Writer.WriteString("world")
	})
	w := h.do(httptest.NewRequest("GET", "/api/stream/", nil))
	require.Equal(t, "hello world", w.Body.String())
	r := h.only()
	assert.Equal(t, "hello wo\n[audit: body truncated, 8 of 11 bytes stored]", r.ResponseBody)
	assert.Equal(t, int64(11), r.ResponseSize)
}

func TestTwoTrailsOnOneAuditDatabase(t *testing.T) {
	dsn := testdb.SQLite(t)
	require.NoError(t, os.MkdirAll(dsn+".spool", 0o755)) // left by an earlier outage
	a := newHarness(t, dsn, audit.Options{}, true)
	b := newHarness(t, dsn, audit.Options{}, true) // not refused: the spool is locked by a
	a.do(httptest.NewRequest("GET", "/api/ping/", nil))
	b.do(httptest.NewRequest("GET", "/api/ping/", nil))
	require.NoError(t, a.trail.Close(context.Background()))
	assert.Len(t, b.rows(), 2, "both trails write to the shared audit database")
	// During an outage each would spool into its own slot
	// (writer.TestWritersSharingASpoolDirUseSeparateSlots).
}

func TestFormBodiesHaveSecretFieldsMasked(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{}, true)
	req := httptest.NewRequest("POST", "/api/echo/", strings.NewReader("name=Caneta&new_password=hunter2&qty=3"))
	req.Header.Set("Content-Type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8")
	h.do(req)
	r := h.only()
	assert.Equal(t, "name=Caneta&new_password=********&qty=3", r.RequestBody)
}

// drf-audit-trail's own six test cases (seed TESTS.md), each with its own
// request shape, black-box through the demo's router.

// demoApp is the demo application (example/demo), driven black-box through
// its router like drf-audit-trail's MiddlewareTestCase drives Django.
type demoApp struct {
	t     *testing.T
	app   *demo.App
	audit *gorm.DB
	log   *testlog.Buffer
}

// newDemo starts the demo with user/password as its only user, auditing
// synchronously so that every row is committed when a request returns.
func newDemo(t *testing.T, dsn, user, password string) *demoApp {
	t.Helper()
	d := &demoApp{t: t, log: &testlog.Buffer{}}
	app, err := demo.New(demo.Config{
		AppDSN:       filepath.Join(t.TempDir(), "app.sqlite3"),
		AuditDSN:     dsn,
		DemoUser:     user,
		DemoPassword: password,
		JWTSecret:    "seed-test-signing-key-0123456789",
		BcryptCost:   bcrypt.MinCost,
		Audit: audit.Options{
			Synchronous: true,
			Logger:      slog.New(slog.NewTextHandler(d.log, nil)),
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close(context.Background()) })
	d.app, d.audit = app, testdb.Open(t, dsn)
	return d
}

func (d *demoApp) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	d.app.Router.ServeHTTP(w, req)
	return w
}

// multipartLogin is the seed's login request: Django's test client posts
// data= as multipart/form-data.
func multipartLogin(username, password string) *http.Request {
	var body bytes.Buffer
	mp := multipart.NewWriter(&body)
	_ = mp.WriteField("username", username)
	_ = mp.WriteField("password", password)
	_ = mp.Close()
	req := httptest.NewRequest("POST", "/api/token/", &body)
	req.Header.Set("Content-Type", mp.FormDataContentType())
	return req
}

func (d *demoApp) logins() []entities.LoginEvent {
	var rows []entities.LoginEvent
	require.NoError(d.t, d.audit.Order("datetime, id").Find(&rows).Error)
	return rows
}

func (d *demoApp) requests() []entities.RequestEvent {
	var rows []entities.RequestEvent
	require.NoError(d.t, d.audit.Order("datetime, id").Find(&rows).Error)
	return rows
}

// Seed case 1: a successful login is recorded.
func TestSeedSuccessfulLoginIsRecorded(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		d := newDemo(t, dsn, "talismar", "admin")
		w := d.do(multipartLogin("talismar", "admin"))
		require.Equal(t, 200, w.Code, w.Body.String())
		l := d.logins()
		require.Len(t, l, 1)
		require.Equal(t, entities.LoginSignIn, l[0].Status)
		require.Equal(t, "talismar", l[0].Username)
	})
}

// Seed case 2: a failed login is recorded (no such user).
func TestSeedFailedLoginIsRecorded(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		d := newDemo(t, dsn, "someone-else", "other-password")
		w := d.do(multipartLogin("talismar", "admin"))
		require.Equal(t, 401, w.Code)
		l := d.logins()
		require.Len(t, l, 1)
		require.Equal(t, entities.LoginFailed, l[0].Status)
		require.Equal(t, "talismar", l[0].Username, "the name tried is kept for brute-force analysis")
	})
}

// Seed case 3: an unmatched audited URL is recorded.
func TestSeedUnmatchedURLIsRecorded(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		d := newDemo(t, dsn, "talismar", "admin")
		w := d.do(httptest.NewRequest("GET", "/api/fake-endpoint/", nil))
		require.Equal(t, 404, w.Code)
		rows := d.requests()
		require.Len(t, rows, 1)
		require.Equal(t, "GET", rows[0].Method)
		require.Equal(t, 404, rows[0].StatusCode)
		require.Empty(t, rows[0].QueryParams)
		require.Empty(t, rows[0].UserID)
	})
}

// Seed case 4: the authenticated user is recorded, from a real
// Authorization header.
func TestSeedAuthenticatedUserIsRecorded(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		d := newDemo(t, dsn, "talismar", "admin")
		w := d.do(multipartLogin("talismar", "admin"))
		require.Equal(t, 200, w.Code)
		var out struct {
			Token string `json:"token"` // gin-jwt's name for SimpleJWT's "access"
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		require.NotEmpty(t, out.Token)
		req := httptest.NewRequest("GET", "/api/protected-endpoint/", nil)
		req.Header.Set("Authorization", "Bearer "+out.Token)
		w = d.do(req)
		var row entities.RequestEvent
		require.NoError(t, d.audit.Where("url = ?", "/api/protected-endpoint/").Take(&row).Error)
		require.Equal(t, "1", row.UserID, "the user's primary key")
		require.Equal(t, w.Code, row.StatusCode)
	})
}

// Seed case 5: a long URL and query are cut to 2048 characters.
func TestSeedLongURLAndQueryAreCut(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		d := newDemo(t, dsn, "talismar", "admin")
		target := "/api/test/" + strings.Repeat("a", 3000) + "?param=" + strings.Repeat("b", 3000)
		d.do(httptest.NewRequest("GET", target, nil))
		rows := d.requests()
		require.NotEmpty(t, rows)
		newest := rows[len(rows)-1]
		require.LessOrEqual(t, len(newest.URL), 2048)
		require.LessOrEqual(t, len(newest.QueryParams), 2048)
		require.True(t, strings.HasPrefix(newest.URL, "/api/test/aaa"))
	})
}

// Seed case 6: cutting logs a warning.
func TestSeedCuttingLogsAWarning(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		d := newDemo(t, dsn, "talismar", "admin")
		d.do(httptest.NewRequest("GET", "/api/test/"+strings.Repeat("a", 3000), nil))
		logs := d.log.String()
		require.Contains(t, logs, "level=WARN")
		require.Contains(t, logs, "truncated")
		require.Contains(t, logs, "field=url")
	})
}

// The demo accepts logins as JSON, urlencoded forms and multipart forms,
// and jwtaudit records the username of each.
func TestDemoLoginsInEveryBodyShape(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		d := newDemo(t, dsn, "talismar", "admin")
		form := url.Values{"username": {"talismar"}, "password": {"admin"}}.Encode()
		jsonReq := httptest.NewRequest("POST", "/api/token/", strings.NewReader(`{"username":"talismar","password":"admin"}`))
		jsonReq.Header.Set("Content-Type", "application/json")
		formReq := httptest.NewRequest("POST", "/api/token/", strings.NewReader(form))
		formReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		wrong := httptest.NewRequest("POST", "/api/token/", strings.NewReader("username=talismar&password=nope"))
		wrong.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, req := range []*http.Request{jsonReq, formReq, multipartLogin("talismar", "admin"), wrong} {
			d.do(req)
		}
		l := d.logins()
		require.Len(t, l, 4)
		for i, want := range []string{entities.LoginSignIn, entities.LoginSignIn, entities.LoginSignIn, entities.LoginFailed} {
			require.Equal(t, want, l[i].Status, i)
			require.Equal(t, "talismar", l[i].Username, i)
		}
		require.Equal(t, "1", l[2].UserID)
		for _, r := range d.requests() {
			require.NotContains(t, r.RequestBody, "admin", "auth URLs never store bodies")
		}
	})
}

// A logout with a rejected token is a failed login event; the admin names
// the user of a sign in.
func TestDemoRefusedLogoutAndUserNames(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		d := newDemo(t, dsn, "talismar", "admin")
		req := httptest.NewRequest("POST", "/api/logout/", nil)
		req.Header.Set("Authorization", "Bearer forged.token.value")
		require.Equal(t, 401, d.do(req).Code)
		l := d.logins()
		require.Len(t, l, 1)
		require.Equal(t, entities.LoginFailed, l[0].Status)

		w := d.do(multipartLogin("talismar", "admin"))
		var out struct{ Token string }
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		req = httptest.NewRequest("GET", demo.AdminPath+"/api/logins?status=sign_in", nil)
		req.Header.Set("Authorization", "Bearer "+out.Token)
		w = d.do(req)
		require.Equal(t, 200, w.Code, w.Body.String())
		var page struct {
			Items []map[string]any `json:"items"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
		require.Len(t, page.Items, 1)
		require.Equal(t, "1", page.Items[0]["user_id"])
		require.Equal(t, "talismar", page.Items[0]["user_name"])

		req = httptest.NewRequest("POST", "/api/logout/", nil)
		req.Header.Set("Authorization", "Bearer "+out.Token)
		require.Equal(t, 200, d.do(req).Code)
		l = d.logins()
		require.Equal(t, entities.LoginSignOut, l[len(l)-1].Status)
		require.Equal(t, "1", l[len(l)-1].UserID)
	})
}
