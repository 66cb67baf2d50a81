package admin_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-audit-trail/audit/admin"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// namedServer is server with a user name resolver that counts its calls.
func namedServer(t *testing.T, dsn string) (*gin.Engine, fixture, *atomic.Int64) {
	db := testdb.Open(t, dsn)
	fx := seed(t, db)
	calls := &atomic.Int64{}
	names := map[string]string{"1": "admin", "u0": "Ana", "u1": "Bruno", "u2": "Carla"}
	r := gin.New()
	require.NoError(t, admin.Mount(r.Group("/admin/audit"), admin.FromDB(db), admin.Config{
		Public:   true,
		PageSize: 10,
		UserName: func(_ context.Context, id string) (string, error) {
			calls.Add(1)
			return names[id], nil
		},
	}))
	return r, fx, calls
}

type item = map[string]any

type itemPage struct {
	Items []item `json:"items"`
	Next  string `json:"next"`
}

func TestUserNamesAreShownInsteadOfIDs(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		r, fx, calls := namedServer(t, dsn)
		reqs := getJSON[itemPage](t, r, "/admin/audit/api/requests?limit=9&order=asc", 200)
		require.Len(t, reqs.Items, 9)
		for _, it := range reqs.Items {
			want := map[string]string{"u0": "Ana", "u1": "Bruno", "u2": "Carla"}[it["user_id"].(string)]
			assert.Equal(t, want, it["user_name"], "user_name beside user_id")
		}
		assert.Equal(t, int64(3), calls.Load(), "three users, each resolved once: the names are cached")
		getJSON[itemPage](t, r, "/admin/audit/api/requests?limit=9&order=asc", 200)
		assert.Equal(t, int64(3), calls.Load(), "a second page view asks nobody")

		logins := getJSON[itemPage](t, r, "/admin/audit/api/logins?status=sign_in", 200)
		require.Len(t, logins.Items, 1)
		assert.Equal(t, "admin", logins.Items[0]["user_name"])

		procs := getJSON[itemPage](t, r, "/admin/audit/api/processes?name=Criar+produto", 200)
		require.Len(t, procs.Items, 1)
		assert.Equal(t, "Carla", procs.Items[0]["user_name"], "the name of the process's created_by")

		html := get(t, r, "/admin/audit/requests").Body.String()
		assert.Contains(t, html, "Ana (u0)")
		html = get(t, r, "/admin/audit/processes/"+fx.process.ID.String()).Body.String()
		assert.Contains(t, html, "Carla (u2)")

		w := get(t, r, "/admin/audit/reports/processes.pdf?id="+fx.process.ID.String())
		require.Equal(t, 200, w.Code)
		assert.Contains(t, pdfText(t, w.Body), "Carla (u2)", "the process PDF names the user")
		w = get(t, r, "/admin/audit/reports/requests.pdf")
		require.Equal(t, 200, w.Code)
		assert.Contains(t, pdfText(t, w.Body), "Bruno (u1)")
		w = get(t, r, "/admin/audit/reports/logins.pdf")
		require.Equal(t, 200, w.Code)
		assert.Contains(t, pdfText(t, w.Body), "admin (1)")
	})
}

func TestStepAndRegistrationListsWithSuccessFilter(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		r, fx, _ := setup(t, dsn)
		all := getJSON[itemPage](t, r, "/admin/audit/api/steps", 200)
		require.Len(t, all.Items, 3)
		ok := getJSON[itemPage](t, r, "/admin/audit/api/steps?success=true", 200)
		require.Len(t, ok.Items, 1)
		assert.Equal(t, "Validar preço", ok.Items[0]["name"])
		assert.Equal(t, "Criar produto", ok.Items[0]["process_name"])
		bad := getJSON[itemPage](t, r, "/admin/audit/api/steps?success=false", 200)
		require.Len(t, bad.Items, 1)
		assert.Equal(t, "Gravar", bad.Items[0]["name"])
		assert.Equal(t, "failed", bad.Items[0]["outcome"])
		mine := getJSON[itemPage](t, r, "/admin/audit/api/steps?process="+fx.pending.ID.String(), 200)
		require.Len(t, mine.Items, 1)
		assert.Equal(t, "pending", mine.Items[0]["outcome"], "a step missing registrations is neither success nor failure")

		regs := getJSON[itemPage](t, r, "/admin/audit/api/registrations", 200)
		require.Len(t, regs.Items, 3)
		failed := getJSON[itemPage](t, r, "/admin/audit/api/registrations?success=false", 200)
		require.Len(t, failed.Items, 1)
		assert.Equal(t, "código duplicado", failed.Items[0]["name"])
		assert.Equal(t, "Gravar", failed.Items[0]["step_name"])
		assert.Equal(t, fx.process.ID.String(), failed.Items[0]["process_id"])
		succeeded := getJSON[itemPage](t, r, "/admin/audit/api/registrations?success=true&process="+fx.process.ID.String(), 200)
		require.Len(t, succeeded.Items, 1)
		assert.Equal(t, "preço ok", succeeded.Items[0]["name"])

		// One paging vocabulary: limit, after and order work like everywhere.
		p1 := getJSON[itemPage](t, r, "/admin/audit/api/registrations?limit=2&order=asc", 200)
		require.Len(t, p1.Items, 2)
		require.NotEmpty(t, p1.Next)
		p2 := getJSON[itemPage](t, r, "/admin/audit/api/registrations?limit=2&order=asc&after="+p1.Next, 200)
		require.Len(t, p2.Items, 1)
		assert.Empty(t, p2.Next)
		getJSON[map[string]string](t, r, "/admin/audit/api/steps?success=maybe", 400)

		html := get(t, r, "/admin/audit/processes/"+fx.process.ID.String()).Body.String()
		assert.Contains(t, html, `href="/admin/audit/steps?process=`+fx.process.ID.String()+`"`, "the process links to its steps")
		html = get(t, r, "/admin/audit/steps?success=false").Body.String()
		assert.Contains(t, html, "Gravar")
		assert.NotContains(t, html, "Validar preço")
		assert.Contains(t, html, `href="/admin/audit/processes/`+fx.process.ID.String()+`"`, "and back")
		html = get(t, r, "/admin/audit/registrations?success=true").Body.String()
		assert.Contains(t, html, "preço ok")
		assert.NotContains(t, html, "código duplicado")
	})
}

