package writer_test

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/tcpproxy"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// proxied returns a PostgreSQL test database behind a TCP proxy the test
// controls, and the DSN that goes through it.
func proxied(t *testing.T) (direct, viaProxy string, p *tcpproxy.Proxy) {
	t.Helper()
	direct = testdb.Postgres(t)
	u, err := url.Parse(direct)
	require.NoError(t, err)
	p, err = tcpproxy.New(u.Host)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	u.Host = p.Addr
	return direct, u.String(), p
}

func openNoWait(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := repository.Open(dsn)
	require.NoError(t, err, "Open must not need the server")
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

func countRequests(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table("audit_request_events").Count(&n).Error)
	return n
}

// A database that is down when the store starts: writes are refused with
// ErrNotConnected (so a writer spools them) until it comes back; then the
// store migrates and writes, without being recreated.
func TestConnectingStoreWaitsForTheDatabase(t *testing.T) {
	direct, dsn, proxy := proxied(t)
	proxy.Cut()
	db := openNoWait(t, dsn)
	cs := writer.NewConnectingStore(db, writer.GormStore{DB: db},
		writer.ConnectConfig{Migrate: true, BackoffMax: 100 * time.Millisecond})
	t.Cleanup(func() { _ = cs.Close(context.Background()) })

	start := time.Now()
	cs.Start(time.Hour)
	require.Less(t, time.Since(start), time.Minute, "Start waited for a database that refuses connections")
	err := cs.WriteBatch(context.Background(), requestBatch("/api/down"))
	require.ErrorIs(t, err, writer.ErrNotConnected)
	st := cs.State()
	require.False(t, st.Connected)
	require.Contains(t, st.ConnectError, "connection refused")

	require.NoError(t, proxy.Restore())
	select {
	case <-cs.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("not connected 30 s after the database returned: %+v", cs.State())
	}
	require.NoError(t, cs.WriteBatch(context.Background(), requestBatch("/api/up")))
	st = cs.State()
	require.True(t, st.Connected)
	require.False(t, st.WriteFailing)
	require.Empty(t, st.ConnectError)
	require.EqualValues(t, 1, countRequests(t, openNoWait(t, direct)), "the tables were migrated and the write committed")
}

// A hung database (it accepts connections and never answers): every
// attempt ends at its deadline, and Close cancels the one in flight.
func TestConnectingStoreAttemptDeadline(t *testing.T) {
	_, dsn, proxy := proxied(t)
	proxy.Hang()
	t.Cleanup(func() { _ = proxy.Restore() })
	db := openNoWait(t, dsn)
	const deadline = 300 * time.Millisecond
	cs := writer.NewConnectingStore(db, writer.GormStore{DB: db},
		writer.ConnectConfig{Migrate: true, AttemptTimeout: deadline})

	start := time.Now()
	err := cs.Connect(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// Bounded, not timed: a missing deadline would hang here for ever.
	require.Less(t, time.Since(start), 20*deadline)
	require.False(t, cs.State().Connected)

	// The background attempts hang too; Close ends them.
	cs2 := writer.NewConnectingStore(db, writer.GormStore{DB: db},
		writer.ConnectConfig{Migrate: true, AttemptTimeout: time.Hour})
	cs2.Start(100 * time.Millisecond) // returns: the database does not answer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, cs2.Close(ctx), "Close did not cancel the attempt in flight")
	require.False(t, cs2.State().Connected)
}

// Any number of processes may migrate one empty database at once.
func TestMigrateConcurrently(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		const instances = 5
		dbs := make([]*gorm.DB, instances)
		for i := range dbs {
			dbs[i] = openNoWait(t, dsn) // one pool each, like separate processes
		}
		errs := make([]error, instances)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range instances {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				errs[i] = repository.Migrate(dbs[i])
			}()
		}
		close(gate)
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		store := writer.GormStore{DB: dbs[0]}
		require.NoError(t, store.WriteBatch(context.Background(), &entities.Batch{
			Requests: requestBatch("/api/x").Requests,
			Logins:   []entities.LoginEvent{{ID: entities.NewID(), Datetime: time.Now().UTC(), Status: entities.LoginSignIn}},
		}))
		require.EqualValues(t, 1, countRequests(t, dbs[instances-1]))
	})
}
