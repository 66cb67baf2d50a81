package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The admin's lists and detail pages read partitioned tables as they read
// plain ones, rows in range partitions and in the DEFAULT one alike.
func TestAPIOnPartitionedTables(t *testing.T) {
	db, err := repository.Open(testdb.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	daily := repository.Partitioning{Interval: repository.PartitionDaily, Ahead: 1}
	require.NoError(t, repository.MigratePartitioned(db, daily))
	// The fixture's day gets its partition; one request a year before goes
	// to the DEFAULT partition.
	_, err = repository.EnsurePartitions(context.Background(), db, daily, base)
	require.NoError(t, err)
	fx := seed(t, db)
	require.NoError(t, writer.GormStore{DB: db}.WriteBatch(context.Background(), &entities.Batch{Requests: []entities.RequestEvent{
		{ID: entities.NewID(), Datetime: base.AddDate(-1, 0, 0), Method: "GET", URL: "/api/old/", StatusCode: 200}}}))
	h := server(t, db)

	var n int
	path := "/admin/audit/api/requests"
	for range 5 {
		p := getJSON[requestPage](t, h, path, http.StatusOK)
		n += len(p.Items)
		if p.Next == "" {
			break
		}
		path = "/admin/audit/api/requests?after=" + url.QueryEscape(p.Next)
	}
	assert.Equal(t, 31, n)
	type page struct {
		Items []map[string]any `json:"items"`
	}
	assert.Len(t, getJSON[page](t, h, "/admin/audit/api/logins", http.StatusOK).Items, 2)
	assert.Len(t, getJSON[page](t, h, "/admin/audit/api/processes", http.StatusOK).Items, 2)
	assert.Len(t, getJSON[page](t, h, "/admin/audit/api/steps", http.StatusOK).Items, 3)
	assert.Len(t, getJSON[page](t, h, "/admin/audit/api/registrations", http.StatusOK).Items, 3)
	type detail struct {
		Request entities.RequestEvent `json:"request"`
		Logins  []entities.LoginEvent `json:"logins"`
	}
	d := getJSON[detail](t, h, "/admin/audit/api/requests/"+fx.requests[0].ID.String(), http.StatusOK)
	assert.Equal(t, fx.requests[0].ID, d.Request.ID)
	require.Len(t, d.Logins, 1)
	assert.Equal(t, http.StatusOK, get(t, h, "/admin/audit/api/processes/"+fx.process.ID.String()).Code)
	assert.Equal(t, http.StatusOK, get(t, h, "/admin/audit/api/endpoints").Code)

	var parts []string
	require.NoError(t, db.Raw("SELECT DISTINCT tableoid::regclass::text FROM audit_request_events ORDER BY 1").Scan(&parts).Error)
	assert.Equal(t, []string{"audit_request_events_default", "audit_request_events_p20250301"}, parts)
}
