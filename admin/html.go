package admin

import (
	"net/http"
	"net/url"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-gonic/gin"
)

// pdfLink is the PDF report at path with the filters of q (pagination
// dropped: a report covers every matching row).
func (h *handlers) pdfLink(path string, q url.Values) string {
	return link(h.base+path, q, "after", "", "limit", "")
}

func (h *handlers) requestPage(c *gin.Context) {
	id, err := parseID(c.Param("id"))
	if err != nil {
		h.renderError(c, "requests", nil, err)
		return
	}
	d, err := h.requestDetail(c.Request.Context(), id)
	if err != nil {
		h.renderError(c, "requests", nil, err)
		return
	}
	h.render(c, http.StatusOK, "request", pageData{Page: "Request " + d.Request.Method + " " + d.Request.URL, Nav: "requests",
		PDF: h.pdfLink("/reports/processes.pdf", url.Values{"request": {id.String()}}), Data: d})
}

func (h *handlers) processPage(c *gin.Context) {
	id, err := parseID(c.Param("id"))
	if err != nil {
		h.renderError(c, "processes", nil, err)
		return
	}
	d, err := query.LoadProcess(c.Request.Context(), h.db, id)
	if err != nil {
		h.renderError(c, "processes", nil, err)
		return
	}
	h.render(c, http.StatusOK, "process", pageData{Page: "Process " + d.Process.Name, Nav: "processes",
		PDF: h.pdfLink("/reports/processes.pdf", url.Values{"id": {id.String()}}), Data: h.processView(c.Request.Context(), d)})
}

// endpointsView is the data of the endpoints page.
type endpointsView struct {
	Items  []entities.EndpointStats
	MaxP95 float64 // the scale of the bar chart
}

func (h *handlers) endpointsPage(c *gin.Context) {
	q, stats, err := h.endpointStats(c)
	if err != nil {
		h.renderError(c, "endpoints", q, err)
		return
	}
	v := endpointsView{Items: stats}
	for _, s := range stats {
		v.MaxP95 = max(v.MaxP95, s.P95MS)
	}
	h.render(c, http.StatusOK, "endpoints", pageData{Page: "Endpoints", Nav: "endpoints", Query: q,
		PDF: link(h.base+"/reports/endpoints.pdf", q), Data: v})
}
