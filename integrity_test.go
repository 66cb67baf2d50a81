package audit_test

import (
	"path/filepath"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
)

// A trail asked to sign must not run unsigned: a key that cannot be read
// is an error from Open.
func TestOpenRefusesAnUnreadableSigningKey(t *testing.T) {
	dir := t.TempDir()
	_, err := audit.Open(audit.Options{DSN: filepath.Join(dir, "a.sqlite3"),
		Integrity: repository.Integrity{SigningKeyFile: filepath.Join(dir, "missing.pem")}})
	require.ErrorContains(t, err, "Options.Integrity")
	_, err = audit.Open(audit.Options{DSN: filepath.Join(dir, "b.sqlite3"),
		Integrity: repository.Integrity{SigningKey: []byte("not a key")}})
	require.ErrorContains(t, err, "Options.Integrity")
}
