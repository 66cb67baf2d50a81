package demo_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func plantedSecret() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "Zq" + hex.EncodeToString(b[:])
}

// The demo's access log shows the path and query of every request: with
// gin.Logger() it printed ?password=...&access_token=... as sent, while the
// audit database had them masked.
func TestAccessLogMasksSecrets(t *testing.T) {
	la := newLoginApp(t, testdb.SQLite(t), "admin")
	pw, tok, sig := plantedSecret(), plantedSecret(), plantedSecret()
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9." + sig
	la.do("GET", "/api/ping/?password="+pw+"&access_token="+tok, "", "")
	la.do("GET", "/api/reset/"+jwt+"/", "", "")
	la.do("GET", "/admin/audit/requests?token="+tok, "", "") // not audited, logged all the same
	logged := ginLog.String()
	require.Contains(t, logged, "/api/ping/")
	for _, s := range []string{pw, tok, sig} {
		assert.NotContains(t, logged, s)
	}
}

// The login event names the user the application authenticated, whatever
// else the body says: encoding/json binds member names case-insensitively
// and the last match wins, gin binds the first JSON value only, and a
// multipart login names its user too.
func TestLoginRecordsTheUsernameTheApplicationBinds(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		la := newLoginApp(t, dsn, "admin")
		multipartBody, multipartType := multipartLogin(t, "admin", "nope")
		cases := []struct {
			name, body, contentType, status string
		}{
			{"decoy-then-real-name", `{"username":"decoy","USERNAME":"admin","password":"admin"}`, "application/json", entities.LoginSignIn},
			{"decoy-failed", `{"username":"decoy","USERNAME":"admin","password":"nope"}`, "application/json", entities.LoginFailed},
			{"trailing-70KB-of-spaces", `{"username":"admin","password":"admin"}` + strings.Repeat(" ", 70<<10), "application/json", entities.LoginSignIn},
			{"second-object", `{"username":"admin","password":"nope"}{"username":"other"}`, "application/json", entities.LoginFailed},
			{"multipart", multipartBody, multipartType, entities.LoginFailed},
		}
		for _, c := range cases {
			la.doType("POST", "/api/token/", c.body, c.contentType, "")
		}
		logins := la.logins()
		require.Len(t, logins, len(cases))
		for i, c := range cases {
			assert.Equal(t, c.status, logins[i].Status, c.name)
			assert.Equal(t, "admin", logins[i].Username, c.name)
		}
	})
}

func multipartLogin(t *testing.T, username, password string) (string, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	require.NoError(t, w.WriteField("username", username))
	require.NoError(t, w.WriteField("password", password))
	require.NoError(t, w.Close())
	return buf.String(), w.FormDataContentType()
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Every route that binds a body stops reading it at the demo's limit: a
// 256 MiB login body took the demo from 33 MB to 825 MB of memory.
func TestDemoReadsNoBodyPastItsLimit(t *testing.T) {
	la := newLoginApp(t, testdb.SQLite(t), "admin")
	_, token := la.login("admin", "admin")
	require.NotEmpty(t, token)
	const huge = 16 << 20
	for _, path := range []string{"/api/token/", "/api/product/", "/admin/login"} {
		body := &countingReader{r: io.MultiReader(strings.NewReader(`{"username":"`), strings.NewReader(strings.Repeat("a", huge)))}
		req := httptest.NewRequest("POST", path, body)
		req.Header.Set("Content-Type", "application/json")
		if path == "/admin/login" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		la.app.Router.ServeHTTP(w, req)
		assert.GreaterOrEqual(t, w.Code, 400, path)
		assert.LessOrEqual(t, body.n.Load(), int64(2<<20), "%s read %d bytes of a %d-byte body", path, body.n.Load(), huge)
	}
}
