package integrity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// Verification is one recorded run of `audit verify`, as the admin shows
// it.
type Verification struct {
	ID          string     `json:"id"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  time.Time  `json:"finished_at"`
	From        *time.Time `json:"from,omitempty"`
	To          *time.Time `json:"to,omitempty"`
	OK          bool       `json:"ok"`
	Digests     int64      `json:"digests"`
	Rows        int64      `json:"rows"`
	Problems    int64      `json:"problems"`
	FirstDigest string     `json:"first_digest,omitempty"`
	LastDigest  string     `json:"last_digest,omitempty"`
	KeyID       string     `json:"key_id,omitempty"` // the public key that checked the signatures, "" when none
	Summary     string     `json:"summary"`
}

// Summary is the problems of r counted by kind, on one line.
func (r *Result) Summary() string {
	if r.OK() {
		s := fmt.Sprintf("ok: %d rows in %d digests (%d chains)", r.Rows, r.Digests, r.Chains)
		if r.Purged > 0 {
			s += fmt.Sprintf("; %d sealed rows removed by recorded purges", r.Purged)
		}
		return s
	}
	var kinds []string
	for k := range r.ByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", r.ByKind[k], k))
	}
	return fmt.Sprintf("FAILED: %s (%d rows in %d digests checked)", strings.Join(parts, ", "), r.Rows, r.Digests)
}

// Record writes the result of a verification to audit_verifications, for
// the admin's health route and viewer.
func Record(ctx context.Context, db *gorm.DB, r Result, opt Options) error {
	var from, to, first, last, key any
	if !opt.From.IsZero() {
		from = opt.From.UTC()
	}
	if !opt.To.IsZero() {
		to = opt.To.UTC()
	}
	if r.FirstDigest != nil {
		first = r.FirstDigest.String()
	}
	if r.LastDigest != nil {
		last = r.LastDigest.String()
	}
	key = ""
	if opt.PublicKey != nil {
		key = KeyID(opt.PublicKey)
	}
	finished := r.Finished
	if finished.IsZero() {
		finished = time.Now().UTC()
	}
	err := db.WithContext(ctx).Exec(`INSERT INTO audit_verifications (id, started_at, finished_at, range_from, range_to, ok,
		digests, row_count, problems, first_digest, last_digest, key_id, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		entities.NewID().String(), r.Started, finished, from, to, r.OK(), r.Digests, r.Rows, r.Problems, first, last, key, r.Summary()).Error
	if err != nil {
		return fmt.Errorf("audit verify: record the result: %w", err)
	}
	return nil
}

// LastVerification is the latest recorded verification, nil when there is
// none (or no verification table: a database migrated before integrity
// existed).
func LastVerification(ctx context.Context, db *gorm.DB) (*Verification, error) {
	var v Verification
	var from, to sql.NullTime
	var first, last sql.NullString
	var id entities.ID
	row := db.WithContext(ctx).Raw(`SELECT id, started_at, finished_at, range_from, range_to, ok, digests, row_count, problems,
		first_digest, last_digest, key_id, summary FROM audit_verifications ORDER BY finished_at DESC LIMIT 1`).Row()
	if err := row.Err(); err != nil {
		if !db.Migrator().HasTable(VerificationTable) {
			return nil, nil
		}
		return nil, err
	}
	err := row.Scan(&id, &v.StartedAt, &v.FinishedAt, &from, &to, &v.OK, &v.Digests, &v.Rows, &v.Problems, &first, &last, &v.KeyID, &v.Summary)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v.ID = id.String()
	v.StartedAt, v.FinishedAt = v.StartedAt.UTC(), v.FinishedAt.UTC()
	if from.Valid {
		t := from.Time.UTC()
		v.From = &t
	}
	if to.Valid {
		t := to.Time.UTC()
		v.To = &t
	}
	v.FirstDigest, v.LastDigest = first.String, last.String
	return &v, nil
}
