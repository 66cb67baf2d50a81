package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
)

// A tamper-evident trail: every batch is sealed by a digest written in the
// same transaction, chained to the previous one and signed with an Ed25519
// key (`audit keygen` makes one; here it is generated in memory). `audit
// verify --public-key FILE.pub` then finds any row changed, added or
// deleted (docs/INTEGRITY.md).
func ExampleOptions_integrity() {
	dir, _ := os.MkdirTemp("", "audit-example-*")
	defer os.RemoveAll(dir)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)

	trail, err := audit.Open(audit.Options{
		DSN:         filepath.Join(dir, "audit.sqlite3"),
		Synchronous: true, // for the example: the row is committed when the response is
		Integrity: repository.Integrity{
			SigningKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), // or SigningKeyFile
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	router := gin.New()
	router.Use(trail.Middleware())
	router.GET("/api/ping/", func(c *gin.Context) { c.String(http.StatusOK, "pong") })
	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/ping/", nil))

	var sealed, signed int64
	trail.DB().Raw("SELECT count(*) FROM audit_request_events WHERE digest_id IS NOT NULL").Scan(&sealed)
	trail.DB().Raw("SELECT count(*) FROM audit_digests WHERE signature IS NOT NULL").Scan(&signed)
	fmt.Println("sealed rows:", sealed, "signed digests:", signed)
	if err := trail.Close(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// sealed rows: 1 signed digests: 1
}
