package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-gonic/gin"
)

// The fuzz targets drive the middleware through a real gin router, with a
// real SQLite audit database written synchronously, and check four things
// for any method, path, query, header and body:
//
//   - the handler reads exactly the bytes the client sent;
//   - the client gets exactly the answer it gets without auditing;
//   - nothing panics, and the request's row is stored;
//   - the secret value planted in the query string, the Authorization and
//     Cookie headers and (for the JSON and form shapes) the body is in no
//     stored field.
//
// Run one with:
//
//	go test -run '^$' -fuzz '^FuzzMiddleware$' -fuzztime 1m -fuzzminimizetime 1s .
//
// (-fuzzminimizetime keeps the minimisation of 10 MB inputs short.)
// The committed corpus is under testdata/fuzz/; the large seeds (10 MB
// bodies, 100 KB headers) are generated here rather than committed.

var fuzzSecret = func() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "Sx" + hex.EncodeToString(b[:]) // letters and digits: never escaped
}()

// fuzzRig is the audited router, its unaudited twin, and the trail.
type fuzzRig struct {
	audited, plain *gin.Engine
	trail          *audit.Trail
}

// echo reads the whole body, reports its digest, and answers with the body
// under the request's content type.
func echo(c *gin.Context) {
	var body []byte
	if c.Request.Body != nil {
		body, _ = io.ReadAll(c.Request.Body)
	}
	sum := sha256.Sum256(body)
	c.Header("X-Body-Sha256", hex.EncodeToString(sum[:]))
	if ev := audit.From(c); ev != nil {
		c.Header("X-Audit-Id", ev.ID().String())
	}
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Data(http.StatusCreated, ct, body)
}

func newRig(dir string) (*fuzzRig, error) {
	trail, err := audit.Open(audit.Options{
		DSN:         filepath.Join(dir, "fuzz_audit.sqlite3"),
		Synchronous: true,
		Include:     []string{`^/`},
		AuthURLs:    []string{"/api/token/"},
	})
	if err != nil {
		return nil, err
	}
	r := &fuzzRig{audited: gin.New(), plain: gin.New(), trail: trail}
	r.audited.Use(gin.Recovery(), trail.Middleware())
	r.audited.NoRoute(echo) // every path and every method
	r.plain.Use(gin.Recovery())
	r.plain.NoRoute(echo)
	return r, nil
}

// getRig builds the rig of one fuzz target (each fuzzing worker process
// builds its own) and closes its trail when the target ends.
func getRig(f *testing.F) *fuzzRig {
	r, err := newRig(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		if err := r.trail.Close(context.Background()); err != nil {
			f.Errorf("close the fuzz trail: %v", err)
		}
	})
	return r
}

// Body shapes.
const (
	shapeRaw    = iota // the fuzzed bytes as they are
	shapeJSON          // {"password": secret, "data": <fuzzed as a string>, "n": <fuzzed as a number-ish>}
	shapeForm          // password=secret&data=<fuzzed>
	shapeNested        // the JSON shape under deep nesting
	shapes
)

func buildBody(shape uint8, fuzzed []byte) []byte {
	s := fuzzSecret
	switch shape % shapes {
	case shapeJSON:
		return []byte(`{"password":"` + s + `","data":` + jsonString(fuzzed) + `}`)
	case shapeForm:
		return []byte("password=" + s + "&data=" + url.QueryEscape(string(fuzzed)))
	case shapeNested:
		depth := 1 + len(fuzzed)%600
		return []byte(strings.Repeat(`{"a":`, depth) + `{"api_key":"` + s + `"}` + strings.Repeat("}", depth))
	}
	return fuzzed
}

func jsonString(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range string(b) { // invalid UTF-8 becomes U+FFFD
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(c)
		case c < 0x20:
			sb.WriteString(`\u00`)
			sb.WriteString(hex.EncodeToString([]byte{byte(c)}))
		default:
			sb.WriteRune(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// buildRequest makes the request; nonce, first in the query string, finds
// its row whatever the handler did.
func buildRequest(nonce, method, path, query string, body []byte, contentType, header string) *http.Request {
	u := &url.URL{Path: "/api/" + strings.TrimLeft(path, "/"), RawQuery: "fuzz_nonce=" + nonce + "&token=" + fuzzSecret + "&" + query + "&password=" + fuzzSecret}
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       "example.test",
		RequestURI: u.RequestURI(),
		RemoteAddr: "127.0.0.1:1234",
	}
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	} else {
		req.Body = http.NoBody
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Fuzz", header)
	req.Header.Set("Authorization", "Bearer "+fuzzSecret)
	req.Header.Set("Cookie", "session="+fuzzSecret)
	return req
}

func (r *fuzzRig) check(t *testing.T, method, path, query string, body []byte, contentType, header string) {
	nonce := entities.NewID().String()
	serve := func(h http.Handler) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, buildRequest(nonce, method, path, query, body, contentType, header))
		return rec
	}
	got := serve(r.audited)
	want := serve(r.plain)

	sum := sha256.Sum256(body)
	if want.Code == http.StatusCreated && got.Header().Get("X-Body-Sha256") != hex.EncodeToString(sum[:]) {
		t.Fatalf("the handler did not read the exact body (%d bytes)", len(body))
	}
	if got.Code != want.Code {
		t.Fatalf("status %d with auditing, %d without", got.Code, want.Code)
	}
	if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
		t.Fatalf("response body differs with auditing (%d vs %d bytes)", got.Body.Len(), want.Body.Len())
	}
	for k := range want.Header() {
		if got.Header().Get(k) != want.Header().Get(k) {
			t.Fatalf("response header %s: %q with auditing, %q without", k, got.Header().Get(k), want.Header().Get(k))
		}
	}
	// Every request has its row (the trail is synchronous), found by the
	// nonce that starts its query string, whether or not the handler ran;
	// when it ran, the row is the one whose id the handler saw.
	var rows []entities.RequestEvent
	if err := r.trail.DB().Where("query_params LIKE ?", "fuzz_nonce="+nonce+"&%").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows stored for one synchronous request (status %d)", len(rows), got.Code)
	}
	row := rows[0]
	if idText := got.Header().Get("X-Audit-Id"); idText != "" && idText != row.ID.String() {
		t.Fatalf("the handler saw id %s, the stored row has %s", idText, row.ID)
	} else if idText == "" && want.Code == http.StatusCreated {
		t.Fatal("the handler ran without the request's audit event")
	}
	for name, v := range map[string]string{
		"url": row.URL, "query_params": row.QueryParams, "request_body": row.RequestBody,
		"response_body": row.ResponseBody, "extra_informations": row.ExtraInformations,
		"error_message": row.ErrorMessage, "user_id": row.UserID, "method": row.Method,
	} {
		if strings.Contains(v, fuzzSecret) {
			t.Fatalf("secret stored in %s: %.300q", name, v)
		}
	}
}

