package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPDFReports(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		h, fx, _ := setup(t, dsn)
		fetch := func(path string) string {
			t.Helper()
			w := get(t, h, path)
			require.Equal(t, http.StatusOK, w.Code, "%s: %.300s", path, w.Body.String())
			assert.Equal(t, "application/pdf", w.Header().Get("Content-Type"))
			assert.Contains(t, w.Header().Get("Content-Disposition"), "attachment; filename=")
			require.True(t, strings.HasPrefix(w.Body.String(), "%PDF-"))
			return pdfText(t, w.Body)
		}

		text := fetch("/admin/audit/reports/requests.pdf?method=POST&status=5xx")
		assert.Contains(t, text, "Request report")
		assert.Contains(t, text, "5xx")
		assert.Equal(t, 3, strings.Count(text, "/api/products/"), text)

		text = fetch("/admin/audit/reports/logins.pdf?status=failed")
		assert.Contains(t, text, "Login report")
		assert.Contains(t, text, "mallory")
		assert.NotContains(t, text, "admin")

		text = fetch("/admin/audit/reports/processes.pdf")
		assert.Contains(t, text, "Criar produto")
		assert.Contains(t, text, "Validação")
		assert.Contains(t, text, "código duplicado")
		assert.Contains(t, text, "No registration")

		text = fetch("/admin/audit/reports/processes.pdf?id=" + fx.pending.ID.String())
		assert.Contains(t, text, "Validação")
		assert.NotContains(t, text, "Criar produto")

		text = fetch("/admin/audit/reports/processes.pdf?request=" + fx.requests[2].ID.String())
		assert.Contains(t, text, "Criar produto")
		assert.NotContains(t, text, "Validação")

		text = fetch("/admin/audit/reports/endpoints.pdf?method=GET&from=2025-03-01")
		assert.Contains(t, text, "/api/products/0/")
		assert.NotContains(t, text, "/api/products/1/")

		w := get(t, h, "/admin/audit/reports/processes.pdf?id=01a21c46-0498-7180-a5d1-6da662a22935")
		assert.Equal(t, http.StatusNotFound, w.Code)
		assert.Contains(t, w.Header().Get("Content-Type"), "application/json")
	})
}
