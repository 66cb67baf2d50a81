package integrity_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// batchOf is a batch with every table filled: n requests, each with a
// login and a process of one step and two registrations.
func batchOf(n int) *entities.Batch {
	b := &entities.Batch{}
	for i := range n {
		ts := time.Now().UTC().Add(time.Duration(i) * time.Millisecond)
		req := entities.RequestEvent{ID: entities.NewID(), Datetime: ts, UserID: "u1", IPAddress: "10.0.0.1", Method: "POST",
			URL: fmt.Sprintf("/api/orders/%d/", i), Route: "/api/orders/:id/", QueryParams: "a=1", RequestType: "https",
			RequestBody: `{"qty":2}`, ResponseBody: `{"ok":true}`, StatusCode: 201, ResponseTimeMS: 1.25 + float64(i)/7,
			ResponseSize: 11, ErrorType: "", ExtraInformations: `{"k":"v"}`}
		rid := req.ID
		p := entities.ProcessEvent{ID: entities.NewID(), Datetime: ts, Name: "import", Description: "nightly", CreatedBy: "u1", RequestID: &rid}
		st := entities.StepEvent{ID: entities.NewID(), Datetime: ts, ProcessID: p.ID, Name: "read", StepOrder: 1, TotalRegistrations: 2}
		b.Requests = append(b.Requests, req)
		b.Logins = append(b.Logins, entities.LoginEvent{ID: entities.NewID(), Datetime: ts, Status: entities.LoginSignIn, RequestID: &rid, UserID: "u1", Username: "ana"})
		b.Processes = append(b.Processes, p)
		b.Steps = append(b.Steps, st)
		b.Registrations = append(b.Registrations,
			entities.RegistrationEvent{ID: entities.NewID(), Datetime: ts, StepID: st.ID, Success: true, Name: "row 1"},
			entities.RegistrationEvent{ID: entities.NewID(), Datetime: ts, StepID: st.ID, Success: false, Name: "row 2", Description: "bad"})
	}
	return b
}

// sealedTrail writes batches of rows through a sealed GormStore and
// returns the database.
func sealedTrail(t *testing.T, dsn string, key ed25519.PrivateKey, batches, rows int) (*gorm.DB, []*entities.Batch) {
	t.Helper()
	db := testdb.Open(t, dsn)
	store := writer.GormStore{DB: db, Integrity: integrity.NewSealer(key)}
	var out []*entities.Batch
	for range batches {
		b := batchOf(rows)
		require.NoError(t, store.WriteBatch(context.Background(), b))
		out = append(out, b)
	}
	return db, out
}

// verify runs Verify and returns the result and the problems as lines.
func verify(t *testing.T, db *gorm.DB, opt integrity.Options) (integrity.Result, []integrity.Problem) {
	t.Helper()
	var probs []integrity.Problem
	opt.Problem = func(p integrity.Problem) { probs = append(probs, p) }
	res, err := integrity.Verify(context.Background(), db, opt)
	require.NoError(t, err)
	return res, probs
}

func kinds(probs []integrity.Problem) map[string]int {
	m := map[string]int{}
	for _, p := range probs {
		m[p.Kind]++
	}
	return m
}

func TestVerifyUntouchedTrail(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		db, _ := sealedTrail(t, dsn, key, 4, 5)
		res, probs := verify(t, db, integrity.Options{PublicKey: key.Public().(ed25519.PublicKey)})
		require.Empty(t, probs)
		require.True(t, res.OK())
		require.EqualValues(t, 4, res.Digests)
		require.EqualValues(t, 4*5*6, res.Rows)
		require.EqualValues(t, 1, res.Chains)
	})
}

