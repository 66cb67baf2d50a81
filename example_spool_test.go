package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/repository"
)

// A trail whose events must survive a database outage and a crash: the
// spool keeps what the database cannot take, and Stats tells operators how
// the trail is doing.
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
	defer trail.Close(context.Background())

	st := trail.Stats()
	fmt.Println("degraded:", st.Degraded, "spooled:", st.Spooled, "pending:", st.SpoolPending)
	// Output: degraded: false spooled: 0 pending: 0
}
