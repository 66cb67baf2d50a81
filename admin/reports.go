package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/pdf"
	"github.com/gin-gonic/gin"
)

// pdfWriter sends the PDF headers with the first byte. The pdf package
// writes nothing until a report is complete, so a report that fails can
// still be answered with a JSON error.
type pdfWriter struct {
	c    *gin.Context
	name string
	sent bool
}

func (w *pdfWriter) Write(b []byte) (int, error) {
	if !w.sent {
		w.sent = true
		h := w.c.Writer.Header()
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.pdf"`, w.name, time.Now().UTC().Format("20060102-150405")))
		w.c.Status(http.StatusOK)
	}
	return w.c.Writer.Write(b)
}

// report runs write into a pdfWriter, answering its error if nothing was
// sent.
func report(c *gin.Context, name string, write func(w *pdfWriter) error) {
	w := &pdfWriter{c: c, name: name}
	if err := write(w); err != nil {
		if w.sent {
			_ = c.Error(err) // headers are gone: the client sees a truncated file
			return
		}
		fail(c, err)
	}
}

// filterLabels names the query parameters on a report's first page.
var filterLabels = []struct{ key, label string }{
	{"id", "Process id"}, {"request", "Request id"},
	{"method", "Method"}, {"status", "Status"}, {"code", "Status code"}, {"user", "User"}, {"ip", "IP address"},
	{"url", "URL"}, {"url_match", "URL match"}, {"name", "Name"}, {"search", "Search"},
	{"outcome", "Outcome"}, {"success", "Success"}, {"from", "From (UTC)"}, {"to", "To (UTC)"},
	{"order", "Order"}, {"limit", "Limit"},
}

// meta describes a report: its title, the filters of q and, for lists, the
// row cap.
func (h *handlers) meta(title string, q url.Values, capped bool) pdf.Meta {
	m := pdf.Meta{Title: title, GeneratedAt: time.Now().UTC()}
	for _, f := range filterLabels {
		if v := q.Get(f.key); v != "" {
			m.Filters = append(m.Filters, pdf.Filter{Label: f.label, Value: v})
		}
	}
	if capped {
		m.Filters = append(m.Filters, pdf.Filter{Label: "Rows", Value: "at most " + strconv.Itoa(h.cfg.MaxReportRows)})
	}
	return m
}

// reportOrder reads order= for a report (newest first by default).
func reportOrder(p *params) query.ListOptions {
	return query.ListOptions{Ascending: p.oneOf("order", "desc", "asc") == "asc"}
}

// pdfProcesses reports one process (id=) or the processes matching the
// list filters.
func (h *handlers) pdfProcesses(c *gin.Context) {
	q := c.Request.URL.Query()
	p := newParams(q, slices.Concat(processParams, []string{"order", "id"})...)
	f, o := p.processFilter(), reportOrder(p)
	var one *entities.ID
	if s := p.str("id", 64); s != "" {
		id, err := parseID(s)
		p.fail(err)
		one = &id
	}
	if p.err != nil {
		fail(c, p.err)
		return
	}
	ctx := c.Request.Context()
	if one != nil {
		d, err := query.LoadProcess(ctx, h.db, *one)
		if err != nil {
			fail(c, err)
			return
		}
		meta := h.meta("Process report", q, false)
		meta.UserName = h.users.forReport(ctx)
		report(c, "audit-process", func(w *pdfWriter) error {
			return pdf.WriteProcessReport(w, meta, func(yield func(*entities.ProcessDetail, error) bool) {
				yield(d, nil)
			})
		})
		return
	}
	f.Descending = !o.Ascending
	f.Limit = h.cfg.MaxReportRows
	meta := h.meta("Process report", q, true)
	meta.UserName = h.users.forReport(ctx)
	report(c, "audit-processes", func(w *pdfWriter) error {
		return pdf.WriteProcessReport(w, meta, query.StreamProcesses(ctx, h.db, f))
	})
}

func (h *handlers) pdfEndpoints(c *gin.Context) {
	q, stats, err := h.endpointStats(c)
	if err != nil {
		fail(c, err)
		return
	}
	report(c, "audit-endpoints", func(w *pdfWriter) error {
		return pdf.WriteEndpointReport(w, h.meta("Endpoint performance", q, false), stats)
	})
}
