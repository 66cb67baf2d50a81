package writer

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/stmtcache"
	"github.com/gin-audit-trail/audit/repository"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// BenchmarkInsertRequestsSQLite compares, in one run, the two ways of
// writing 1000 request events in a SQLite transaction: GORM's multi-row
// INSERT and the prepared multi-row statements GormStore uses. Run:
//
//	go test ./internal/writer -run '^$' -bench InsertRequestsSQLite -count 5
func BenchmarkInsertRequestsSQLite(b *testing.B) {
	db, err := repository.Open(filepath.Join(b.TempDir(), "bench.sqlite3"))
	if err != nil {
		b.Fatal(err)
	}
	if err := repository.Migrate(db); err != nil {
		b.Fatal(err)
	}
	rows := func() []entities.RequestEvent {
		out := make([]entities.RequestEvent, 1000)
		for i := range out {
			out[i] = entities.RequestEvent{ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "GET",
				URL: fmt.Sprintf("/api/item/%d/", i%100), StatusCode: 200, IPAddress: "127.0.0.1",
				RequestType: "http", ResponseBody: `{"status":"ok"}`, ResponseTimeMS: 0.25}
		}
		return out
	}
	s := GormStore{DB: db}
	prepareSQLiteInserts(context.Background(), stmtcache.Of(db), rows(), false) // as WriteBatch does
	strategies := map[string]func(tx *gorm.DB, r []entities.RequestEvent) error{
		"gorm-multirow": func(tx *gorm.DB, r []entities.RequestEvent) error {
			return insert(tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}), r)
		},
		"prepared-multi-row": func(tx *gorm.DB, r []entities.RequestEvent) error {
			return s.insertRequests(context.Background(), tx, r)
		},
	}
	for _, name := range []string{"gorm-multirow", "prepared-multi-row"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				r := rows()
				b.StartTimer()
				if err := db.Transaction(func(tx *gorm.DB) error { return strategies[name](tx, r) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
