package admin

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
)

// fail answers err as JSON ({"error": message}) with its status.
func fail(c *gin.Context, err error) {
	status, msg := errorStatus(err)
	if status >= 500 {
		slog.Error("audit admin: request failed", "path", c.Request.URL.Path, "error", err)
	}
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}

func (h *handlers) apiRequest(c *gin.Context) {
	id, err := parseID(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	d, err := h.requestDetail(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (h *handlers) apiProcess(c *gin.Context) {
	id, err := parseID(c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	d, err := repository.LoadProcess(c.Request.Context(), h.db, id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h.processView(c.Request.Context(), d))
}

func (h *handlers) apiEndpoints(c *gin.Context) {
	_, stats, err := h.endpointStats(c)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": stats})
}

// health is the body of /api/health.
type health struct {
	Status   string            `json:"status"` // "ok" or "degraded"
	Database string            `json:"database"`
	Writer   *repository.Stats `json:"writer,omitempty"`
	// Warnings name losses since the trail started: they stay after the
	// trail recovers, while Status says how it is now.
	Warnings []string `json:"warnings,omitempty"`
}

// apiHealth reports whether the audit database answers and, for a trail,
// its writer's counters; 503 when the database does not answer.
func (h *handlers) apiHealth(c *gin.Context) {
	out := health{Status: "ok", Database: "ok"}
	status := http.StatusOK
	if sqlDB, err := h.db.DB(); err != nil {
		out.Status, out.Database, status = "degraded", "unavailable", http.StatusServiceUnavailable
	} else if err := sqlDB.PingContext(c.Request.Context()); err != nil {
		out.Status, out.Database, status = "degraded", "unreachable", http.StatusServiceUnavailable
	}
	if s, ok := h.src.(StatsSource); ok {
		st := s.Stats()
		out.Writer = &st
		if st.Degraded || st.SpoolPending > 0 {
			out.Status = "degraded" // writing to the spool, or replaying it
		}
		if st.Dropped > 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%d rows dropped since start", st.Dropped))
		}
		if st.Failed > 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%d rows failed since start", st.Failed))
		}
	}
	c.JSON(status, out)
}

// endpointStats reads the endpoint filters of c (the last 7 days when no
// period is given) and returns them with the summary. A bad parameter is
// a *paramError, which fail and renderError answer with 400.
func (h *handlers) endpointStats(c *gin.Context) (url.Values, []entities.EndpointStats, error) {
	q := withDefaultPeriod(c.Request.URL.Query())
	p := newParams(q, endpointParams...)
	f := p.endpointFilter()
	if p.err != nil {
		return q, nil, p.err
	}
	stats, err := repository.EndpointStats(c.Request.Context(), h.db, f)
	return q, stats, err
}
