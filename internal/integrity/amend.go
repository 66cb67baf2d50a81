package integrity

import (
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// amendment is the note of a checkpoint digest written by a purge.
type amendment struct {
	Amends  string `json:"amends"`  // the batch digest whose rows the purge removed
	Purge   string `json:"purge"`   // what the purge removed ("requests older than 2025-01-31T00:00:00Z")
	Removed int    `json:"removed"` // rows removed from that batch by this purge
}

func amendNote(amends entities.ID, purge string, removed int) string {
	b, _ := json.Marshal(amendment{Amends: amends.String(), Purge: purge, Removed: removed})
	return string(b)
}

// parseAmendment reads a checkpoint's note; ok is false when it is not an
// amendment.
func parseAmendment(note string) (a amendment, ok bool) {
	if json.Unmarshal([]byte(note), &a) != nil || a.Amends == "" {
		return a, false
	}
	return a, true
}

// CurrentManifest is what the batch of digest d holds now: the manifest of
// its latest amendment by a purge, or its own. It runs in the purge's
// transaction tx.
func CurrentManifest(tx *gorm.DB, d entities.ID) ([]Entry, error) {
	var m []byte
	row := tx.Raw("SELECT manifest FROM audit_digests WHERE amends = ? ORDER BY id DESC LIMIT 1", d.String()).Row()
	err := row.Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.Raw("SELECT manifest FROM audit_digests WHERE id = ?", d.String()).Row().Scan(&m)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil // no such digest: nothing to amend
		}
	}
	if err != nil {
		return nil, err
	}
	entries, _ := DecodeManifest(m)
	return entries, nil
}

// TableNamed is the table of an audit table name; ok is false for another
// name.
func TableNamed(name string) (Table, bool) {
	for _, t := range Tables() {
		if t.Name() == name {
			return t, true
		}
	}
	return 0, false
}
