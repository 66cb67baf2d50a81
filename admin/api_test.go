package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type requestPage struct {
	Items []entities.RequestEvent `json:"items"`
	Next  string                  `json:"next"`
}

func TestAPIRequestsFiltersAndPagination(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h, fx, _ := setup(t, dsn)

		// Pages of 10 (Config.PageSize), newest first, every row once.
		var ids []entities.ID
		path := "/admin/audit/api/requests"
		for range 5 {
			p := getJSON[requestPage](t, h, path, http.StatusOK)
			for _, r := range p.Items {
				ids = append(ids, r.ID)
			}
			if p.Next == "" {
				break
			}
			path = "/admin/audit/api/requests?after=" + url.QueryEscape(p.Next)
		}
		require.Len(t, ids, 30)
		assert.Equal(t, fx.requests[29].ID, ids[0])
		assert.Equal(t, fx.requests[0].ID, ids[29])

		p := getJSON[requestPage](t, h, "/admin/audit/api/requests?method=post&status=5xx&order=asc", http.StatusOK)
		require.Len(t, p.Items, 3) // i = 9, 19, 29
		for _, r := range p.Items {
			assert.Equal(t, "POST", r.Method)
			assert.Equal(t, 500, r.StatusCode)
		}
		assert.Equal(t, fx.requests[9].ID, p.Items[0].ID)

		p = getJSON[requestPage](t, h, "/admin/audit/api/requests?url=/api/products/3/&user=u0&ip=192.0.2.1&limit=100", http.StatusOK)
		for _, r := range p.Items {
			assert.Equal(t, "/api/products/3/", r.URL)
			assert.Equal(t, "u0", r.UserID)
		}
		assert.Len(t, p.Items, 3) // i = 3, 15, 27

		p = getJSON[requestPage](t, h, "/admin/audit/api/requests?url=ducts/2&url_match=contains&limit=100", http.StatusOK)
		assert.Len(t, p.Items, 7)

		p = getJSON[requestPage](t, h, "/admin/audit/api/requests?from=2025-03-01T09:10&to=2025-03-01T09:15:00Z", http.StatusOK)
		assert.Len(t, p.Items, 5)
		p = getJSON[requestPage](t, h, "/admin/audit/api/requests?from=2025-03-02", http.StatusOK)
		assert.Empty(t, p.Items)
		assert.NotNil(t, p.Items, "an empty page is [] not null")
		p = getJSON[requestPage](t, h, "/admin/audit/api/requests?to=2025-03-01&limit=500", http.StatusOK)
		assert.Len(t, p.Items, 30, "to=<day> includes the whole day")
	})
}

func TestAPIBadParameters(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h, _, _ := setup(t, dsn)
		for path, want := range map[string]string{
			"/admin/audit/api/requests?status=99":                     "status",
			"/admin/audit/api/requests?status=abc":                    "status",
			"/admin/audit/api/requests?limit=0":                       "limit",
			"/admin/audit/api/requests?limit=100000":                  "limit",
			"/admin/audit/api/requests?after=garbage!":                "after",
			"/admin/audit/api/requests?from=yesterday":                "from",
			"/admin/audit/api/requests?from=2025-03-02&to=2025-03-01": "before",
			"/admin/audit/api/requests?order=sideways":                "order",
			"/admin/audit/api/requests?url_match=regex":               "url_match",
			"/admin/audit/api/requests?method=GET%27--":               "method",
			"/admin/audit/api/requests?sort=url":                      "unknown parameter",
			"/admin/audit/api/requests?user=a&user=b":                 "2 times",
			"/admin/audit/api/requests/not-an-id":                     "not an id",
			"/admin/audit/api/logins?status=maybe":                    "status",
			"/admin/audit/api/processes?success=perhaps":              "success",
			"/admin/audit/api/processes?outcome=failed&success=true":  "disagree",
			"/admin/audit/api/processes?request=nope":                 "request",
			"/admin/audit/api/endpoints?limit=-1":                     "limit",
			"/admin/audit/reports/requests.pdf?status=700":            "status",
			"/admin/audit/reports/processes.pdf?id=x":                 "not an id",
		} {
			body := getJSON[map[string]string](t, h, path, http.StatusBadRequest)
			assert.Contains(t, body["error"], want, path)
		}
		// A quote in a filter is a value, not SQL.
		p := getJSON[requestPage](t, h, "/admin/audit/api/requests?user="+url.QueryEscape("x' OR '1'='1"), http.StatusOK)
		assert.Empty(t, p.Items)
		// Unknown ids are 404.
		for _, path := range []string{"/admin/audit/api/requests/", "/admin/audit/api/processes/", "/admin/audit/requests/"} {
			w := get(t, h, path+entities.NewID().String())
			assert.Equal(t, http.StatusNotFound, w.Code, path)
		}
		// The HTML viewer answers bad parameters with a 400 page.
		w := get(t, h, "/admin/audit/requests?status=abc")
		assert.Equal(t, http.StatusBadRequest, w.Code)
		assert.Contains(t, w.Body.String(), "not a status code")
	})
}

