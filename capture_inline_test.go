package audit_test

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Response bodies around the size of the capture kept inside the
// request's own allocation (88 bytes), written in one piece or in many,
// are stored whole, and cut where the cap says, on concurrent requests.
func TestResponseBodiesAroundTheInlineCapture(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), audit.Options{MaxBodyBytes: 200}, true)
	h.router.GET("/api/text/", func(c *gin.Context) {
		n, chunks := len(c.Query("n")), len(c.Query("c"))
		body := strings.Repeat("x", n-1) + "!"
		c.Header("Content-Type", "text/plain")
		c.Status(200)
		for i := range chunks {
			_, _ = c.Writer.WriteString(body[i*n/chunks : (i+1)*n/chunks])
		}
	})
	sizes := []int{1, 87, 88, 89, 176, 200, 201, 500}
	done := make(chan struct{})
	for _, n := range sizes {
		for _, chunks := range []int{1, 3} {
			go func() {
				defer func() { done <- struct{}{} }()
				url := "/api/text/?n=" + strings.Repeat("a", n) + "&c=" + strings.Repeat("a", chunks)
				w := h.do(httptest.NewRequest("GET", url, nil))
				assert.Equal(t, n, w.Body.Len())
			}()
		}
	}
	for range 2 * len(sizes) {
		<-done
	}
	rows := h.rows()
	require.Len(t, rows, 2*len(sizes))
	for _, r := range rows {
		n := int(r.ResponseSize)
		want := strings.Repeat("x", n-1) + "!"
		if n > 200 {
			want = want[:200] + "\n[audit: body truncated, 200 of " + strconv.Itoa(n) + " bytes stored]"
		}
		assert.Equal(t, want, r.ResponseBody, "a body of %d bytes", n)
	}
}
