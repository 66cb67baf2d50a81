package query_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

var queryT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// seedRequests writes n request events one second apart from queryT0, cycling
// methods, statuses, users and urls, with response time i ms.
func seedRequests(t *testing.T, db *gorm.DB, n int) []entities.RequestEvent {
	t.Helper()
	methods := []string{"GET", "POST", "GET", "DELETE"}
	statuses := []int{200, 201, 404, 500}
	rows := make([]entities.RequestEvent, n)
	for i := range rows {
		rows[i] = entities.RequestEvent{
			ID:             entities.NewID(),
			Datetime:       queryT0.Add(time.Duration(i) * time.Second),
			UserID:         fmt.Sprintf("user%d", i%3),
			IPAddress:      fmt.Sprintf("10.0.0.%d", i%2),
			Method:         methods[i%4],
			URL:            fmt.Sprintf("/api/products/%d/", i%5),
			StatusCode:     statuses[i%4],
			ResponseTimeMS: float64(i),
		}
	}
	require.NoError(t, writer.GormStore{DB: db}.WriteBatch(context.Background(), &entities.Batch{Requests: rows}))
	return rows
}

func TestListRequestsFiltersAndPages(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		ctx := context.Background()
		rows := seedRequests(t, db, 40)

		// Keyset pages of 7, newest first, cover every row once.
		var got []entities.ID
		o := query.ListOptions{Limit: 7}
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			page, err := query.ListRequests(ctx, db, query.RequestFilter{}, o)
			require.NoError(t, err)
			for _, r := range page.Items {
				got = append(got, r.ID)
			}
			if page.Next == "" {
				break
			}
			c, err := query.ParseListCursor(page.Next)
			require.NoError(t, err)
			o.After = &c
		}
		require.Len(t, got, 40)
		for i, id := range got {
			assert.Equal(t, rows[39-i].ID, id, "row %d", i)
		}

		// Filters combine.
		page, err := query.ListRequests(ctx, db, query.RequestFilter{
			Method: "GET", StatusMin: 400, StatusMax: 499, UserID: "user1",
		}, query.ListOptions{Ascending: true})
		require.NoError(t, err)
		for _, r := range page.Items {
			assert.Equal(t, "GET", r.Method)
			assert.Equal(t, 404, r.StatusCode)
			assert.Equal(t, "user1", r.UserID)
		}
		assert.Len(t, page.Items, 3) // i = 10, 22, 34
		assert.True(t, page.Items[0].Datetime.Before(page.Items[1].Datetime))

		// URL prefix and contains; date range.
		page, err = query.ListRequests(ctx, db, query.RequestFilter{URL: "/api/products/3"}, query.ListOptions{})
		require.NoError(t, err)
		assert.Len(t, page.Items, 8)
		page, err = query.ListRequests(ctx, db, query.RequestFilter{URL: "ducts/4/", URLMatch: query.URLContains}, query.ListOptions{})
		require.NoError(t, err)
		assert.Len(t, page.Items, 8)
		page, err = query.ListRequests(ctx, db, query.RequestFilter{URL: "ducts/4/"}, query.ListOptions{})
		require.NoError(t, err)
		assert.Empty(t, page.Items, "prefix does not match the middle")
		page, err = query.ListRequests(ctx, db, query.RequestFilter{URL: "/api/products/%"}, query.ListOptions{})
		require.NoError(t, err)
		assert.Empty(t, page.Items, "LIKE wildcards are literal")
		page, err = query.ListRequests(ctx, db, query.RequestFilter{
			IPAddress: "10.0.0.1",
			Time:      query.TimeRange{From: queryT0.Add(10 * time.Second), To: queryT0.Add(20 * time.Second)},
		}, query.ListOptions{})
		require.NoError(t, err)
		assert.Len(t, page.Items, 5) // 11, 13, 15, 17, 19

		// Streaming walks every page and honours max.
		n := 0
		for r, err := range query.StreamRequests(ctx, db, query.RequestFilter{Method: "GET"}, query.ListOptions{}, 0) {
			require.NoError(t, err)
			assert.Equal(t, "GET", r.Method)
			n++
		}
		assert.Equal(t, 20, n)
		n = 0
		for _, err := range query.StreamRequests(ctx, db, query.RequestFilter{}, query.ListOptions{}, 13) {
			require.NoError(t, err)
			n++
		}
		assert.Equal(t, 13, n)

		one, err := query.FindRequest(ctx, db, rows[3].ID)
		require.NoError(t, err)
		assert.Equal(t, rows[3].URL, one.URL)
		_, err = query.FindRequest(ctx, db, entities.NewID())
		assert.ErrorIs(t, err, gorm.ErrRecordNotFound)
	})
}

