package audit

import (
	"crypto/ed25519"
	"fmt"

	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/repository"
)

// newSealer is the writer's sealer for Options.Integrity, nil when it is
// off. A signing key that cannot be read is an error: a trail that was
// asked to sign must not run unsigned.
func newSealer(o repository.Integrity) (*integrity.Sealer, error) {
	if !o.On() {
		return nil, nil
	}
	var key ed25519.PrivateKey
	if o.Signed() {
		k, err := integrity.LoadPrivateKey(o.SigningKey, o.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("audit: Options.Integrity: %w", err)
		}
		key = k
	}
	return integrity.NewSealer(key), nil
}
