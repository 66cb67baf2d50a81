package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	audit "github.com/gin-audit-trail/audit"
)

// Open does not need the audit database: a PostgreSQL server that is down
// is reached in the background while events wait in the spool, and
// DatabaseState tells whether it has been reached. WaitForDatabase keeps
// the fail-fast start. Only a DSN that can never work fails at once.
func ExampleTrail_DatabaseState() {
	dir, _ := os.MkdirTemp("", "audit-example-*")
	defer os.RemoveAll(dir)

	trail, err := audit.Open(audit.Options{DSN: filepath.Join(dir, "audit.sqlite3")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer trail.Close(context.Background())
	// A local file answers at once, and Open waits for its migration.
	fmt.Println("connected:", trail.DatabaseState().Connected)

	_, err = audit.Open(audit.Options{DSN: "mysql://audit@db.example/audit"})
	fmt.Println(err)
	// Output:
	// connected: true
	// audit: DSN scheme "mysql" is not supported: use postgres://, postgresql://, host=... or a SQLite file path
}
