package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-audit-trail/audit/admin"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Config.MaxReportRows caps the rows of a PDF report, and the report says
// so; without it, all 30 seeded requests are listed.
func TestMaxReportRowsCapsThePDFReport(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	seed(t, db)
	for _, c := range []struct {
		max, want int
		note      string
	}{{0, 30, "at most 10000"}, {5, 5, "at most 5"}} {
		r := gin.New()
		require.NoError(t, admin.Mount(r.Group("/admin/audit"), admin.FromDB(db), admin.Config{Public: true, MaxReportRows: c.max}))
		w := get(t, r, "/admin/audit/reports/requests.pdf")
		require.Equal(t, http.StatusOK, w.Code)
		text := pdfText(t, w.Body)
		assert.Equal(t, c.want, strings.Count(text, "/api/products/"), "MaxReportRows %d", c.max)
		assert.Contains(t, text, c.note)
	}
}
