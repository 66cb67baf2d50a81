package admin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The admin only reads what `audit verify` recorded: the health route
// reports the last verification (with a warning when it failed), and
// every viewer page shows it in its header.
func TestHealthAndViewerShowTheLastVerification(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h, _, db := setup(t, dsn)
		type health struct {
			Status           string                  `json:"status"`
			Warnings         []string                `json:"warnings"`
			LastVerification *integrity.Verification `json:"last_verification"`
		}
		got := getJSON[health](t, h, "/admin/audit/api/health", http.StatusOK)
		assert.Nil(t, got.LastVerification, "never verified")
		assert.NotContains(t, get(t, h, "/admin/audit/requests").Body.String(), "Integrity")

		// An unsealed trail fails verification (its rows name no digest).
		res, err := integrity.Verify(context.Background(), db, integrity.Options{})
		require.NoError(t, err)
		require.False(t, res.OK())
		require.NoError(t, integrity.Record(context.Background(), db, res, integrity.Options{}))
		got = getJSON[health](t, h, "/admin/audit/api/health", http.StatusOK)
		require.NotNil(t, got.LastVerification)
		assert.False(t, got.LastVerification.OK)
		assert.Equal(t, res.Problems, got.LastVerification.Problems)
		require.Len(t, got.Warnings, 1)
		assert.Contains(t, got.Warnings[0], "the last integrity verification failed: FAILED:")
		assert.Contains(t, get(t, h, "/admin/audit/requests").Body.String(), "Integrity verification FAILED")

		// A later run that holds replaces it.
		require.NoError(t, db.Exec("DELETE FROM audit_request_events").Error)
		require.NoError(t, db.Exec("DELETE FROM audit_login_events").Error)
		require.NoError(t, db.Exec("DELETE FROM audit_registration_events").Error)
		require.NoError(t, db.Exec("DELETE FROM audit_step_events").Error)
		require.NoError(t, db.Exec("DELETE FROM audit_process_events").Error)
		res, err = integrity.Verify(context.Background(), db, integrity.Options{})
		require.NoError(t, err)
		require.True(t, res.OK())
		require.NoError(t, integrity.Record(context.Background(), db, res, integrity.Options{}))
		got = getJSON[health](t, h, "/admin/audit/api/health", http.StatusOK)
		require.NotNil(t, got.LastVerification)
		assert.True(t, got.LastVerification.OK)
		assert.Empty(t, got.Warnings)
		assert.Contains(t, get(t, h, "/admin/audit/logins").Body.String(), "Integrity verified")
	})
}
