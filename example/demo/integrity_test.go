package demo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/gin-audit-trail/audit/example/demo"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// AUDIT_INTEGRITY=1 and AUDIT_SIGNING_KEY turn the demo's trail into a
// signed, tamper-evident one that verifies with the public key.
func TestDemoSealsAndSignsFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	priv, pub, err := integrity.GenerateKey()
	require.NoError(t, err)
	keyFile := filepath.Join(dir, "signing.pem")
	require.NoError(t, os.WriteFile(keyFile, priv, 0o600))
	t.Setenv("AUDIT_INTEGRITY", "1")
	t.Setenv("AUDIT_SIGNING_KEY", keyFile)

	cfg := demo.ConfigFromEnv()
	require.True(t, cfg.Audit.Integrity.On())
	cfg.AppDSN = filepath.Join(dir, "app.sqlite3")
	cfg.AuditDSN = testdb.SQLite(t)
	cfg.JWTSecret = "integrity-test-signing-key-0123456789"
	cfg.BcryptCost = bcrypt.MinCost
	cfg.Audit.Synchronous = true
	app, err := demo.New(cfg)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	app.Router.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/products/", nil))
	require.NoError(t, app.Close(context.Background()))

	db := testdb.Open(t, cfg.AuditDSN)
	key, err := integrity.ParsePublicKey(pub)
	require.NoError(t, err)
	res, err := integrity.Verify(context.Background(), db, integrity.Options{PublicKey: key})
	require.NoError(t, err)
	require.True(t, res.OK(), res.Summary())
	require.Positive(t, res.Rows)
	require.Zero(t, res.Unsigned)
}