// addSeeds adds the seeds shared by the targets.
func addSeeds(f *testing.F) {
	big := bytes.Repeat([]byte(`{"k":"v","password":"x"},`), 10<<20/25) // about 10 MB
	hugeHeader := strings.Repeat("h", 100<<10)
	nested := []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000))
	for _, s := range []struct {
		method, path, query string
		body                []byte
		ct, header          string
		shape               uint8
	}{
		{"GET", "ping/", "a=1", nil, "", "x", shapeRaw},
		{"POST", "items", "", []byte(`{"name":"x","password":"p"}`), "application/json", "", shapeRaw},
		{"POST", "items", "", []byte("\xff\xfe\x00bad utf-8 \xc3\x28"), "text/plain", "", shapeRaw},
		{"PUT", "nul\x00path", "q=\x00&r=%00", []byte("a\x00b\x00c"), "application/json", "\x00", shapeJSON},
		{"PATCH", "deep", "", nested, "application/json", "", shapeRaw},
		{"POST", "deep", "", []byte("x"), "application/json", "", shapeNested},
		{"POST", "num", "", []byte(`{"n":1e999999,"m":-0.0000000000000000000000001e-999,"big":123456789012345678901234567890123456789012345678901234567890}`), "application/json", "", shapeRaw},
		{"POST", "big", "", big, "application/json", "", shapeRaw},
		{"POST", "big-form", "", big[:1<<20], "application/x-www-form-urlencoded", "", shapeForm},
		{"GET", "hdr", "", nil, "", hugeHeader, shapeRaw},
		{"PROPFIND", "dav/", "depth=1", []byte("<propfind/>"), "application/xml", "", shapeRaw},
		{"M-SEARCH", "*", "", nil, "", "", shapeRaw},
		{"get", "lower", "", nil, "", "", shapeRaw},
		{"", "empty-method", "", nil, "", "", shapeRaw},
		{"CONNECT", "tunnel", "", nil, "", "", shapeRaw},
		{"DELETE", "x/../../etc/passwd", "pass%77ord=zz&api%5Fkey=zz&a=%zz", nil, "", "", shapeRaw},
		{"POST", "form", "", []byte("a=1&b=2"), "application/x-www-form-urlencoded; charset=utf-8", "", shapeForm},
		{"POST", "token/", "", []byte(`{"username":"u","password":"p"}`), "application/json", "", shapeJSON},
		{"POST", "weird-ct", "", []byte(`{"password":"p"}`), "application/json; charset=\x00", "", shapeJSON},
		{"POST", "img", "", []byte("\x89PNG\r\n\x1a\n"), "image/png", "", shapeRaw},
	} {
		f.Add(s.method, s.path, s.query, s.body, s.ct, s.header, s.shape)
	}
}

// FuzzMiddleware fuzzes every input of a request at once: method, path,
// query, body (raw, or wrapped in a JSON, form or deeply nested shape
// holding a planted secret), content type and a header.
func FuzzMiddleware(f *testing.F) {
	addSeeds(f)
	r := getRig(f)
	f.Fuzz(func(t *testing.T, method, path, query string, fuzzed []byte, contentType, header string, shape uint8) {
		r.check(t, method, path, query, buildBody(shape, fuzzed), contentType, header)
	})
}

// FuzzURLAndQuery fuzzes the path and the query string alone (no body),
// the cheapest way to explore URL handling and query redaction.
func FuzzURLAndQuery(f *testing.F) {
	for _, s := range [][2]string{
		{"ping/", "a=1"},
		{"a%2Fb/%00", "password=x&token=y&access_token=z"},
		{"ünïcode/\xff", "k=\xff\xfe&api-key=v"},
		{strings.Repeat("p/", 3000), strings.Repeat("x=1&", 3000)},
		{"x", "PASSWORD=1&Pass+Word=2&pass%77ord=3&%70assword=4"},
		{"x", "&&&==&=&;;token"},
	} {
		f.Add(s[0], s[1])
	}
	r := getRig(f)
	f.Fuzz(func(t *testing.T, path, query string) {
		r.check(t, "GET", path, query, nil, "", "")
	})
}
