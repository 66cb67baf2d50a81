package writer_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// requireVerified runs the verification and requires an untouched trail
// of rows rows, every one sealed exactly once.
func requireVerified(t *testing.T, db *gorm.DB, pub ed25519.PublicKey, rows int64) {
	t.Helper()
	var lines []string
	res, err := integrity.Verify(context.Background(), db, integrity.Options{PublicKey: pub,
		Problem: func(p integrity.Problem) { lines = append(lines, p.String()) }})
	require.NoError(t, err)
	require.True(t, res.OK(), strings.Join(lines, "\n"))
	require.Equal(t, rows, res.Rows)
	var sealed int64
	require.NoError(t, db.Raw("SELECT coalesce(sum(row_count), 0) FROM audit_digests").Row().Scan(&sealed))
	require.Equal(t, rows, sealed, "every row is in exactly one digest")
}

func newKey(t *testing.T) (ed25519.PrivateKey, ed25519.PublicKey) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return key, pub
}

// An outage: batches go to the spool, are replayed when the database
// returns, and the trail verifies: the replay seals what it writes, on
// chains of its own, and no batch is sealed twice.
func TestSealedTrailVerifiesAfterOutageAndReplay(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		key, pub := newKey(t)
		store := &faultStore{inner: writer.GormStore{DB: db, Integrity: integrity.NewSealer(key)}}
		w, err := writer.OpenWriter(store, spoolCfg(filepath.Join(t.TempDir(), "spool")))
		require.NoError(t, err)
		const phase = 100
		for i := range phase {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/before/%d", i))))
		}
		waitFor(t, "first rows written", func() bool { return w.Stats().Written == phase })
		store.down.Store(true)
		for i := range phase {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/during/%d", i))))
		}
		waitFor(t, "outage rows spooled", func() bool { return w.Stats().Spooled == phase })
		store.down.Store(false)
		for i := range phase {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/after/%d", i))))
		}
		waitFor(t, "spool replayed", func() bool { s := w.Stats(); return !s.Degraded && s.Written == 3*phase })
		require.NoError(t, w.Close(context.Background()))
		require.Positive(t, w.Stats().Replayed)
		requireVerified(t, db, pub, 3*phase)
	})
}

// Commits whose reply was lost: the batch is spooled and replayed though
// it is in the database; the replay finds its rows stored and writes no
// second digest.
func TestSealedCommitInDoubtIsSealedOnce(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		store := &faultStore{inner: writer.GormStore{DB: db, Integrity: integrity.NewSealer(nil)}}
		store.ghost.Store(true)
		w, err := writer.OpenWriter(store, spoolCfg(filepath.Join(t.TempDir(), "spool")))
		require.NoError(t, err)
		for i := range 50 {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/ghost/%d", i))))
		}
		waitFor(t, "spooled", func() bool { return w.Stats().Spooled > 0 })
		store.ghost.Store(false)
		require.NoError(t, w.Close(context.Background()))
		requireVerified(t, db, nil, 50)
	})
}

// A writer stopped while the database is down (as by kill -9) leaves its
// spool; the next process replays it with a new sealer (new chains), and
// the whole trail verifies.
func TestSealedSpoolLeftByAStoppedWriterVerifies(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		key, pub := newKey(t)
		dir := filepath.Join(t.TempDir(), "spool")
		first := &faultStore{inner: writer.GormStore{DB: db, Integrity: integrity.NewSealer(key)}}
		w, err := writer.OpenWriter(first, spoolCfg(dir))
		require.NoError(t, err)
		for i := range 40 {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/up/%d", i))))
		}
		waitFor(t, "written", func() bool { return w.Stats().Written == 40 })
		first.down.Store(true)
		for i := range 60 {
			require.True(t, w.Enqueue(requestBatch(fmt.Sprintf("/api/left/%d", i))))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, w.Close(ctx))
		require.EqualValues(t, 60, w.Stats().Spooled)

		w2, err := writer.OpenWriter(writer.GormStore{DB: db, Integrity: integrity.NewSealer(key)}, spoolCfg(dir))
		require.NoError(t, err)
		waitFor(t, "replayed", func() bool { return !w2.Stats().Degraded && w2.Stats().Replayed == 60 })
		require.NoError(t, w2.Close(context.Background()))
		requireVerified(t, db, pub, 100)
		var chains int64
		require.NoError(t, db.Raw("SELECT count(DISTINCT chain_id) FROM audit_digests").Row().Scan(&chains))
		require.GreaterOrEqual(t, chains, int64(2), "each process seals on chains of its own")
	})
}
