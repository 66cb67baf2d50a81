package main

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/stretchr/testify/require"
)

func TestVerifyCommand(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		keyFile := filepath.Join(dir, "signing.pem")
		mustRun(t, "keygen", "--out", keyFile)
		st, err := os.Stat(keyFile)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the private key is readable by its owner only")
		key, err := integrity.LoadPrivateKey(nil, keyFile)
		require.NoError(t, err)

		db := testdb.Open(t, dsn)
		store := writer.GormStore{DB: db, Integrity: integrity.NewSealer(key)}
		var rows []entities.RequestEvent
		for range 3 {
			b := &entities.Batch{}
			for range 4 {
				b.Requests = append(b.Requests, entities.RequestEvent{ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "GET", URL: "/api/x/", StatusCode: 200})
			}
			require.NoError(t, store.WriteBatch(context.Background(), b))
			rows = append(rows, b.Requests...)
		}

		out := mustRun(t, "--dsn", dsn, "verify", "--public-key", keyFile+".pub")
		require.Contains(t, out, "ok: 12 rows in 3 digests (1 chains)")
		// A range with no batch verifies nothing, and holds.
		out = mustRun(t, "--dsn", dsn, "verify", "--from", "2099-01-01")
		require.Contains(t, out, "ok: 0 rows in 0 digests")

		// One changed column: exit status 1, the row named.
		require.NoError(t, db.Exec("UPDATE audit_request_events SET url = '/api/other/' WHERE id = ?", rows[5].ID).Error)
		out, _, err = runAudit(t, "--dsn", dsn, "verify", "--public-key", keyFile+".pub")
		require.ErrorIs(t, err, errVerifyFailed)
		require.Contains(t, out, "row changed audit_request_events row "+rows[5].ID.String())
		require.Contains(t, out, "FAILED: 1 row changed")

		// Every run is recorded; the last one failed.
		v, err := integrity.LastVerification(context.Background(), db)
		require.NoError(t, err)
		require.NotNil(t, v)
		require.False(t, v.OK)
		require.EqualValues(t, 1, v.Problems)
		require.Equal(t, integrity.KeyID(key.Public().(ed25519.PublicKey)), v.KeyID)
		require.True(t, strings.HasPrefix(v.Summary, "FAILED"))
	})
}

// purge on a sealed trail records checkpoints: verify still holds.
func TestPurgeOfASealedTrailVerifies(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		keyFile := filepath.Join(t.TempDir(), "k.pem")
		mustRun(t, "keygen", "--out", keyFile)
		key, err := integrity.LoadPrivateKey(nil, keyFile)
		require.NoError(t, err)
		db := testdb.Open(t, dsn)
		store := writer.GormStore{DB: db, Integrity: integrity.NewSealer(key)}
		old := time.Now().UTC().Add(-100 * 24 * time.Hour)
		b := &entities.Batch{}
		for i := range 6 {
			at := time.Now().UTC()
			if i%2 == 0 {
				at = old
			}
			b.Requests = append(b.Requests, entities.RequestEvent{ID: entities.NewID(), Datetime: at, Method: "GET", URL: "/api/p/", StatusCode: 200})
		}
		require.NoError(t, store.WriteBatch(context.Background(), b))
		out := mustRun(t, "--dsn", dsn, "purge", "--older-than", "90d", "--signing-key", keyFile)
		require.Contains(t, out, "requests: deleted 3 rows")
		out = mustRun(t, "--dsn", dsn, "verify", "--public-key", keyFile+".pub")
		require.Contains(t, out, "ok: 3 rows in 2 digests")
		require.Contains(t, out, "3 sealed rows removed by recorded purges")
	})
}

// spool replay into a sealed trail seals what it writes: the trail
// verifies afterwards, signed with --signing-key.
func TestSpoolReplayIntoASealedTrailVerifies(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		keyFile := filepath.Join(t.TempDir(), "k.pem")
		mustRun(t, "keygen", "--out", keyFile)
		key, err := integrity.LoadPrivateKey(nil, keyFile)
		require.NoError(t, err)
		db := testdb.Open(t, dsn)
		live := &entities.Batch{Requests: []entities.RequestEvent{{ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "GET", URL: "/api/live"}}}
		require.NoError(t, writer.GormStore{DB: db, Integrity: integrity.NewSealer(key)}.WriteBatch(context.Background(), live))

		left := &entities.Batch{Requests: []entities.RequestEvent{{ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "POST", URL: "/api/left"}},
			Logins: []entities.LoginEvent{{ID: entities.NewID(), Datetime: time.Now().UTC(), Status: entities.LoginFailed}}}
		dir := filepath.Join(t.TempDir(), "spool")
		writeSpool(t, dir, left, live) // the live batch again: a replay of what was committed
		out := mustRun(t, "--dsn", dsn, "spool", "replay", dir, "--signing-key", keyFile)
		require.Contains(t, out, "replayed 2 batches, 3 rows")
		out = mustRun(t, "--dsn", dsn, "verify", "--public-key", keyFile+".pub")
		require.Contains(t, out, "ok: 3 rows in 2 digests")
	})
}

// --anchor: deleting the newest batch after a verification (a chain
// truncated at its end, which the chain alone cannot show) is seen by the
// next run.
func TestVerifyAnchorSeesATruncatedChain(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		store := writer.GormStore{DB: db, Integrity: integrity.NewSealer(nil)}
		var last *entities.Batch
		for range 3 {
			last = &entities.Batch{Requests: []entities.RequestEvent{{ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "GET", URL: "/api/a"}}}
			require.NoError(t, store.WriteBatch(context.Background(), last))
		}
		anchor := filepath.Join(t.TempDir(), "anchor.json")
		out := mustRun(t, "--dsn", dsn, "verify", "--anchor", anchor)
		require.Contains(t, out, "anchor: the heads of 1 chains written")
		mustRun(t, "--dsn", dsn, "verify", "--anchor", anchor) // unchanged: holds

		// The newest batch goes, rows and digest: the chain is shorter and
		// valid, but the anchor remembers its head.
		require.NoError(t, db.Exec("DELETE FROM audit_request_events WHERE id = ?", last.Requests[0].ID).Error)
		require.NoError(t, db.Exec("DELETE FROM audit_digests WHERE id = ?", last.Requests[0].DigestID.String()).Error)
		out = mustRun(t, "--dsn", dsn, "verify")
		require.Contains(t, out, "ok: 2 rows", "without the anchor, truncation is invisible")
		out, _, err := runAudit(t, "--dsn", dsn, "verify", "--anchor", anchor)
		require.ErrorIs(t, err, errVerifyFailed)
		require.Contains(t, out, "anchored digest gone")
		require.Contains(t, out, "seq 3")
	})
}
