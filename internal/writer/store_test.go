package writer_test

import (
	"context"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/stretchr/testify/require"
)

func fullBatch(t time.Time) *entities.Batch {
	req := entities.RequestEvent{ID: entities.NewID(), Datetime: t, UserID: "u1", IPAddress: "10.0.0.1", Method: "POST",
		URL: "/api/product/", Route: "/api/product/", QueryParams: "a=1", RequestType: "https", RequestBody: `{"name":"x"}`,
		ResponseBody: `{"id":1}`, StatusCode: 201, ResponseTimeMS: 1.25, ResponseSize: 8, ErrorType: "", ExtraInformations: `{"k":"v"}`}
	proc := entities.ProcessEvent{ID: entities.NewID(), Datetime: t, Name: "Criar produto", CreatedBy: "u1", RequestID: &req.ID}
	step := entities.StepEvent{ID: entities.NewID(), Datetime: t, ProcessID: proc.ID, Name: "Validação", StepOrder: 1, TotalRegistrations: 2}
	return &entities.Batch{
		Requests:      []entities.RequestEvent{req},
		Logins:        []entities.LoginEvent{{ID: entities.NewID(), Datetime: t, Status: entities.LoginSignIn, RequestID: &req.ID, UserID: "u1", Username: "ana"}},
		Processes:     []entities.ProcessEvent{proc, {ID: entities.NewID(), Datetime: t, Name: "job"}},
		Steps:         []entities.StepEvent{step},
		Registrations: []entities.RegistrationEvent{{ID: entities.NewID(), Datetime: t, StepID: step.ID, Success: true, Name: "ok"}},
	}
}

func tableCounts(t *testing.T, dsn string) []int64 {
	db := testdb.Open(t, dsn)
	var out []int64
	for _, tbl := range []string{"audit_request_events", "audit_login_events", "audit_process_events", "audit_step_events", "audit_registration_events"} {
		var n int64
		require.NoError(t, db.Table(tbl).Count(&n).Error)
		out = append(out, n)
	}
	return out
}

// Every column of every table survives the fast path (COPY on PostgreSQL,
// prepared multi-row INSERTs on SQLite); writing a batch again, alone or
// mixed with new rows (the idempotent path), stores each row once.
func TestStoreFastAndIdempotentPaths(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		store := writer.GormStore{DB: db}
		ctx := context.Background()
		at := time.Date(2025, 3, 1, 12, 30, 15, 123456000, time.UTC)
		a := fullBatch(at)
		require.NoError(t, store.WriteBatch(ctx, a))
		require.Equal(t, []int64{1, 1, 2, 1, 1}, tableCounts(t, dsn))

		got, err := query.FindRequest(ctx, db, a.Requests[0].ID)
		require.NoError(t, err)
		want := a.Requests[0]
		require.True(t, want.Datetime.Equal(got.Datetime), "datetime %s", got.Datetime)
		got.Datetime = want.Datetime
		require.Equal(t, want, *got)
		logins, err := query.LoginsOfRequest(ctx, db, want.ID)
		require.NoError(t, err)
		require.Len(t, logins, 1)
		require.Equal(t, want.ID, *logins[0].RequestID)
		require.Equal(t, "ana", logins[0].Username)

		require.NoError(t, store.WriteBatch(ctx, a), "the same batch again")
		require.Equal(t, []int64{1, 1, 2, 1, 1}, tableCounts(t, dsn))

		b := fullBatch(at.Add(time.Second))
		mixed := &entities.Batch{}
		mixed.Append(a)
		mixed.Append(b)
		require.NoError(t, store.WriteBatch(ctx, mixed), "old and new rows together")
		require.Equal(t, []int64{2, 2, 4, 2, 2}, tableCounts(t, dsn))
	})
}

// Many request events in one transaction: the multi-row statements and
// their remainder.
func TestStoreWritesLargeBatches(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		store := writer.GormStore{DB: db}
		for _, n := range []int{1, 63, 64, 65, 1000, 1337} {
			b := &entities.Batch{}
			for range n {
				b.Append(requestBatch("/api/large/"))
			}
			require.NoError(t, store.WriteBatch(context.Background(), b))
		}
		total, distinct := countRows(t, dsn)
		require.Equal(t, int64(1+63+64+65+1000+1337), total)
		require.Equal(t, total, distinct)
	})
}

// SQLite audit databases are often opened with a pool of one connection:
// the store's reused statements must not wait for a second one, and keep
// working across batches, a duplicate batch and a connection that was
// closed between two batches.
func TestStoreSQLiteOneConnection(t *testing.T) {
	dsn := testdb.SQLite(t)
	db := testdb.Open(t, dsn)
	sqlDB, err := db.DB()
	require.NoError(t, err)
	sqlDB.SetMaxOpenConns(1)
	store := writer.GormStore{DB: db}
	var written []*entities.Batch
	for i := range 4 {
		b := &entities.Batch{}
		for range 100 + i {
			b.Append(requestBatch("/api/one-conn/"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, store.WriteBatch(ctx, b), "batch %d", i)
		cancel()
		written = append(written, b)
		if i == 1 {
			sqlDB.SetMaxIdleConns(0) // the connection is closed: the next batch gets a new one
			sqlDB.SetMaxIdleConns(1)
		}
	}
	require.NoError(t, store.WriteBatch(context.Background(), written[0]), "a batch written again")
	total, distinct := countRows(t, dsn)
	require.Equal(t, int64(100+101+102+103), total)
	require.Equal(t, total, distinct)
}
