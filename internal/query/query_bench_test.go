package query_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"gorm.io/gorm"
)

// BenchmarkListRequests measures the admin's list queries (a first page of
// 50, newest first) on a table of AUDIT_BENCH_ROWS request events (default
// 1,000,000), on SQLite and on PostgreSQL:
//
//	go test ./internal/query -run '^$' -bench ListRequests -benchtime 20x
//
// The table is filled once per backend before the timings: multi-row
// INSERTs in large transactions on SQLite, one INSERT ... SELECT over
// generate_series on PostgreSQL. 30 days of traffic: 70% GET, 20% POST,
// 5% PUT, 5% DELETE; 1,000 users; 500 IPs; 10,000 product URLs; 5% 404,
// 1% 500.
func BenchmarkListRequests(b *testing.B) {
	rows := testdb.BenchRows(b, "AUDIT_BENCH_ROWS", 1_000_000)
	newest := time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)
	day := newest.Add(-24 * time.Hour)
	cases := []struct {
		name string
		f    query.RequestFilter
	}{
		{"no-filter", query.RequestFilter{}},
		{"method=POST", query.RequestFilter{Method: "POST"}},
		{"status=5xx", query.RequestFilter{StatusMin: 500, StatusMax: 599}},
		{"status=404", query.RequestFilter{StatusMin: 404, StatusMax: 404}},
		{"status=2xx", query.RequestFilter{StatusMin: 200, StatusMax: 299}},
		{"status=4xx", query.RequestFilter{StatusMin: 400, StatusMax: 499}},
		{"user=u123", query.RequestFilter{UserID: "u123"}},
		{"ip", query.RequestFilter{IPAddress: "10.0.1.44"}},
		{"url-prefix-rare", query.RequestFilter{URL: "/api/products/4242/"}},
		{"url-prefix-common", query.RequestFilter{URL: "/api/products/"}},
		{"url-contains-rare", query.RequestFilter{URL: "ducts/4242/", URLMatch: query.URLContains}},
		{"url-contains-common", query.RequestFilter{URL: "products", URLMatch: query.URLContains}},
		{"last-day+method=DELETE", query.RequestFilter{Method: "DELETE", Time: query.TimeRange{From: day, To: newest}}},
		{"user+status=4xx", query.RequestFilter{UserID: "u7", StatusMin: 400, StatusMax: 499}},
	}
	for _, be := range testdb.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := testdb.Open(b, be.DSN(b))
			start := time.Now()
			fillRequests(b, db, rows, newest)
			b.Logf("%s: %d request events inserted in %s", be.Name, rows, time.Since(start).Round(time.Millisecond))
			ctx := context.Background()
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						if _, err := query.ListRequests(ctx, db, c.f, query.ListOptions{}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("page-20-keyset", func(b *testing.B) {
				// The 20th page: the cursor of row 950.
				var after *query.ListCursor
				for range 19 {
					p, err := query.ListRequests(ctx, db, query.RequestFilter{Method: "GET"}, query.ListOptions{After: after})
					if err != nil {
						b.Fatal(err)
					}
					c, _ := query.ParseListCursor(p.Next)
					after = &c
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := query.ListRequests(ctx, db, query.RequestFilter{Method: "GET"}, query.ListOptions{After: after}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("endpoint-stats-last-day", func(b *testing.B) {
				for b.Loop() {
					if _, err := query.EndpointStats(ctx, db, query.EndpointFilter{Time: query.TimeRange{From: day}}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("endpoint-stats-all", func(b *testing.B) {
				for b.Loop() {
					if _, err := query.EndpointStats(ctx, db, query.EndpointFilter{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// fillRequests inserts n synthetic request events ending at newest.
func fillRequests(b *testing.B, db *gorm.DB, n int, newest time.Time) {
	b.Helper()
	if db.Dialector.Name() == "postgres" {
		err := db.Exec(`INSERT INTO audit_request_events (id, datetime, user_id, ip_address, method, url, query_params,
			request_type, request_body, response_body, status_code, response_time_ms, response_size, error_type,
			error_message, error_stacktrace, extra_informations)
		SELECT gen_random_uuid(), ?::timestamptz - (i * (2592000.0 / ?)) * interval '1 second',
			'u' || (i * 7919 % 1000), '10.0.' || (i % 500 / 100) || '.' || (i % 100),
			CASE WHEN i % 20 < 14 THEN 'GET' WHEN i % 20 < 18 THEN 'POST' WHEN i % 20 < 19 THEN 'PUT' ELSE 'DELETE' END,
			'/api/products/' || (i * 31 % 10000) || '/', '', 'http', '', '',
			CASE WHEN i % 100 = 0 THEN 500 WHEN i % 20 = 3 THEN 404 ELSE 200 END,
			(i * 37 % 1000) / 10.0, 512, '', '', '', ''
		FROM generate_series(0::bigint, ? - 1) AS i`, newest, n, n).Error
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Exec("ANALYZE audit_request_events").Error; err != nil {
			b.Fatal(err)
		}
		return
	}
	const perStmt, perTx = 500, 100_000
	step := time.Duration(int64(30*24*time.Hour) / int64(n))
	methods := func(i int) string {
		switch m := i % 20; {
		case m < 14:
			return "GET"
		case m < 18:
			return "POST"
		case m < 19:
			return "PUT"
		}
		return "DELETE"
	}
	for lo := 0; lo < n; lo += perTx {
		err := db.Transaction(func(tx *gorm.DB) error {
			for s := lo; s < min(lo+perTx, n); s += perStmt {
				e := min(s+perStmt, n)
				var sb strings.Builder
				sb.WriteString(`INSERT INTO audit_request_events (id, datetime, user_id, ip_address, method, url, query_params,
					request_type, request_body, response_body, status_code, response_time_ms, response_size, error_type,
					error_message, error_stacktrace, extra_informations) VALUES `)
				args := make([]any, 0, (e-s)*8)
				for i := s; i < e; i++ {
					if i > s {
						sb.WriteByte(',')
					}
					sb.WriteString(`(?,?,?,?,?,?,'','http','','',?,?,512,'','','','')`)
					status := 200
					if i%100 == 0 {
						status = 500
					} else if i%20 == 3 {
						status = 404
					}
					args = append(args, entities.NewID(), newest.Add(-time.Duration(i)*step),
						fmt.Sprintf("u%d", i*7919%1000), fmt.Sprintf("10.0.%d.%d", i%500/100, i%100),
						methods(i), fmt.Sprintf("/api/products/%d/", i*31%10000), status, float64(i*37%1000)/10)
				}
				if err := tx.Exec(sb.String(), args...).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// No ANALYZE: a SQLite audit database in the field has no statistics
	// either, so the planner is measured as users get it.
}