func TestLoginListShowsAndSearchesRequestIPStatusAndURL(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		r, fx, _ := setup(t, dsn)
		page := getJSON[itemPage](t, r, "/admin/audit/api/logins?order=asc", 200)
		require.Len(t, page.Items, 2)
		first := page.Items[0]
		assert.Equal(t, fx.requests[0].IPAddress, first["ip_address"])
		assert.Equal(t, float64(fx.requests[0].StatusCode), first["request_status_code"])
		assert.Equal(t, fx.requests[0].URL, first["url"])

		byCode := getJSON[itemPage](t, r, fmt.Sprintf("/admin/audit/api/logins?code=%d", fx.requests[1].StatusCode), 200)
		require.Len(t, byCode.Items, 1)
		assert.Equal(t, "mallory", byCode.Items[0]["username"])
		byURL := getJSON[itemPage](t, r, "/admin/audit/api/logins?url=products/1/", 200)
		require.Len(t, byURL.Items, 1)
		assert.Equal(t, "mallory", byURL.Items[0]["username"])
		for _, q := range []string{"mallo", "192.0.2.1", "products/1"} {
			found := getJSON[itemPage](t, r, "/admin/audit/api/logins?search="+q, 200)
			require.Len(t, found.Items, 1, q)
			assert.Equal(t, "mallory", found.Items[0]["username"], q)
		}
		html := get(t, r, "/admin/audit/logins?search=admin").Body.String()
		assert.Contains(t, html, "<th>IP</th><th>Code</th><th>URL</th>")
		assert.Contains(t, html, fx.requests[0].URL)
		w := get(t, r, "/admin/audit/reports/logins.pdf?search=mallory")
		require.Equal(t, 200, w.Code)
		text := pdfText(t, w.Body)
		assert.Contains(t, text, fx.requests[1].URL)
		assert.NotContains(t, text, "Sign in")
	})
}

func TestEndpointMeanTime(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		r, fx, _ := setup(t, dsn)
		// /api/products/0/ is hit by requests 0, 4, 8, ... 28: GET and POST
		// alternate with i, so GET /api/products/0/ is i = 0, 8, 16, 24.
		var sum float64
		var n int
		for i, q := range fx.requests {
			if q.Method == "GET" && q.URL == "/api/products/0/" {
				sum += float64(i + 1)
				n++
			}
		}
		want := sum / float64(n)
		stats := getJSON[itemPage](t, r, "/admin/audit/api/endpoints?from=2025-03-01&to=2025-03-02", 200)
		var found bool
		for _, s := range stats.Items {
			if s["method"] == "GET" && s["url"] == "/api/products/0/" {
				found = true
				assert.InDelta(t, want, s["mean_ms"], 1e-9)
			}
		}
		require.True(t, found)
		html := get(t, r, "/admin/audit/endpoints?from=2025-03-01&to=2025-03-02").Body.String()
		assert.Contains(t, html, "<th class=\"num\">Mean ms</th>")
		assert.Contains(t, html, fmt.Sprintf("%.1f", want))
		w := get(t, r, "/admin/audit/reports/endpoints.pdf?from=2025-03-01&to=2025-03-02")
		require.Equal(t, 200, w.Code)
		text := pdfText(t, w.Body)
		assert.Contains(t, text, "Mean ms")
		assert.True(t, strings.Contains(text, fmt.Sprintf("%.1f", want)), text)
	})
}
