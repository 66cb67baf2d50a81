package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/gin-audit-trail/audit/internal/integrity"
	"gorm.io/gorm"
)

// purgeSealer is the sealer of purge's checkpoints: nil on a trail that
// has no digest (integrity never on), signed with the key at keyPath when
// given.
func purgeSealer(ctx context.Context, db *gorm.DB, keyPath string, warn io.Writer) (*integrity.Sealer, error) {
	var key ed25519.PrivateKey
	if keyPath != "" {
		k, err := integrity.LoadPrivateKey(nil, keyPath)
		if err != nil {
			return nil, err
		}
		key = k
	}
	var digests int64
	if err := db.WithContext(ctx).Raw("SELECT count(*) FROM (SELECT 1 FROM audit_digests LIMIT 1) d").Row().Scan(&digests); err != nil {
		return nil, fmt.Errorf("read the digest table (is the database migrated?): %w", err)
	}
	if digests == 0 && key == nil {
		return nil, nil
	}
	if key == nil {
		fmt.Fprintln(warn, "purge: the trail is sealed and no --signing-key was given: its checkpoint digests are not signed, and verify --public-key will report them")
	}
	return integrity.NewSealer(key), nil
}
