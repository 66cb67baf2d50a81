package audit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
)

// A trail whose events must survive a database outage and a crash: the
// spool keeps what the database cannot take, and Stats tells operators how
// the trail is doing. Close drains the queue, so the counters after it say
// what happened to every request.
func ExampleTrail_Stats() {
	dir, _ := os.MkdirTemp("", "audit-example-*")
	defer os.RemoveAll(dir)

	trail, err := audit.Open(audit.Options{
		DSN: filepath.Join(dir, "audit.sqlite3"),
		Writer: repository.WriterConfig{
			Spool: repository.SpoolConfig{
				Dir:      filepath.Join(dir, "spool"), // default: audit.sqlite3.spool next to the file
				MaxBytes: 256 << 20,                   // at most 256 MiB on disk during an outage
				Full:     repository.SpoolFullDrop,    // then drop and count (or SpoolFullBlock)
			},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	router := gin.New()
	router.Use(trail.Middleware())
	router.GET("/api/ping/", func(c *gin.Context) { c.String(http.StatusOK, "pong") })
	for range 3 {
		router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/ping/", nil))
	}
	router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/health", nil)) // not under /api/: not audited

	if err := trail.Close(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	st := trail.Stats()
	fmt.Println("accepted:", st.Accepted, "written:", st.Written, "dropped:", st.Dropped, "failed:", st.Failed)
	fmt.Println("degraded:", st.Degraded, "spooled:", st.Spooled, "pending:", st.SpoolPending)
	// Output:
	// accepted: 3 written: 3 dropped: 0 failed: 0
	// degraded: false spooled: 0 pending: 0
}
