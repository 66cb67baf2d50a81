package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTMLPages(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h, fx, _ := setup(t, dsn)

		w := get(t, h, "/admin/audit/")
		assert.Equal(t, http.StatusFound, w.Code)
		assert.Equal(t, "/admin/audit/requests", w.Header().Get("Location"))

		w = get(t, h, "/admin/audit/requests?method=POST&status=5xx")
		require.Equal(t, http.StatusOK, w.Code)
		body := w.Body.String()
		assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'none'")
		assert.Equal(t, 3, strings.Count(body, `>details</a>`))
		assert.Contains(t, body, `<option value="POST" selected>`)
		assert.Contains(t, body, `href="/admin/audit/reports/requests.pdf?method=POST&amp;status=5xx"`)
		assert.NotContains(t, body, "<script", "the viewer has no scripts")

		w = get(t, h, "/admin/audit/requests")
		assert.Contains(t, w.Body.String(), `id="next-page"`)

		w = get(t, h, "/admin/audit/requests/"+fx.requests[4].ID.String())
		require.Equal(t, http.StatusOK, w.Code)
		body = w.Body.String()
		assert.Contains(t, body, `<pre class="stack" id="stack">goroutine 1 [running]:`+"\nmain.handler()\n\t/app/main.go:42")
		assert.Contains(t, body, "{\n  &#34;id&#34;: 1,\n  &#34;name&#34;: &#34;Caneta&#34;\n}", "JSON bodies are indented")

		w = get(t, h, "/admin/audit/requests/"+fx.requests[2].ID.String())
		body = w.Body.String()
		assert.Contains(t, body, "Criar produto")
		assert.Contains(t, body, `href="/admin/audit/reports/processes.pdf?request=`+fx.requests[2].ID.String())

		w = get(t, h, "/admin/audit/logins?status=failed")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), "mallory")
		assert.NotContains(t, w.Body.String(), ">admin<")

		w = get(t, h, "/admin/audit/processes")
		require.Equal(t, http.StatusOK, w.Code)
		body = w.Body.String()
		assert.Contains(t, body, "Validação")
		assert.Contains(t, body, `<span class="badge muted">No registration</span>`)
		assert.Contains(t, body, `<span class="badge bad" title="">✗ código duplicado</span>`)
		assert.Contains(t, body, `<span class="badge good" title="">✓ preço ok</span>`)

		w = get(t, h, "/admin/audit/processes/"+fx.process.ID.String())
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), `href="/admin/audit/reports/processes.pdf?id=`+fx.process.ID.String())

		w = get(t, h, "/admin/audit/endpoints?from=2025-03-01")
		require.Equal(t, http.StatusOK, w.Code)
		body = w.Body.String()
		assert.Contains(t, body, `class="bar p95 w100"`, "the slowest p95 fills the bar")
		assert.Contains(t, body, "/api/products/1/")

		w = get(t, h, "/admin/audit/static/admin.css")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Header().Get("Content-Type"), "text/css")
	})
}

func TestHTMLEscapesStoredContent(t *testing.T) {
	h, fx, _ := setup(t, testdb.SQLite(t))
	w := get(t, h, "/admin/audit/requests/"+fx.xssBodyID.String())
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	assert.NotContains(t, body, "<script")
	assert.Contains(t, body, `&lt;script&gt;alert(&#34;req&#34;)&lt;/script&gt;`)
	assert.Contains(t, body, `&lt;script&gt;alert(1)&lt;/script&gt;`)

	// A filter value is echoed escaped too.
	w = get(t, h, `/admin/audit/requests?user=%22%3E%3Cscript%3Ex%3C/script%3E`)
	require.Equal(t, http.StatusOK, w.Code)
	assert.NotContains(t, w.Body.String(), "<script")
}
