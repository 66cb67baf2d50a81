package repository_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
)

// One retention pass keeps 90 days of request events: the row of 100 days
// ago goes, the row of yesterday stays.
func ExampleRunRetention() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	db, _ := repository.Open(filepath.Join(dir, "audit.sqlite3"))
	_ = repository.Migrate(db)

	now := time.Now().UTC()
	day := 24 * time.Hour
	_ = writer.GormStore{DB: db}.WriteBatch(context.Background(), &entities.Batch{Requests: []entities.RequestEvent{
		{ID: entities.NewID(), Datetime: now.Add(-100 * day), Method: "GET", URL: "/api/old/"},
		{ID: entities.NewID(), Datetime: now.Add(-1 * day), Method: "GET", URL: "/api/recent/"},
	}})

	res, err := repository.RunRetention(context.Background(), db, repository.Retention{Requests: 90 * day}, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	left, _ := query.CountRows(context.Background(), db, repository.Requests, time.Time{}, time.Time{})
	fmt.Printf("deleted %d request events, %d left\n", res.Deleted[repository.Requests], left)
	// Output: deleted 1 request events, 1 left
}
