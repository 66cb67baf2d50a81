package audit_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-gonic/gin"
)

// Open a trail, install its middleware, and close it at shutdown so every
// accepted event is written.
func Example() {
	dir, _ := os.MkdirTemp("", "audit-example-")
	defer os.RemoveAll(dir)
	dsn := filepath.Join(dir, "audit_trail.sqlite3")

	trail, err := audit.Open(audit.Options{DSN: dsn})
	if err != nil {
		log.Fatal(err)
	}
	router := gin.New()
	router.Use(gin.Recovery(), trail.Middleware())
	router.GET("/api/ping/", func(c *gin.Context) {
		c.MustGet("audit").(*audit.Event).SetExtra(map[string]any{"data": "Example of extra information"})
		c.JSON(200, gin.H{"status": "ok"})
	})

	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/ping/?page=2", nil))
	if err := trail.Close(context.Background()); err != nil { // drain the queue
		log.Fatal(err)
	}

	reader, _ := audit.Open(audit.Options{DSN: dsn})
	defer reader.Close(context.Background())
	var ev entities.RequestEvent
	reader.DB().First(&ev)
	fmt.Println(ev.Method, ev.URL, ev.QueryParams, ev.StatusCode, ev.ResponseBody, ev.ExtraInformations)
	// Output: GET /api/ping/ page=2 200 {"status":"ok"} {"data":"Example of extra information"}
}

// From returns the request's handle; on routes that are not audited it is
// nil, and its methods do nothing.
func ExampleFrom() {
	trail, err := audit.Open(audit.Options{DSN: filepath.Join(os.TempDir(), fmt.Sprintf("audit-from-%d.sqlite3", os.Getpid()))})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		trail.Close(context.Background())
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(filepath.Join(os.TempDir(), fmt.Sprintf("audit-from-%d.sqlite3%s", os.Getpid(), suffix)))
		}
	}()
	router := gin.New()
	router.Use(trail.Middleware())
	handler := func(c *gin.Context) {
		ev := audit.From(c)
		ev.SetUser("42") // safe on nil
		fmt.Println(c.Request.URL.Path, "audited:", ev != nil)
	}
	router.GET("/api/orders/", handler)
	router.GET("/healthz", handler)
	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/orders/", nil))
	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	// Output:
	// /api/orders/ audited: true
	// /healthz audited: false
}

// The one-line form with a safe shutdown: the trail of New drains when the
// context ends, and main waits on Closed before it exits.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "audit-example-*")
	defer os.RemoveAll(dir)
	ctx, stop := context.WithCancel(context.Background()) // in main: signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	closed := make(chan error, 1)

	router := gin.New()
	router.Use(audit.New(audit.Options{DSN: filepath.Join(dir, "audit.sqlite3"), Context: ctx, Closed: closed}))
	router.GET("/api/ping/", func(c *gin.Context) { c.String(http.StatusOK, "pong") })
	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/ping/", nil))

	stop()                                   // SIGTERM: after http.Server.Shutdown returns
	fmt.Println("drained:", <-closed == nil) // every accepted event is written
	// Output: drained: true
}
