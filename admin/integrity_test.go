package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
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

// A PDF report of sealed rows ends by naming the digests that cover them.
func TestReportsNameTheDigestsThatSealTheirRows(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	h := server(t, db)
	store := writer.GormStore{DB: db, Integrity: integrity.NewSealer(nil)}
	b := &entities.Batch{}
	for i := range 3 {
		b.Requests = append(b.Requests, entities.RequestEvent{ID: entities.NewID(), Datetime: time.Now().UTC().Add(-time.Duration(i) * time.Minute),
			Method: "GET", URL: "/api/sealed/", StatusCode: 200})
	}
	require.NoError(t, store.WriteBatch(context.Background(), b))
	w := get(t, h, "/admin/audit/reports/requests.pdf")
	require.Equal(t, http.StatusOK, w.Code)
	text := strings.Join(strings.Fields(pdfText(t, w.Body)), " ")
	assert.Contains(t, text, "Integrity: 3 rows sealed by digest "+b.Requests[0].DigestID.String())
	// The request's page names its digest.
	page := get(t, h, "/admin/audit/requests/"+b.Requests[1].ID.String()).Body.String()
	assert.Contains(t, page, "Sealed by digest</dt><dd class=\"mono\">"+b.Requests[1].DigestID.String())

	// A trail without integrity prints no such line.
	plain := testdb.Open(t, testdb.SQLite(t))
	require.NoError(t, writer.GormStore{DB: plain}.WriteBatch(context.Background(), &entities.Batch{Requests: []entities.RequestEvent{
		{ID: entities.NewID(), Datetime: time.Now().UTC(), Method: "GET", URL: "/api/plain/", StatusCode: 200}}}))
	w = get(t, server(t, plain), "/admin/audit/reports/requests.pdf")
	require.Equal(t, http.StatusOK, w.Code)
	assert.NotContains(t, pdfText(t, w.Body), "Integrity:")
}
