package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-gonic/gin"
)

// Secret names can be added and removed, and detectors of secrets by shape
// added: here an application's "cpf" numbers and its payment provider's
// live keys are masked, and its map "pin" is not.
func ExampleSecretPattern() {
	dir, _ := os.MkdirTemp("", "audit-example-")
	defer os.RemoveAll(dir)
	trail, err := audit.Open(audit.Options{
		DSN:              filepath.Join(dir, "audit_trail.sqlite3"),
		Synchronous:      true,
		AddSecretKeys:    []string{"cpf"},
		RemoveSecretKeys: []string{"pin"},
		SecretDetectors:  []audit.SecretDetector{audit.SecretPattern(regexp.MustCompile(`sk_live_[0-9a-zA-Z]{8,}`))},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer trail.Close(context.Background())
	router := gin.New()
	router.Use(trail.Middleware())
	router.POST("/api/orders/", func(c *gin.Context) {
		var order map[string]string
		_ = c.ShouldBindJSON(&order)
		c.Status(201)
	})

	body := `{"cpf":"123.456.789-09","pin":"Lisbon","note":"charged with sk_live_4eC39HqLyjWDarjtT1zdp7dc","card":"4111 1111 1111 1111"}`
	req := httptest.NewRequest("POST", "/api/orders/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	router.ServeHTTP(httptest.NewRecorder(), req)

	var ev entities.RequestEvent
	trail.DB().First(&ev)
	fmt.Println(ev.RequestBody)
	// Output: {"cpf":"********","pin":"Lisbon","note":"charged with ********","card":"********"}
}

// The access log masks the path and query like the stored rows.
func ExampleTrail_LogFormatter() {
	dir, _ := os.MkdirTemp("", "audit-example-")
	defer os.RemoveAll(dir)
	trail, err := audit.Open(audit.Options{DSN: filepath.Join(dir, "audit_trail.sqlite3")})
	if err != nil {
		log.Fatal(err)
	}
	defer trail.Close(context.Background())
	var logged bytes.Buffer
	router := gin.New()
	router.Use(gin.LoggerWithConfig(gin.LoggerConfig{Formatter: trail.LogFormatter(), Output: &logged}), trail.Middleware())
	router.GET("/api/reset/:token/", func(c *gin.Context) { c.Status(204) })

	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET",
		"/api/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl/?password=hunter2&page=2", nil))
	_, path, _ := strings.Cut(logged.String(), `"`)
	fmt.Println(`"` + strings.TrimSpace(path))
	// Output: "/api/reset/********/?password=********&page=2"
}