func TestAPIRequestDetail(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h, fx, _ := setup(t, dsn)
		type detail struct {
			Request   entities.RequestEvent `json:"request"`
			Logins    []entities.LoginEvent `json:"logins"`
			Processes []struct {
				Process entities.ProcessEvent `json:"process"`
				Outcome string                `json:"outcome"`
				Steps   []struct {
					Outcome string `json:"outcome"`
					Missing int    `json:"missing"`
				} `json:"steps"`
			} `json:"processes"`
		}
		d := getJSON[detail](t, h, "/admin/audit/api/requests/"+fx.requests[0].ID.String(), http.StatusOK)
		assert.Equal(t, fx.requests[0].URL, d.Request.URL)
		require.Len(t, d.Logins, 1)
		assert.Equal(t, entities.LoginSignIn, d.Logins[0].Status)
		assert.Empty(t, d.Processes)

		d = getJSON[detail](t, h, "/admin/audit/api/requests/"+fx.requests[2].ID.String(), http.StatusOK)
		require.Len(t, d.Processes, 1)
		assert.Equal(t, "Criar produto", d.Processes[0].Process.Name)
		assert.Equal(t, "failed", d.Processes[0].Outcome)
		require.Len(t, d.Processes[0].Steps, 2)
		assert.Equal(t, "success", d.Processes[0].Steps[0].Outcome)
		assert.Equal(t, "failed", d.Processes[0].Steps[1].Outcome)

		d = getJSON[detail](t, h, "/admin/audit/api/requests/"+fx.requests[4].ID.String(), http.StatusOK)
		assert.Equal(t, "boom", d.Request.ErrorMessage)
		assert.Contains(t, d.Request.ErrorStacktrace, "main.go:42")
	})
}

func TestAPILoginsProcessesEndpoints(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h, fx, _ := setup(t, dsn)
		type loginPage struct {
			Items []entities.LoginEvent `json:"items"`
		}
		lp := getJSON[loginPage](t, h, "/admin/audit/api/logins", http.StatusOK)
		require.Len(t, lp.Items, 2)
		assert.Equal(t, fx.failed.ID, lp.Items[0].ID, "newest first")
		lp = getJSON[loginPage](t, h, "/admin/audit/api/logins?status=sign_in&user=admin&ip=192.0.2.0", http.StatusOK)
		require.Len(t, lp.Items, 1)
		assert.Equal(t, fx.login.ID, lp.Items[0].ID)
		lp = getJSON[loginPage](t, h, "/admin/audit/api/logins?status=Failed&from=2025-03-01T09:05", http.StatusOK)
		assert.Empty(t, lp.Items)

		type procPage struct {
			Items []struct {
				Process entities.ProcessEvent `json:"process"`
				Outcome string                `json:"outcome"`
				Steps   []struct {
					Missing int `json:"missing"`
				} `json:"steps"`
			} `json:"items"`
			Next string `json:"next"`
		}
		pp := getJSON[procPage](t, h, "/admin/audit/api/processes", http.StatusOK)
		require.Len(t, pp.Items, 2)
		assert.Equal(t, "Validação", pp.Items[0].Process.Name)
		assert.Equal(t, "pending", pp.Items[0].Outcome)
		assert.Equal(t, 1, pp.Items[0].Steps[0].Missing)
		pp = getJSON[procPage](t, h, "/admin/audit/api/processes?success=false", http.StatusOK)
		require.Len(t, pp.Items, 1)
		assert.Equal(t, fx.process.ID, pp.Items[0].Process.ID)
		pp = getJSON[procPage](t, h, "/admin/audit/api/processes?user=job&name="+url.QueryEscape("Validação"), http.StatusOK)
		require.Len(t, pp.Items, 1)
		pp = getJSON[procPage](t, h, "/admin/audit/api/processes?limit=1", http.StatusOK)
		require.Len(t, pp.Items, 1)
		require.NotEmpty(t, pp.Next)
		pp = getJSON[procPage](t, h, "/admin/audit/api/processes?limit=1&after="+pp.Next, http.StatusOK)
		require.Len(t, pp.Items, 1)
		assert.Equal(t, "Criar produto", pp.Items[0].Process.Name)
		assert.Empty(t, pp.Next)

		one := getJSON[map[string]any](t, h, "/admin/audit/api/processes/"+fx.process.ID.String(), http.StatusOK)
		assert.Equal(t, "failed", one["outcome"])

		type stats struct {
			Items []entities.EndpointStats `json:"items"`
		}
		st := getJSON[stats](t, h, "/admin/audit/api/endpoints?method=GET&from=2025-03-01", http.StatusOK)
		require.Len(t, st.Items, 2) // GETs are even i: urls 0 and 2
		for _, s := range st.Items {
			assert.Equal(t, "GET", s.Method)
			assert.True(t, strings.HasSuffix(s.URL, "0/") || strings.HasSuffix(s.URL, "2/"), s.URL)
			assert.Greater(t, s.P95MS, s.P50MS)
		}
	})
}