func TestVerifyFindsTampering(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pub := key.Public().(ed25519.PublicKey)
	cases := []struct {
		name   string
		tamper func(t *testing.T, db *gorm.DB, b []*entities.Batch) string // returns the id the report must name
		kind   string
	}{
		{"update a column", func(t *testing.T, db *gorm.DB, b []*entities.Batch) string {
			id := b[1].Requests[2].ID
			require.NoError(t, db.Exec("UPDATE audit_request_events SET status_code = 200 WHERE id = ?", id).Error)
			return id.String()
		}, integrity.RowChanged},
		{"update a datetime", func(t *testing.T, db *gorm.DB, b []*entities.Batch) string {
			id := b[2].Logins[0].ID
			require.NoError(t, db.Exec("UPDATE audit_login_events SET datetime = ? WHERE id = ?", time.Now().UTC().Add(-time.Hour), id).Error)
			return id.String()
		}, integrity.RowChanged},
		{"set a column NULL", func(t *testing.T, db *gorm.DB, b []*entities.Batch) string {
			id := b[0].Registrations[3].ID
			require.NoError(t, db.Exec("UPDATE audit_registration_events SET description = NULL WHERE id = ?", id).Error)
			return id.String()
		}, integrity.RowChanged},
		{"delete a row", func(t *testing.T, db *gorm.DB, b []*entities.Batch) string {
			id := b[3].Steps[1].ID
			require.NoError(t, db.Exec("DELETE FROM audit_step_events WHERE id = ?", id).Error)
			return id.String()
		}, integrity.RowDeleted},
		{"insert a row without digest", func(t *testing.T, db *gorm.DB, _ []*entities.Batch) string {
			r := batchOf(1).Requests[0]
			require.NoError(t, db.Create(&r).Error)
			return r.ID.String()
		}, integrity.RowUnsealed},
		{"insert a row into a batch", func(t *testing.T, db *gorm.DB, b []*entities.Batch) string {
			r := batchOf(1).Processes[0]
			r.DigestID = b[1].Processes[0].DigestID
			require.NoError(t, db.Create(&r).Error)
			return r.ID.String()
		}, integrity.RowAdded},
		{"delete a digest", func(t *testing.T, db *gorm.DB, b []*entities.Batch) string {
			d := b[1].Requests[0].DigestID
			require.NoError(t, db.Exec("DELETE FROM audit_digests WHERE id = ?", d.String()).Error)
			return d.String() // its rows name it; the chain has a gap where it was
		}, integrity.RowOrphan},
		{"swap two digests", func(t *testing.T, db *gorm.DB, _ []*entities.Batch) string {
			// Exchange the places of digests 2 and 3 in their chain.
			require.NoError(t, db.Exec("UPDATE audit_digests SET seq = -seq WHERE seq IN (2, 3)").Error)
			require.NoError(t, db.Exec("UPDATE audit_digests SET seq = 5 + seq WHERE seq IN (-2, -3)").Error) // -2 -> 3, -3 -> 2
			var id string
			require.NoError(t, db.Raw("SELECT id FROM audit_digests WHERE seq = 2").Row().Scan(&id))
			return id
		}, integrity.DigestAltered},
		{"forge a signature", func(t *testing.T, db *gorm.DB, b []*entities.Batch) string {
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			d := b[2].Requests[0].DigestID
			sig := ed25519.Sign(other, []byte("anything"))
			require.NoError(t, db.Exec("UPDATE audit_digests SET signature = ? WHERE id = ?", sig, d.String()).Error)
			return d.String()
		}, integrity.SignatureBad},
		{"re-seal a changed batch without the key", func(t *testing.T, db *gorm.DB, b []*entities.Batch) string {
			// The attacker changes a row and rewrites the digest's rows
			// hash, manifest and hash consistently: only the signature
			// (and the link of the next digest) can tell.
			id := b[0].Requests[0].ID
			require.NoError(t, db.Exec("UPDATE audit_request_events SET user_id = 'mallory' WHERE id = ?", id).Error)
			d := b[0].Requests[0].DigestID
			var dg integrity.Digest
			require.NoError(t, db.Raw("SELECT id, chain_id, seq, kind, created_at, row_count, prev_hash, note, manifest FROM audit_digests WHERE id = ?", d.String()).
				Row().Scan(&dg.ID, &dg.ChainID, &dg.Seq, &dg.Kind, &dg.CreatedAt, &dg.RowCount, &dg.PrevHash, &dg.Note, &dg.Manifest))
			entries, ok := integrity.DecodeManifest(dg.Manifest)
			require.True(t, ok)
			var h integrity.Hasher
			r := b[0].Requests[0]
			r.UserID = "mallory"
			sum := h.Request(&r)
			for i := range entries {
				if entries[i].ID == id {
					copy(entries[i].Hash[:], sum[:16])
				}
			}
			dg.Manifest = integrity.EncodeManifest(entries)
			dg.RowsHash = integrity.ManifestHash(dg.Manifest)
			dg.Hash = integrity.HashDigest(&dg)
			require.NoError(t, db.Exec("UPDATE audit_digests SET manifest = ?, rows_hash = ?, hash = ? WHERE id = ?",
				dg.Manifest, dg.RowsHash, dg.Hash, d.String()).Error)
			return d.String()
		}, integrity.SignatureBad},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testdb.Run(t, func(t *testing.T, dsn string) {
				db, b := sealedTrail(t, dsn, key, 4, 3)
				named := c.tamper(t, db, b)
				res, probs := verify(t, db, integrity.Options{PublicKey: pub})
				require.False(t, res.OK())
				var lines []string
				found := false
				for _, p := range probs {
					lines = append(lines, p.String())
					if p.Kind == c.kind && (p.RowID == named || p.DigestID == named) {
						found = true
					}
				}
				require.True(t, found, "want %q naming %s, got:\n%s", c.kind, named, strings.Join(lines, "\n"))
				if c.kind == integrity.RowOrphan {
					require.Equal(t, 1, kinds(probs)[integrity.ChainGap], strings.Join(lines, "\n"))
				}
			})
		})
	}
}