func TestListLogins(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		ctx := context.Background()
		reqs := seedRequests(t, db, 4)
		var logins []entities.LoginEvent
		for i, st := range []string{entities.LoginSignIn, entities.LoginFailed, entities.LoginSignIn, entities.LoginSignOut} {
			rid := reqs[i].ID
			logins = append(logins, entities.LoginEvent{ID: entities.NewID(), Datetime: reqs[i].Datetime, Status: st,
				RequestID: &rid, UserID: fmt.Sprint(i % 2), Username: fmt.Sprintf("name%d", i%2)})
		}
		require.NoError(t, writer.GormStore{DB: db}.WriteBatch(ctx, &entities.Batch{Logins: logins}))

		page, err := query.ListLogins(ctx, db, query.LoginFilter{Status: entities.LoginSignIn}, query.ListOptions{})
		require.NoError(t, err)
		require.Len(t, page.Items, 2)
		assert.Equal(t, logins[2].ID, page.Items[0].ID)
		page, err = query.ListLogins(ctx, db, query.LoginFilter{User: "name1"}, query.ListOptions{})
		require.NoError(t, err)
		assert.Len(t, page.Items, 2)
		page, err = query.ListLogins(ctx, db, query.LoginFilter{IPAddress: "10.0.0.0"}, query.ListOptions{})
		require.NoError(t, err)
		assert.Len(t, page.Items, 2)
		ofReq, err := query.LoginsOfRequest(ctx, db, reqs[1].ID)
		require.NoError(t, err)
		require.Len(t, ofReq, 1)
		assert.Equal(t, entities.LoginFailed, ofReq[0].Status)
	})
}

func TestEndpointStatsPercentiles(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		ctx := context.Background()
		var rows []entities.RequestEvent
		// /a: 1..20 ms with one 500; /b: 7 ms once.
		for i := 1; i <= 20; i++ {
			st := 200
			if i == 20 {
				st = 500
			}
			rows = append(rows, entities.RequestEvent{ID: entities.NewID(), Datetime: queryT0.Add(time.Duration(i) * time.Second),
				Method: "GET", URL: "/api/a/", StatusCode: st, ResponseTimeMS: float64(21 - i)})
		}
		rows = append(rows, entities.RequestEvent{ID: entities.NewID(), Datetime: queryT0, Method: "POST", URL: "/api/b/",
			StatusCode: 201, ResponseTimeMS: 7, ErrorType: "x"})
		require.NoError(t, writer.GormStore{DB: db}.WriteBatch(ctx, &entities.Batch{Requests: rows}))

		stats, err := query.EndpointStats(ctx, db, query.EndpointFilter{})
		require.NoError(t, err)
		require.Len(t, stats, 2)
		a, b := stats[0], stats[1]
		assert.Equal(t, "/api/a/", a.URL)
		assert.EqualValues(t, 20, a.Count)
		assert.EqualValues(t, 1, a.Errors)
		assert.InDelta(t, 0.05, a.ErrorRate, 1e-9)
		assert.InDelta(t, 10.5, a.P50MS, 1e-9)  // percentile_cont(0.5) of 1..20
		assert.InDelta(t, 19.05, a.P95MS, 1e-9) // 19 + 0.05
		assert.EqualValues(t, 1, b.Count)
		assert.EqualValues(t, 1, b.Errors)
		assert.InDelta(t, 7, b.P50MS, 1e-9)
		assert.InDelta(t, 7, b.P95MS, 1e-9)

		stats, err = query.EndpointStats(ctx, db, query.EndpointFilter{Method: "POST"})
		require.NoError(t, err)
		require.Len(t, stats, 1)
		assert.Equal(t, "/api/b/", stats[0].URL)
	})
}

func TestListCursorRoundTrip(t *testing.T) {
	c := query.ListCursor{Datetime: queryT0.Add(123456789), ID: entities.NewID()}
	back, err := query.ParseListCursor(c.String())
	require.NoError(t, err)
	assert.True(t, c.Datetime.Equal(back.Datetime))
	assert.Equal(t, c.ID, back.ID)
	for _, bad := range []string{"", "!!", "bm9waXBl", "MjAyNXxub3Bl"} {
		_, err := query.ParseListCursor(bad)
		assert.Error(t, err, bad)
	}
}

// TestCommonRangeFilters crosses the SQLite probe's threshold, so that
// both plans of a range filter (index, or datetime order) are exercised.
func TestCommonRangeFilters(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		ctx := context.Background()
		rows := make([]entities.RequestEvent, 2600)
		for i := range rows {
			url, status := "/api/common/", 200
			if i%10 == 0 {
				url, status = "/api/rare/", 503
			}
			rows[i] = entities.RequestEvent{ID: entities.NewID(), Datetime: queryT0.Add(time.Duration(i) * time.Second),
				Method: "GET", URL: url + fmt.Sprint(i), StatusCode: status}
		}
		require.NoError(t, writer.GormStore{DB: db}.WriteBatch(ctx, &entities.Batch{Requests: rows}))
		for _, c := range []struct {
			f    query.RequestFilter
			want int
		}{
			{query.RequestFilter{URL: "/api/common/"}, 2340},
			{query.RequestFilter{URL: "/api/rare/"}, 260},
			{query.RequestFilter{StatusMin: 200, StatusMax: 299}, 2340},
			{query.RequestFilter{StatusMin: 500, StatusMax: 599}, 260},
		} {
			page, err := query.ListRequests(ctx, db, c.f, query.ListOptions{Limit: 5})
			require.NoError(t, err)
			require.Len(t, page.Items, 5)
			for i := 1; i < 5; i++ {
				assert.True(t, page.Items[i-1].Datetime.After(page.Items[i].Datetime), "newest first")
			}
			n := 0
			for r, err := range query.StreamRequests(ctx, db, c.f, query.ListOptions{}, 0) {
				require.NoError(t, err)
				assert.True(t, (r.StatusCode == 200) == (c.want == 2340))
				n++
			}
			assert.Equal(t, c.want, n, "%+v", c.f)
		}
	})
}
