package audit_test

// The compatibility suite: the same routes served with and without the
// audit middleware must give a client the same bytes, and the audited
// variant must store a row that says what went on the wire.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coderws "github.com/coder/websocket"
	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/testlog"
	gingzip "github.com/gin-contrib/gzip"
	"github.com/gin-gonic/gin"
	gorillaws "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigJSON is a 9,801-byte JSON document, compressible.
var bigJSON = func() string {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 9780; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"n":%d}`, i)
	}
	b.WriteString("]")
	for b.Len() < 9800 {
		b.WriteByte(' ')
	}
	b.WriteString("}")
	return b.String()
}()

// compatServer is one variant of the compatibility router on a real
// loopback listener.
type compatServer struct {
	url      string
	smuggled atomic.Int64 // requests that reached /api/smuggled/
	inflight atomic.Int64 // requests whose middlewares have not all returned
}

// track counts the requests in flight, outside every other middleware.
func (s *compatServer) track(c *gin.Context) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	c.Next()
}

// compatRoutes registers the handlers shared by both variants. Every route
// answers deterministically, so the two variants can be compared byte for
// byte.
func compatRoutes(r gin.IRoutes, s *compatServer, download string) {
	r.POST("/api/limited/", func(c *gin.Context) {
		defer c.Request.Body.Close()
		if c.Request.ContentLength > 1024 {
			c.String(http.StatusRequestEntityTooLarge, "too large")
			return
		}
		body, _ := io.ReadAll(c.Request.Body)
		c.String(200, "read %d", len(body))
	})
	r.POST("/api/early/", func(c *gin.Context) { c.String(http.StatusBadRequest, "rejected before reading") })
	r.GET("/api/smuggled/", func(c *gin.Context) {
		s.smuggled.Add(1)
		c.String(200, "smuggled")
	})
	r.POST("/api/partial/", func(c *gin.Context) {
		buf := make([]byte, 100)
		n, _ := io.ReadFull(c.Request.Body, buf)
		c.String(200, "read %d", n)
	})
	r.GET("/api/deadline/", func(c *gin.Context) {
		rc := http.NewResponseController(c.Writer)
		c.String(200, "write deadline: %v; read deadline: %v; full duplex: %v",
			rc.SetWriteDeadline(time.Time{}), rc.SetReadDeadline(time.Time{}), rc.EnableFullDuplex())
	})
	r.GET("/api/sse/", func(c *gin.Context) {
		rc := http.NewResponseController(c.Writer)
		if err := rc.SetWriteDeadline(time.Time{}); err != nil { // this stream outlives the server's WriteTimeout
			c.String(500, "deadline: %v", err)
			return
		}
		c.Header("Content-Type", "text/event-stream")
		for i := range 3 {
			c.SSEvent("tick", fmt.Sprintf("n=%d", i))
			c.Writer.Flush()
			time.Sleep(150 * time.Millisecond)
		}
	})
	r.GET("/api/json/", func(c *gin.Context) { c.Data(200, "application/json", []byte(bigJSON)) })
	r.HEAD("/api/json/", func(c *gin.Context) { c.Data(200, "application/json", []byte(bigJSON)) })
	r.GET("/api/ws/gorilla/", func(c *gin.Context) {
		up := gorillaws.Upgrader{}
		conn, err := up.Upgrade(c.Writer, c.Request, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		mt, msg, err := conn.ReadMessage()
		if err == nil {
			_ = conn.WriteMessage(mt, append([]byte("echo "), msg...))
		}
	})
	r.GET("/api/ws/coder/", func(c *gin.Context) {
		conn, err := coderws.Accept(c.Writer, c.Request, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		mt, msg, err := conn.Read(c.Request.Context())
		if err == nil {
			_ = conn.Write(c.Request.Context(), mt, append([]byte("echo "), msg...))
			_ = conn.Close(coderws.StatusNormalClosure, "")
		}
	})
	r.GET("/api/file/", func(c *gin.Context) { c.File(download) })
	r.GET("/api/stream/", func(c *gin.Context) {
		f, err := os.Open(download)
		if err != nil {
			c.Status(500)
			return
		}
		defer f.Close()
		st, _ := f.Stat()
		c.DataFromReader(200, st.Size(), "application/octet-stream", f, nil)
	})
	r.GET("/api/redirect/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/api/json/") })
	r.GET("/api/abort/", func(c *gin.Context) { c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"detail": "no"}) })
	r.GET("/api/twice/", func(c *gin.Context) {
		c.Writer.WriteHeader(201)
		c.Writer.WriteHeaderNow()
		c.Writer.WriteHeader(500) // ignored: the header is on the wire
		c.String(500, "body")
	})
}

// compatPair is the plain and the audited variant of one router shape.
type compatPair struct {
	plain, audited *compatServer
	trail          *audit.Trail
	dsn            string
}

// newCompatPair serves the compatibility routes twice: wrap builds the
// router around the routes (mw is nil for the plain variant).
func newCompatPair(t testing.TB, download string, wrap func(r *gin.Engine, mw gin.HandlerFunc) gin.IRoutes) *compatPair {
	t.Helper()
	p := &compatPair{plain: &compatServer{}, audited: &compatServer{}, dsn: testdb.SQLite(t)}
	trail, err := audit.Open(audit.Options{DSN: p.dsn, Logger: slog.New(slog.NewTextHandler(&testlog.Buffer{}, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	p.trail = trail
	for _, v := range []struct {
		s  *compatServer
		mw gin.HandlerFunc
	}{{p.plain, nil}, {p.audited, trail.Middleware()}} {
		r := gin.New()
		r.Use(v.s.track)
		compatRoutes(wrap(r, v.mw), v.s, download)
		srv := httptest.NewUnstartedServer(r)
		srv.Config.WriteTimeout = 2 * time.Second // the SSE route lifts it
		srv.Start()
		t.Cleanup(srv.Close)
		v.s.url = srv.URL
	}
	return p
}

// auditFirst is the documented order: the audit middleware before the
// others.
func auditFirst(r *gin.Engine, mw gin.HandlerFunc) gin.IRoutes {
	if mw != nil {
		r.Use(mw)
	}
	return r
}

// rows closes the trail and returns the stored request events by URL.
func (p *compatPair) rows(t *testing.T) map[string][]entities.RequestEvent {
	t.Helper()
	// Handlers of hijacked connections may still run: wait for them.
	for deadline := time.Now().Add(10 * time.Second); p.audited.inflight.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	require.Zero(t, p.audited.inflight.Load(), "requests still in flight")
	require.NoError(t, p.trail.Close(context.Background()))
	var rows []entities.RequestEvent
	require.NoError(t, testdb.Open(t, p.dsn).Order("datetime, id").Find(&rows).Error)
	out := map[string][]entities.RequestEvent{}
	for _, r := range rows {
		out[r.Method+" "+r.URL] = append(out[r.Method+" "+r.URL], r)
	}
	return out
}

// answer is what a client received, without the parts that differ between
// two runs (Date).
type answer struct {
	status int
	header http.Header
	body   []byte
}

func fetch(t *testing.T, method, url string, header http.Header, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	res.Header.Del("Date")
	return answer{status: res.StatusCode, header: res.Header, body: b}
}

// same fetches one request from both variants and requires identical
// answers; it returns the audited one.
func (p *compatPair) same(t *testing.T, method, path string, header http.Header, body func() io.Reader) answer {
	t.Helper()
	mk := func() io.Reader {
		if body == nil {
			return nil
		}
		return body()
	}
	plain := fetch(t, method, p.plain.url+path, header, mk())
	audited := fetch(t, method, p.audited.url+path, header, mk())
	require.Equal(t, plain.status, audited.status, "status of %s %s", method, path)
	require.Equal(t, plain.header, audited.header, "headers of %s %s", method, path)
	require.True(t, bytes.Equal(plain.body, audited.body), "body of %s %s differs: %d bytes plain, %d audited", method, path, len(plain.body), len(audited.body))
	return audited
}

func writeDownload(t testing.TB) (path string, data []byte) {
	t.Helper()
	data = make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 7 % 251)
	}
	path = filepath.Join(t.TempDir(), "download.bin")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path, data
}

func TestAuditingDoesNotChangeTheExchange(t *testing.T) {
	download, data := writeDownload(t)
	p := newCompatPair(t, download, auditFirst)

	t.Run("downloads with and without Range", func(t *testing.T) {
		full := p.same(t, "GET", "/api/file/", nil, nil)
		assert.Equal(t, sha256.Sum256(data), sha256.Sum256(full.body))
		part := p.same(t, "GET", "/api/file/", http.Header{"Range": {"bytes=100-1099"}}, nil)
		assert.Equal(t, 206, part.status)
		assert.Equal(t, data[100:1100], part.body)
		stream := p.same(t, "GET", "/api/stream/", nil, nil)
		assert.Len(t, stream.body, len(data))
	})
	t.Run("SSE with Flush outlives the write deadline", func(t *testing.T) {
		a := p.same(t, "GET", "/api/sse/", nil, nil)
		assert.Equal(t, "event:tick\ndata:n=0\n\nevent:tick\ndata:n=1\n\nevent:tick\ndata:n=2\n\n", string(a.body))
	})
	t.Run("ResponseController reaches net/http", func(t *testing.T) {
		a := p.same(t, "GET", "/api/deadline/", nil, nil)
		assert.Equal(t, "write deadline: <nil>; read deadline: <nil>; full duplex: <nil>", string(a.body))
	})
	t.Run("HEAD", func(t *testing.T) {
		a := p.same(t, "HEAD", "/api/json/", nil, nil)
		assert.Empty(t, a.body)
	})
	t.Run("redirect, abort, double WriteHeader", func(t *testing.T) {
		assert.Equal(t, 302, p.same(t, "GET", "/api/redirect/", nil, nil).status)
		assert.Equal(t, 403, p.same(t, "GET", "/api/abort/", nil, nil).status)
		assert.Equal(t, 201, p.same(t, "GET", "/api/twice/", nil, nil).status)
	})
	t.Run("a chunked upload read in part", func(t *testing.T) {
		body := func() io.Reader { return io.MultiReader(strings.NewReader(strings.Repeat("x", 5000))) }
		a := p.same(t, "POST", "/api/partial/", http.Header{"Content-Type": {"text/plain"}}, body)
		assert.Equal(t, "read 100", string(a.body))
	})
	t.Run("WebSocket echo with gorilla and coder", func(t *testing.T) {
		for _, s := range []*compatServer{p.plain, p.audited} {
			ws := "ws" + strings.TrimPrefix(s.url, "http")
			g, _, err := gorillaws.DefaultDialer.Dial(ws+"/api/ws/gorilla/", nil)
			require.NoError(t, err)
			require.NoError(t, g.WriteMessage(gorillaws.TextMessage, []byte("hi")))
			_, msg, err := g.ReadMessage()
			require.NoError(t, err)
			assert.Equal(t, "echo hi", string(msg))
			_ = g.Close()

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c, _, err := coderws.Dial(ctx, ws+"/api/ws/coder/", nil)
			require.NoError(t, err)
			require.NoError(t, c.Write(ctx, coderws.MessageText, []byte("hey")))
			_, msg, err = c.Read(ctx)
			require.NoError(t, err)
			assert.Equal(t, "echo hey", string(msg))
			_ = c.Close(coderws.StatusNormalClosure, "")
			cancel()
		}
	})

	rows := p.rows(t)
	one := func(t *testing.T, key string) entities.RequestEvent {
		t.Helper()
		require.Len(t, rows[key], 1, "rows stored for %s", key)
		return rows[key][0]
	}
	t.Run("rows", func(t *testing.T) {
		require.Len(t, rows["GET /api/file/"], 2)
		assert.Equal(t, 200, rows["GET /api/file/"][0].StatusCode)
		assert.Equal(t, int64(len(data)), rows["GET /api/file/"][0].ResponseSize)
		assert.Equal(t, 206, rows["GET /api/file/"][1].StatusCode)
		assert.Equal(t, int64(1000), rows["GET /api/file/"][1].ResponseSize)
		st := one(t, "GET /api/stream/")
		assert.Equal(t, int64(len(data)), st.ResponseSize)
		assert.Equal(t, fmt.Sprintf("[audit: application/octet-stream body of %d bytes not stored]", len(data)), st.ResponseBody)

		sse := one(t, "GET /api/sse/")
		assert.Contains(t, sse.ResponseBody, "data:n=2")

		head := one(t, "HEAD /api/json/")
		assert.Equal(t, 200, head.StatusCode)
		assert.Zero(t, head.ResponseSize, "a HEAD answer has no body on the wire")
		assert.Empty(t, head.ResponseBody)

		assert.Equal(t, 302, one(t, "GET /api/redirect/").StatusCode)
		assert.Equal(t, 403, one(t, "GET /api/abort/").StatusCode)
		assert.Equal(t, 201, one(t, "GET /api/twice/").StatusCode)

		partial := one(t, "POST /api/partial/")
		assert.True(t, strings.HasPrefix(partial.RequestBody, strings.Repeat("x", 100)), partial.RequestBody)
		assert.Contains(t, partial.RequestBody, "the handler stopped reading before its end")

		for _, lib := range []string{"gorilla", "coder"} {
			ws := one(t, "GET /api/ws/"+lib+"/")
			assert.Equal(t, http.StatusSwitchingProtocols, ws.StatusCode, lib)
		}
	})
}

// TestGzipOnEitherSideOfTheAudit serves gin-contrib/gzip inside and
// outside the audit: the client gets the same compressed bytes, and the row
// holds the JSON the handler wrote.
func TestGzipOnEitherSideOfTheAudit(t *testing.T) {
	download, _ := writeDownload(t)
	gz := gingzip.Gzip(gingzip.DefaultCompression)
	for _, tc := range []struct {
		name string
		wrap func(r *gin.Engine, mw gin.HandlerFunc) gin.IRoutes
		size func(wire []byte) int64 // the stored response_size
	}{
		{"gzip inside the audit", func(r *gin.Engine, mw gin.HandlerFunc) gin.IRoutes {
			if mw != nil {
				r.Use(mw)
			}
			r.Use(gz)
			return r
		}, func(wire []byte) int64 { return int64(len(wire)) }}, // the audit saw the compressed bytes
		{"gzip outside the audit", func(r *gin.Engine, mw gin.HandlerFunc) gin.IRoutes {
			r.Use(gz)
			if mw != nil {
				r.Use(mw)
			}
			return r
		}, func([]byte) int64 { return int64(len(bigJSON)) }}, // the audit saw what the handler wrote
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newCompatPair(t, download, tc.wrap)
			a := p.same(t, "GET", "/api/json/", http.Header{"Accept-Encoding": {"gzip"}}, nil)
			require.Equal(t, "gzip", a.header.Get("Content-Encoding"))
			zr, err := gzip.NewReader(bytes.NewReader(a.body))
			require.NoError(t, err)
			plain, err := io.ReadAll(zr)
			require.NoError(t, err)
			require.Equal(t, bigJSON, string(plain))

			rows := p.rows(t)
			require.Len(t, rows["GET /api/json/"], 1)
			r := rows["GET /api/json/"][0]
			assert.JSONEq(t, bigJSON, r.ResponseBody)
			assert.Equal(t, tc.size(a.body), r.ResponseSize)
		})
	}
}

func TestUnreadableContentCodingIsANote(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{}, true)
	h.router.GET("/api/br/", func(c *gin.Context) {
		c.Header("Content-Encoding", "br")
		c.Data(200, "application/json", []byte{0x8b, 0x02, 0x80, 0x7b, 0x7d, 0x03})
	})
	h.router.POST("/api/gzipped/", func(c *gin.Context) {
		body, _ := io.ReadAll(c.Request.Body)
		c.String(200, "%d", len(body))
	})
	h.do(httptest.NewRequest("GET", "/api/br/", nil))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"password":"hunter2","item":"pen"}`))
	_ = zw.Close()
	req := httptest.NewRequest("POST", "/api/gzipped/", bytes.NewReader(buf.Bytes()))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	h.do(req)
	rows := h.rows()
	require.Len(t, rows, 2)
	assert.Equal(t, "[audit: br-encoded body of 6 bytes not stored]", rows[0].ResponseBody)
	assert.JSONEq(t, `{"password":"********","item":"pen"}`, rows[1].RequestBody, "a gzip request body is decoded, then masked")
}

