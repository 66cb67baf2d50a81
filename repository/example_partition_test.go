package repository_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gin-audit-trail/audit/repository"
)

// A new PostgreSQL audit database, partitioned by day: the five tables,
// their DEFAULT partitions and a week of partitions ahead. (It needs a
// server, so it is compiled, not run, by go test.)
func ExampleMigratePartitioned() {
	db, err := repository.Open(os.Getenv("AUDIT_DSN")) // postgres://...
	if err != nil {
		fmt.Println(err)
		return
	}
	p := repository.Partitioning{Interval: repository.PartitionDaily}
	if err := repository.MigratePartitioned(db, p); err != nil {
		fmt.Println(err) // ErrNotPartitioned on an existing unpartitioned database
		return
	}
	parts, _ := repository.Partitions(context.Background(), db, repository.Requests.Table())
	for _, part := range parts {
		if part.Default {
			fmt.Printf("%s: DEFAULT, %d rows\n", part.Name, part.Rows)
			continue
		}
		fmt.Printf("%s: %s to %s\n", part.Name, part.From.Format(time.DateOnly), part.To.Format(time.DateOnly))
	}
}

// The partition interval as the audit command's flags read it.
func ExampleParsePartitionInterval() {
	for _, s := range []string{"daily", "Monthly", "", "weekly"} {
		iv, err := repository.ParsePartitionInterval(s)
		fmt.Printf("%q %v\n", iv, err)
	}
	// Output:
	// "daily" <nil>
	// "monthly" <nil>
	// "" <nil>
	// "" audit: unknown partition interval "weekly": use daily or monthly
}