func TestRetriedBatchHasOneDigest(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		store := writer.GormStore{DB: db, Integrity: integrity.NewSealer(nil)}
		b := batchOf(3)
		require.NoError(t, store.WriteBatch(context.Background(), b))
		// The same batch again, as a retry after a lost commit reply: no
		// new digest, no duplicate, and the chain goes on.
		require.NoError(t, store.WriteBatch(context.Background(), b))
		// Half new rows, half old: the digest covers the new half only.
		c := batchOf(2)
		mixed := &entities.Batch{Requests: append(append([]entities.RequestEvent{}, b.Requests...), c.Requests...)}
		require.NoError(t, store.WriteBatch(context.Background(), mixed))
		var digests int64
		require.NoError(t, db.Raw("SELECT count(*) FROM audit_digests").Row().Scan(&digests))
		require.EqualValues(t, 2, digests)
		res, probs := verify(t, db, integrity.Options{})
		require.Empty(t, probs)
		require.EqualValues(t, 3*6+2, res.Rows)
	})
}

// A purge of a sealed trail records checkpoints: verification accepts the
// rows it removed, and still finds a row deleted by hand beside it.
func TestVerifyAcceptsRecordedPurges(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		pub := key.Public().(ed25519.PublicKey)
		db := testdb.Open(t, dsn)
		sealer := integrity.NewSealer(key)
		store := writer.GormStore{DB: db, Integrity: sealer}
		// Batches straddle the cutoff: each has old and new rows.
		cutoff := time.Now().UTC().Add(-24 * time.Hour)
		var keep []*entities.Batch
		for i := range 3 {
			b := batchOf(4)
			for j := range b.Requests {
				if j%2 == 0 {
					b.Requests[j].Datetime = cutoff.Add(-time.Duration(i+1) * time.Hour)
					b.Logins[j].Datetime = cutoff.Add(-time.Hour)
					b.Processes[j].Datetime = cutoff.Add(-time.Hour)
				}
			}
			require.NoError(t, store.WriteBatch(context.Background(), b))
			keep = append(keep, b)
		}
		p := repository.Purger{DB: db, BatchRows: 3, Integrity: sealer}
		for _, k := range []repository.Kind{repository.Requests, repository.Logins, repository.Processes} {
			n, err := p.PurgeOlder(context.Background(), k, cutoff)
			require.NoError(t, err)
			require.Positive(t, n)
		}
		res, probs := verify(t, db, integrity.Options{PublicKey: pub})
		require.Empty(t, probs)
		require.EqualValues(t, 3*(2+2+2+2+4), res.Purged, "half the requests, logins and processes, with their steps and registrations")

		// A purge without its checkpoint is a deletion.
		id := keep[1].Requests[1].ID
		require.NoError(t, db.Exec("DELETE FROM audit_request_events WHERE id = ?", id).Error)
		_, probs = verify(t, db, integrity.Options{PublicKey: pub})
		require.Len(t, probs, 1)
		require.Equal(t, integrity.RowDeleted, probs[0].Kind)
		require.Equal(t, id.String(), probs[0].RowID)
	})
}

// --from/--to verify the batches sealed in the range, linking the first
// digest of each chain in it to its predecessor.
func TestVerifyARange(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		store := writer.GormStore{DB: db, Integrity: integrity.NewSealer(nil)}
		var batches []*entities.Batch
		var mid time.Time
		for i := range 4 {
			if i == 2 {
				time.Sleep(5 * time.Millisecond)
				mid = time.Now()
				time.Sleep(5 * time.Millisecond)
			}
			b := batchOf(2)
			require.NoError(t, store.WriteBatch(context.Background(), b))
			batches = append(batches, b)
		}
		res, probs := verify(t, db, integrity.Options{From: mid})
		require.Empty(t, probs)
		require.EqualValues(t, 2, res.Digests)
		require.EqualValues(t, 2*2*6, res.Rows)
		res, probs = verify(t, db, integrity.Options{To: mid})
		require.Empty(t, probs)
		require.EqualValues(t, 2, res.Digests)

		// A change before the range is not seen by it, and is by the rest.
		require.NoError(t, db.Exec("UPDATE audit_login_events SET username = 'x' WHERE id = ?", batches[0].Logins[0].ID).Error)
		_, probs = verify(t, db, integrity.Options{From: mid})
		require.Empty(t, probs)
		_, probs = verify(t, db, integrity.Options{To: mid})
		require.Len(t, probs, 1)
		// A row written by hand in the range, without a digest.
		extra := batchOf(1).Requests[0]
		require.NoError(t, db.Create(&extra).Error)
		_, probs = verify(t, db, integrity.Options{From: mid})
		require.Len(t, probs, 1)
		require.Equal(t, integrity.RowUnsealed, probs[0].Kind)
		require.Equal(t, extra.ID.String(), probs[0].RowID)
		// Deleting the digest just before the range breaks its first link.
		require.NoError(t, db.Exec("DELETE FROM audit_digests WHERE id = ?", batches[1].Requests[0].DigestID.String()).Error)
		_, probs = verify(t, db, integrity.Options{From: mid})
		require.Equal(t, 1, kinds(probs)[integrity.ChainGap], "%v", probs)
	})
}
