package pdf

import (
	"io"
	"strconv"

	"github.com/gin-audit-trail/audit/entities"
)

// Bar chart geometry in points.
const (
	chartLabelW = 190.0
	chartValueW = 55.0
	chartRowH   = 13.0
	chartBarH   = 9.0
)

// endpointColumns returns the columns of the endpoint table, which add up
// to the content width.
func endpointColumns() []column {
	return []column{
		{title: "Method", width: 45},
		{title: "URL", width: 210},
		{title: "Count", width: 55, right: true},
		{title: "Errors %", width: 50, right: true},
		{title: "Mean ms", width: 50, right: true},
		{title: "p50 ms", width: 50, right: true},
		{title: "p95 ms", width: 55, right: true},
	}
}

// WriteEndpointReport writes a per-endpoint performance report to w: a
// table of every method and URL with its request count, error rate, mean,
// median (p50) and 95th-percentile (p95) response times, followed by
// horizontal bar charts of the p95 time, the request count and the error
// rate, each scaled to its largest value.
func WriteEndpointReport(w io.Writer, meta Meta, stats []entities.EndpointStats) error {
	d, err := newDoc(meta)
	if err != nil {
		return err
	}
	if len(stats) == 0 {
		d.message(emptyMessage)
		return d.finish(w)
	}
	t := d.startTable(endpointColumns(), "")
	for i := range stats {
		s := &stats[i]
		t.row(t.textRow(
			clean(s.Method),
			clean(s.URL),
			strconv.FormatInt(s.Count, 10),
			formatPercent(s.ErrorRate),
			formatMS(s.MeanMS),
			formatMS(s.P50MS),
			formatMS(s.P95MS),
		))
	}
	t.end()

	d.barChart("p95 response time (ms)", stats, colBar, func(s *entities.EndpointStats) (float64, string) {
		return finite(s.P95MS), formatMS(s.P95MS)
	})
	d.barChart("Requests (count)", stats, colBarAlt, func(s *entities.EndpointStats) (float64, string) {
		return float64(max(s.Count, 0)), strconv.FormatInt(s.Count, 10)
	})
	d.barChart("Error rate (%)", stats, colFailure, func(s *entities.EndpointStats) (float64, string) {
		return finite(s.ErrorRate), formatPercent(s.ErrorRate)
	})
	return d.finish(w)
}

// barChart draws one horizontal bar per endpoint, labelled with its method
// and URL, its length value/maximum of the bar area, followed by the value
// as text. The chart title is repeated on every page the chart spans.
func (d *doc) barChart(title string, stats []entities.EndpointStats, colour rgb, value func(*entities.EndpointStats) (float64, string)) {
	top := 0.0
	for i := range stats {
		v, _ := value(&stats[i])
		top = max(top, v)
	}
	heading := func(t string) {
		d.text(marginX, d.y, t, fontBold, colText)
		d.y += 16
	}
	d.ensure(16 + 3*chartRowH)
	heading(title)
	d.onNewPage = func() { heading(title + " (continued)") }
	barX := marginX + chartLabelW + 5
	barW := contentW - chartLabelW - 5 - chartValueW
	for i := range stats {
		s := &stats[i]
		d.ensure(chartRowH)
		label := d.fit(clean(s.Method)+" "+clean(s.URL), chartLabelW, fontCell)
		d.text(marginX, d.y+2, label, fontCell, colText)
		v, text := value(s)
		w := 0.0
		if top > 0 {
			w = barW * v / top
		}
		d.rect(barX, d.y+(chartRowH-chartBarH)/2, max(w, 0.5), chartBarH, colour)
		d.text(barX+w+4, d.y+2, text, fontCell, colMuted)
		d.y += chartRowH
	}
	d.onNewPage = nil
	d.y += 12
}

// formatPercent renders a 0..1 rate as a percentage with one decimal.
func formatPercent(rate float64) string {
	return strconv.FormatFloat(finite(rate)*100, 'f', 1, 64)
}
