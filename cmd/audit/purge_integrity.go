package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/gin-audit-trail/audit/internal/integrity"
	"gorm.io/gorm"
)

// trailSealer is the sealer of what a command writes into a sealed trail
// (purge's checkpoints, spool replay's batches): nil on a trail that has no
// digest (integrity never on), signed with the key at keyPath when given.
// what names the command in the warning about a missing key.
func trailSealer(ctx context.Context, db *gorm.DB, keyPath, what string, warn io.Writer) (*integrity.Sealer, error) {
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
		fmt.Fprintln(warn, what+": the trail is sealed and no --signing-key was given: the digests written now are not signed, and verify --public-key will report them")
	}
	return integrity.NewSealer(key), nil
}
