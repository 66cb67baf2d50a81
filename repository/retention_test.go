package repository_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// agedBatch is a batch of n request events, n login events and n processes
// (each with two steps of two registrations), all dated at.
func agedBatch(n int, at time.Time) *entities.Batch {
	b := &entities.Batch{}
	for i := range n {
		t := at.Add(time.Duration(i) * time.Millisecond).UTC()
		req := entities.RequestEvent{ID: entities.NewID(), Datetime: t, Method: "GET", URL: "/api/x", StatusCode: 200}
		rid := req.ID
		b.Requests = append(b.Requests, req)
		b.Logins = append(b.Logins, entities.LoginEvent{ID: entities.NewID(), Datetime: t, Status: entities.LoginSignIn, RequestID: &rid, UserID: "u"})
		p := entities.ProcessEvent{ID: entities.NewID(), Datetime: t, Name: "export", RequestID: &rid}
		b.Processes = append(b.Processes, p)
		for s := range 2 {
			// A step may be dated after its process; it follows the process.
			st := entities.StepEvent{ID: entities.NewID(), Datetime: t.Add(time.Hour), ProcessID: p.ID, Name: "step", StepOrder: s + 1, TotalRegistrations: 2}
			b.Steps = append(b.Steps, st)
			for r := range 2 {
				b.Registrations = append(b.Registrations, entities.RegistrationEvent{ID: entities.NewID(), Datetime: t.Add(time.Hour), StepID: st.ID, Success: r == 0})
			}
		}
	}
	return b
}

func write(t testing.TB, db *gorm.DB, b *entities.Batch) {
	t.Helper()
	require.NoError(t, writer.GormStore{DB: db}.WriteBatch(context.Background(), b))
}

func rowsOf(t testing.TB, db *gorm.DB, k repository.Kind, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := "SELECT count(*) FROM " + k.Table()
	if where != "" {
		q += " WHERE " + where
	}
	require.NoError(t, db.Raw(q, args...).Scan(&n).Error)
	return n
}

func TestRetentionDeletesOlderRowsAndKeepsNewer(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		now := time.Now().UTC()
		old := agedBatch(23, now.Add(-100*24*time.Hour)) // older than every limit
		mid := agedBatch(11, now.Add(-40*24*time.Hour))  // older than the login limit only
		fresh := agedBatch(5, now.Add(-24*time.Hour))    // newer than every limit
		for _, b := range []*entities.Batch{old, mid, fresh} {
			write(t, db, b)
		}
		// A step whose process is gone, older than the limit: swept.
		orphan := entities.StepEvent{ID: entities.NewID(), Datetime: now.Add(-200 * 24 * time.Hour), ProcessID: entities.NewID(), Name: "orphan", StepOrder: 1}
		write(t, db, &entities.Batch{Steps: []entities.StepEvent{orphan}})

		res, err := repository.RunRetention(context.Background(), db, repository.Retention{
			Requests: 90 * 24 * time.Hour, Logins: 30 * 24 * time.Hour, Processes: 90 * 24 * time.Hour,
			BatchRows: 4, // many batches, and a last partial one
		}, now)
		require.NoError(t, err)

		require.Equal(t, int64(23), res.Deleted[repository.Requests])
		require.Equal(t, int64(23+11), res.Deleted[repository.Logins])
		// 23 processes, 46 steps, 92 registrations, and the orphan step.
		require.Equal(t, int64(23+46+92+1), res.Deleted[repository.Processes])

		require.Equal(t, int64(16), rowsOf(t, db, repository.Requests, ""))
		require.Equal(t, int64(0), rowsOf(t, db, repository.Requests, "datetime < ?", now.Add(-90*24*time.Hour)))
		require.Equal(t, int64(5), rowsOf(t, db, repository.Logins, ""))
		require.Equal(t, int64(16), rowsOf(t, db, repository.Processes, ""))
		require.Equal(t, int64(32), rowsOf(t, db, repository.Steps, ""))
		require.Equal(t, int64(64), rowsOf(t, db, repository.Registrations, ""))
		// What is left is exactly the newer rows, each process whole.
		for _, b := range []*entities.Batch{mid, fresh} {
			for _, p := range b.Processes {
				require.Equal(t, int64(2), rowsOf(t, db, repository.Steps, "process_id = ?", p.ID))
			}
		}
		for _, r := range fresh.Logins {
			require.Equal(t, int64(1), rowsOf(t, db, repository.Logins, "id = ?", r.ID))
		}
		require.Equal(t, int64(0), rowsOf(t, db, repository.Steps, "id = ?", orphan.ID))
	})
}

