package integrity

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// DigestTable and VerificationTable are the tables of this package.
const (
	DigestTable       = "audit_digests"
	VerificationTable = "audit_verifications"
)

// Migrate creates the digest table and the verification table in db (both
// idempotent). The repository's Migrate calls it; the tables stay empty
// while integrity is off.
func Migrate(db *gorm.DB) error {
	pg := db.Dialector.Name() == "postgres"
	uuid, ts, blob := "char(36)", "datetime", "blob"
	if pg {
		uuid, ts, blob = "uuid", "timestamptz", "bytea"
	}
	r := strings.NewReplacer("{uuid}", uuid, "{ts}", ts, "{blob}", blob)
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS audit_digests (
			id {uuid} PRIMARY KEY,
			chain_id {uuid} NOT NULL,
			seq bigint NOT NULL,
			kind varchar(16) NOT NULL,
			created_at {ts} NOT NULL,
			row_count bigint NOT NULL,
			rows_hash {blob} NOT NULL,
			prev_hash {blob} NOT NULL,
			note text NOT NULL DEFAULT '',
			hash {blob} NOT NULL,
			key_id varchar(32) NOT NULL DEFAULT '',
			signature {blob},
			manifest {blob},
			amends {uuid})`,
		`CREATE UNIQUE INDEX IF NOT EXISTS idx_audit_digests_chain_seq ON audit_digests (chain_id, seq)`,
		`CREATE INDEX IF NOT EXISTS idx_audit_digests_created_at ON audit_digests (created_at)`,
		`CREATE INDEX IF NOT EXISTS idx_audit_digests_amends ON audit_digests (amends)`,
		`CREATE TABLE IF NOT EXISTS audit_verifications (
			id {uuid} PRIMARY KEY,
			started_at {ts} NOT NULL,
			finished_at {ts} NOT NULL,
			range_from {ts},
			range_to {ts},
			ok boolean NOT NULL,
			digests bigint NOT NULL,
			row_count bigint NOT NULL,
			problems bigint NOT NULL,
			first_digest {uuid},
			last_digest {uuid},
			key_id varchar(32) NOT NULL DEFAULT '',
			summary text NOT NULL DEFAULT '')`,
		`CREATE INDEX IF NOT EXISTS idx_audit_verifications_finished_at ON audit_verifications (finished_at)`,
	}
	if pg {
		// Manifests are mostly hashes: not worth compressing. Stored out
		// of line without the attempt, which the writer would pay.
		stmts = append(stmts, `ALTER TABLE audit_digests ALTER COLUMN manifest SET STORAGE EXTERNAL`)
	}
	for _, s := range stmts {
		if err := db.Exec(r.Replace(s)).Error; err != nil {
			return fmt.Errorf("audit: create integrity tables: %w", err)
		}
	}
	return nil
}

// digestColumns are the columns InsertDigest writes, in the order of
// digestArgs.
const digestColumns = "id, chain_id, seq, kind, created_at, row_count, rows_hash, prev_hash, note, hash, key_id, signature, manifest, amends"

// InsertDigestSQL is the INSERT of one digest with placeholders ? (GORM,
// database/sql) or, with dollar, $1 ... (pgx).
func InsertDigestSQL(dollar bool) string {
	ph := make([]string, 14)
	for i := range ph {
		ph[i] = "?"
		if dollar {
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
	}
	return "INSERT INTO audit_digests (" + digestColumns + ") VALUES (" + strings.Join(ph, ", ") + ")"
}

// DigestArgs are d's values for InsertDigestSQL.
func DigestArgs(d *Digest) []any {
	var sig any
	if d.Signature != nil {
		sig = d.Signature
	}
	var amends any
	if d.Amends != nil {
		amends = d.Amends.String()
	}
	return []any{d.ID.String(), d.ChainID.String(), d.Seq, d.Kind, d.CreatedAt, d.RowCount, d.RowsHash, d.PrevHash,
		d.Note, d.Hash, d.KeyID, sig, d.Manifest, amends}
}
