package pdf

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleStats returns per-endpoint statistics for n endpoints.
func sampleStats(n int) []entities.EndpointStats {
	stats := make([]entities.EndpointStats, n)
	for i := range stats {
		count := int64(100 + 37*i)
		errs := int64(i % 5)
		stats[i] = entities.EndpointStats{
			Method: []string{"GET", "POST"}[i%2], URL: fmt.Sprintf("/api/relatórios/%d", i),
			Count: count, Errors: errs, ErrorRate: float64(errs) / float64(count),
			MeanMS: 12.3 + float64(i), P50MS: 10 + float64(i), P95MS: 40 + 3.5*float64(i),
		}
	}
	return stats
}

func TestEndpointReportTableAndCharts(t *testing.T) {
	stats := sampleStats(6)
	stats[5].ErrorRate = 0.25
	b := render(t, func(w *bytes.Buffer) error {
		return WriteEndpointReport(w, testMeta("Desempenho por endpoint"), stats)
	})
	text := pdfText(t, b, 0)
	assert.Contains(t, text, "Method URL Count Errors % Mean ms p50 ms p95 ms")
	assert.Contains(t, text, "POST /api/relatórios/5 285 25.0 17.3 15.0 57.5", "the mean (17.3) beside the percentiles")
	assert.Contains(t, text, "p95 response time (ms)")
	assert.Contains(t, text, "Requests (count)")
	assert.Contains(t, text, "Error rate (%)")
}

func TestEndpointReportManyEndpointsAndBadNumbers(t *testing.T) {
	stats := sampleStats(120)
	stats[3].P95MS = math.NaN()
	stats[4].P95MS = math.Inf(1)
	stats[5].ErrorRate = -1
	b := render(t, func(w *bytes.Buffer) error {
		return WriteEndpointReport(w, testMeta("Endpoints"), stats)
	})
	n := pageCount(t, b)
	require.Greater(t, n, 2)
	assert.Contains(t, pdfText(t, b, n), fmt.Sprintf("Page %d", n))
	assert.Contains(t, pdfText(t, b, 0), "(continued)", "a chart spanning pages repeats its title")
}

func TestEndpointReportEmpty(t *testing.T) {
	b := render(t, func(w *bytes.Buffer) error {
		return WriteEndpointReport(w, testMeta("Endpoints"), nil)
	})
	text := pdfText(t, b, 0)
	assert.Contains(t, text, "No rows match these filters.")
	assert.NotContains(t, text, "p95 response time")
}
