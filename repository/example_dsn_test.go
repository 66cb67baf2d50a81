package repository_test

import (
	"fmt"

	"github.com/gin-audit-trail/audit/repository"
)

// ParseDSN reads a DSN without connecting: what a log or a spool directory
// may show of it, and an error for a DSN that can never work.
func ExampleParseDSN() {
	t, err := repository.ParseDSN("host=db.example user=audit password='s3cret pass' dbname=audit")
	fmt.Println(t, err)
	t, err = repository.ParseDSN("/var/lib/app/audit.sqlite3")
	fmt.Println(t, err)
	// Output:
	// postgres db.example:5432/audit <nil>
	// sqlite /var/lib/app/audit.sqlite3 <nil>
}
