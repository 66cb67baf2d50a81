package query

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// EndpointFilter selects the request events summarised by EndpointStats.
type EndpointFilter struct {
	Method string
	// URL is a prefix of the endpoints' urls.
	URL  string
	Time TimeRange
	// Limit keeps the busiest endpoints: 0 means 100, at most 5000.
	Limit int
}

func (f EndpointFilter) requests() RequestFilter {
	return RequestFilter{Method: f.Method, URL: f.URL, URLMatch: URLPrefix, Time: f.Time}
}

// maxEndpoints bounds EndpointFilter.Limit (and the bind parameters of the
// SQLite percentile query).
const maxEndpoints = 5000

// endpoint is what EndpointStats groups by: gin's route template, so that
// /api/product/12/ and /api/product/13/ are one endpoint, or the url for
// requests that matched no route.
const endpoint = "COALESCE(NULLIF(route, ''), url)"

// EndpointStats summarises request events per method and endpoint (the
// route template, or the url when no route matched), busiest first: count, errors (status >= 500 or an error recorded), error rate, the
// mean response time and the 50th and 95th percentiles of the response time, interpolated
// linearly between the closest ranks (PostgreSQL's percentile_cont).
//
// PostgreSQL computes the percentiles with percentile_cont. SQLite has no
// percentile aggregate, so the rows at the needed ranks are picked with
// ROW_NUMBER() over the response times of each endpoint and interpolated
// here, which gives the same numbers.
func EndpointStats(ctx context.Context, db *gorm.DB, f EndpointFilter) ([]entities.EndpointStats, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, maxEndpoints)
	base := f.requests().apply(db.WithContext(ctx).Model(&entities.RequestEvent{}))
	const counts = `method, ` + endpoint + ` AS url, COUNT(*) AS count,
		SUM(CASE WHEN status_code >= 500 OR error_type <> '' THEN 1 ELSE 0 END) AS errors,
		AVG(response_time_ms) AS mean_ms`
	var stats []entities.EndpointStats
	pg := db.Dialector.Name() == "postgres"
	sel := counts
	if pg {
		sel += `, percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms) AS p50_ms,
		percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95_ms`
	}
	err := base.Select(sel).Group(groupBy(db)).Order("count DESC, method, url").Limit(f.Limit).Scan(&stats).Error
	if err != nil {
		return nil, fmt.Errorf("audit: endpoint stats: %w", err)
	}
	for i := range stats {
		if stats[i].Count > 0 {
			stats[i].ErrorRate = float64(stats[i].Errors) / float64(stats[i].Count)
		}
	}
	if pg || len(stats) == 0 {
		return stats, nil
	}
	if err := sqlitePercentiles(ctx, db, f, stats); err != nil {
		return nil, err
	}
	return stats, nil
}

// groupBy is the endpoint grouping. On SQLite, +method keeps the planner
// from scanning the whole (method, datetime) index to group in its order
// when a date range could use the datetime index instead.
func groupBy(db *gorm.DB) string {
	if db.Dialector.Name() == "sqlite" {
		return "+method, " + endpoint
	}
	return "method, " + endpoint
}

// rankedTime is the response time at 0-based rank Rn of an endpoint.
type rankedTime struct {
	Method string
	URL    string
	Rn     int64
	T      float64
}

// sqlitePercentiles fills P50MS and P95MS of stats: one window query
// returns, per endpoint, only the rows at the floor and ceiling ranks of
// both percentiles.
func sqlitePercentiles(ctx context.Context, db *gorm.DB, f EndpointFilter, stats []entities.EndpointStats) error {
	inner := f.requests().apply(db.WithContext(ctx).Model(&entities.RequestEvent{})).
		Where(topEndpoints(stats)).
		Select(`method, ` + endpoint + ` AS url, response_time_ms AS t,
			ROW_NUMBER() OVER (PARTITION BY ` + groupBy(db) + ` ORDER BY response_time_ms) - 1 AS rn,
			COUNT(*) OVER (PARTITION BY ` + groupBy(db) + `) AS n`)
	var rows []rankedTime
	err := db.WithContext(ctx).Table("(?) AS ranked", inner).
		Select("method, url, rn, t").
		Where(`rn IN (CAST((n - 1) * 0.5 AS INTEGER), CAST((n - 1) * 0.5 AS INTEGER) + 1,
			CAST((n - 1) * 0.95 AS INTEGER), CAST((n - 1) * 0.95 AS INTEGER) + 1)`).
		Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("audit: endpoint percentiles: %w", err)
	}
	type key struct{ method, url string }
	at := map[key]map[int64]float64{}
	for _, r := range rows {
		k := key{r.Method, r.URL}
		if at[k] == nil {
			at[k] = map[int64]float64{}
		}
		at[k][r.Rn] = r.T
	}
	for i := range stats {
		s := &stats[i]
		ranks := at[key{s.Method, s.URL}]
		s.P50MS = interpolate(ranks, s.Count, 0.5)
		s.P95MS = interpolate(ranks, s.Count, 0.95)
	}
	return nil
}

// topEndpoints restricts a query to the endpoints of stats (the busiest
// ones), so the window query ranks only their rows.
func topEndpoints(stats []entities.EndpointStats) clause.Expr {
	var sb strings.Builder
	args := make([]any, 0, 2*len(stats))
	sb.WriteString("(method, " + endpoint + ") IN (VALUES ")
	for i, s := range stats {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?, ?)")
		args = append(args, s.Method, s.URL)
	}
	sb.WriteByte(')')
	return clause.Expr{SQL: sb.String(), Vars: args}
}

// interpolate is percentile_cont over n sorted values of which ranks holds
// the ones needed.
func interpolate(ranks map[int64]float64, n int64, p float64) float64 {
	if n == 0 {
		return 0
	}
	pos := p * float64(n-1)
	lo := int64(math.Floor(pos))
	v := ranks[lo]
	if hi := lo + 1; hi < n {
		v += (ranks[hi] - v) * (pos - float64(lo))
	}
	return v
}