// rawExchange sends raw bytes on one connection, half-closes it, and
// returns everything the server answered until it closed the connection.
func rawExchange(t testing.TB, baseURL string, raw []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
	go func() {
		_, _ = conn.Write(raw) // the server may close before reading it all
		_ = conn.(*net.TCPConn).CloseWrite()
	}()
	got, _ := io.ReadAll(conn) // until the server closes, or resets after unread data
	return got
}

var dateHeader = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r\n`)

// TestUnreadBodyIsNeverParsedAsTheNextRequest is the request-smuggling
// case: a handler rejects a large body without reading it; its bytes must
// not be served as a second request on the same connection.
func TestUnreadBodyIsNeverParsedAsTheNextRequest(t *testing.T) {
	download, _ := writeDownload(t)
	p := newCompatPair(t, download, auditFirst)
	smuggled := "GET /api/smuggled/ HTTP/1.1\r\nHost: x\r\n\r\n"
	body := smuggled + strings.Repeat("p", 300<<10)
	raw := fmt.Sprintf("POST /api/limited/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	plain := dateHeader.ReplaceAll(rawExchange(t, p.plain.url, []byte(raw)), nil)
	audited := dateHeader.ReplaceAll(rawExchange(t, p.audited.url, []byte(raw)), nil)
	assert.Equal(t, string(plain), string(audited))
	assert.Contains(t, string(audited), "413 Request Entity Too Large")
	assert.Zero(t, p.plain.smuggled.Load())
	assert.Zero(t, p.audited.smuggled.Load(), "the unread body was served as a request")
	rows := p.rows(t)
	assert.Len(t, rows["POST /api/limited/"], 1)
	assert.Empty(t, rows["GET /api/smuggled/"])
	assert.Equal(t, fmt.Sprintf("[audit: body of %d bytes not read by the handler]", len(body)), rows["POST /api/limited/"][0].RequestBody)
}

// TestEarlyRejectionOfAnExpectContinueUpload: a handler that answers before
// reading must not make the client upload its body first.
func TestEarlyRejectionOfAnExpectContinueUpload(t *testing.T) {
	download, _ := writeDownload(t)
	p := newCompatPair(t, download, auditFirst)
	for _, s := range []*compatServer{p.plain, p.audited} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
		require.NoError(t, err)
		require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
		_, err = fmt.Fprintf(conn, "POST /api/early/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 330000\r\nExpect: 100-continue\r\n\r\n")
		require.NoError(t, err)
		// The body is never sent: the answer must come without it.
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "the first answer is the rejection, not 100 Continue")
		_ = res.Body.Close()
		_ = conn.Close()
	}
}

// TestAuthMiddlewareAfterTheAuditIsAudited: installed first, the audit sees
// the answers of the middlewares after it.
func TestAuthMiddlewareAfterTheAuditIsAudited(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{}, true)
	g := h.router.Group("/api/private", func(c *gin.Context) {
		if c.GetHeader("Authorization") == "" {
			c.AbortWithStatusJSON(401, gin.H{"detail": "authentication required"})
		}
	})
	g.GET("/", func(c *gin.Context) { c.String(200, "secret stuff") })
	w := h.do(httptest.NewRequest("GET", "/api/private/", nil))
	require.Equal(t, 401, w.Code)
	r := h.only()
	assert.Equal(t, 401, r.StatusCode)
	assert.JSONEq(t, `{"detail":"authentication required"}`, r.ResponseBody)
}

// TestPanickingHandlerStillGivesNetHTTPItsRequest: on the panic path too,
// net/http's request gets its own body back.
func TestPanickingHandlerStillGivesNetHTTPItsRequest(t *testing.T) {
	trail, err := audit.Open(audit.Options{DSN: testdb.SQLite(t), Logger: slog.New(slog.NewTextHandler(&testlog.Buffer{}, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	var handlerBody io.ReadCloser
	r := gin.New()
	r.Use(gin.RecoveryWithWriter(io.Discard), trail.Middleware())
	r.POST("/api/boom/", func(c *gin.Context) {
		handlerBody = c.Request.Body
		panic("boom")
	})
	req := httptest.NewRequest("POST", "/api/boom/", strings.NewReader(`{"a":1}`))
	orig := req.Body
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	assert.Equal(t, 500, w.Code)
	assert.False(t, orig == handlerBody, "the handler reads through the audit's tap")
	assert.True(t, orig == req.Body, "net/http's request has its own body back")
}
