package admin_test

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/admin"
	"github.com/gin-gonic/gin"
)

// Mount the admin routes under /admin/audit, for callers that send the
// admin token. Mounting without Config.Authorize is refused.
func ExampleMount() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	trail, err := audit.Open(audit.Options{DSN: filepath.Join(dir, "audit.sqlite3")})
	if err != nil {
		panic(err)
	}
	defer trail.Close(context.Background())

	r := gin.New()
	r.Use(trail.Middleware())

	err = admin.Mount(r.Group("/admin/audit"), trail, admin.Config{})
	fmt.Println(err == admin.ErrNoAuthorization)

	isAdmin := func(c *gin.Context) bool {
		return subtle.ConstantTimeCompare([]byte(c.GetHeader("X-Admin-Token")), []byte("s3cret")) == 1
	}
	if err := admin.Mount(r.Group("/admin/audit"), trail, admin.Config{Authorize: admin.Allow(isAdmin)}); err != nil {
		panic(err)
	}

	for _, token := range []string{"", "s3cret"} {
		req := httptest.NewRequest(http.MethodGet, "/admin/audit/api/requests?method=GET&status=2xx", nil)
		req.Header.Set("X-Admin-Token", token)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// true
	// 403 {"error":"not allowed to read the audit trail"}
	// 200 {"items":[]}
}