func TestRetentionRunsInOneInstanceAtATime(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		now := time.Now().UTC()
		write(t, db, agedBatch(3, now.Add(-48*time.Hour)))
		r := repository.Retention{Requests: time.Hour}

		// Another instance's pass, on its own connection pool.
		other := testdb.Open(t, dsn)
		release, err := repository.LockRetention(context.Background(), other)
		require.NoError(t, err)
		_, err = repository.RunRetention(context.Background(), db, r, now)
		require.ErrorIs(t, err, repository.ErrRetentionBusy)
		require.Equal(t, int64(3), rowsOf(t, db, repository.Requests, ""))

		release()
		_, err = repository.RunRetention(context.Background(), db, r, now)
		require.NoError(t, err)
		require.Equal(t, int64(0), rowsOf(t, db, repository.Requests, ""))
	})
}

// TestWriterKeepsWritingDuringAPurge purges many old rows in small batches
// while a Writer goes on committing new events: writes must commit between
// the purge's batches, not after it.
func TestWriterKeepsWritingDuringAPurge(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		now := time.Now().UTC()
		old := &entities.Batch{}
		for i := range 6000 {
			old.Requests = append(old.Requests, entities.RequestEvent{ID: entities.NewID(), Datetime: now.Add(-1000*time.Hour + time.Duration(i)*time.Second), Method: "GET", URL: "/api/old", RequestBody: strings.Repeat("x", 200)})
		}
		write(t, db, old)

		var mu sync.Mutex
		var trace []string // "purge" and "write" in commit order
		note := func(s string) { mu.Lock(); trace = append(trace, s); mu.Unlock() }

		w := writer.NewWriter(writer.GormStore{DB: db}, repository.WriterConfig{FlushInterval: time.Millisecond})
		stop := make(chan struct{})
		var written atomic.Int64
		done := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				b := &entities.Batch{Requests: []entities.RequestEvent{{ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "POST", URL: fmt.Sprintf("/api/new/%d", i)}}}
				if err := w.Write(context.Background(), b); err != nil {
					done <- err
					return
				}
				written.Add(1)
				note("write")
			}
		}()

		p := repository.Purger{DB: db, BatchRows: 100, Pause: 2 * time.Millisecond, Progress: func(repository.Kind, int64) { note("purge") }}
		n, err := p.PurgeOlder(context.Background(), repository.Requests, now.Add(-time.Hour))
		close(stop)
		require.NoError(t, <-done)
		require.NoError(t, w.Close(context.Background()))
		require.NoError(t, err)
		require.Equal(t, int64(6000), n)

		// Writes committed between the first and the last purge batch.
		first, last := -1, -1
		for i, s := range trace {
			if s == "purge" {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		between := 0
		for _, s := range trace[first:last] {
			if s == "write" {
				between++
			}
		}
		t.Logf("%d purge batches, %d writes during the purge, %d in all", 60, between, written.Load())
		require.Greater(t, between, 0, "the writer stalled during the purge")
		require.Equal(t, written.Load(), rowsOf(t, db, repository.Requests, ""), "every new row kept")
	})
}

func TestSQLiteFileShrinksAfterRetention(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	var mode int
	require.NoError(t, db.Raw("PRAGMA auto_vacuum").Scan(&mode).Error)
	require.Equal(t, 2, mode, "a new audit file has auto_vacuum=INCREMENTAL")

	now := time.Now().UTC()
	b := &entities.Batch{}
	for i := range 3000 {
		b.Requests = append(b.Requests, entities.RequestEvent{ID: entities.NewID(), Datetime: now.Add(-100*time.Hour + time.Duration(i)*time.Millisecond), Method: "GET", URL: "/api/x", ResponseBody: strings.Repeat("y", 2000)})
	}
	write(t, db, b)
	pages := func() int64 {
		var n int64
		require.NoError(t, db.Raw("PRAGMA page_count").Scan(&n).Error)
		return n
	}
	before := pages()
	res, err := repository.RunRetention(context.Background(), db, repository.Retention{Requests: time.Hour, Pause: -1}, now)
	require.NoError(t, err)
	require.Equal(t, int64(3000), res.Deleted[repository.Requests])
	require.Greater(t, res.VacuumedPages, int64(0))
	after := pages()
	t.Logf("pages before %d, after %d (vacuumed %d)", before, after, res.VacuumedPages)
	require.Less(t, after, before/10, "the file gave its free pages back")
}
