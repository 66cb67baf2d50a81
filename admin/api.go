package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
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
	d, err := query.LoadProcess(c.Request.Context(), h.db, id)
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

// healthTimeout bounds the database check of the health route: a database
// that hangs is reported unreachable after this long.
const healthTimeout = time.Second

// Values of health.Database.
const (
	dbOK          = "ok"
	dbUnreachable = "unreachable" // no answer to a ping within healthTimeout
	dbConnecting  = "connecting"  // answers, but the trail has not yet reached and migrated it
	dbUnwritable  = "unwritable"  // answers, but the latest write failed
)

// health is the body of /api/health.
type health struct {
	Status string `json:"status"` // "ok" or "degraded"
	// Database is "ok", "unreachable", "connecting" or "unwritable"; the
	// route answers 503 unless it is "ok".
	Database string `json:"database"`
	// Error says why the database is not "ok".
	Error  string            `json:"error,omitempty"`
	Writer *repository.Stats `json:"writer,omitempty"`
	// Warnings name losses since the trail started: they stay after the
	// trail recovers, while Status says how it is now.
	Warnings []string `json:"warnings,omitempty"`
	// LastVerification is the latest `audit verify` run recorded in the
	// database (docs/INTEGRITY.md), absent when none was.
	LastVerification *integrity.Verification `json:"last_verification,omitempty"`
}

// apiHealth reports whether the audit database answers (within
// healthTimeout) and takes writes, and, for a trail, its writer's
// counters; 503 when the database is not usable.
func (h *handlers) apiHealth(c *gin.Context) {
	out := health{Status: "ok", Database: dbOK}
	ctx, cancel := context.WithTimeout(c.Request.Context(), healthTimeout)
	defer cancel()
	if err := ping(ctx, h.db); err != nil {
		out.Database, out.Error = dbUnreachable, err.Error()
	} else if s, ok := h.src.(DatabaseStateSource); ok {
		switch st := s.DatabaseState(); {
		case !st.Connected:
			out.Database, out.Error = dbConnecting, st.ConnectError
		case st.WriteFailing:
			out.Database, out.Error = dbUnwritable, st.LastWriteError
		}
	}
	status := http.StatusOK
	if out.Database != dbOK {
		out.Status, status = "degraded", http.StatusServiceUnavailable
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
	if out.Database == dbOK {
		if v, err := integrity.LastVerification(ctx, h.db); err == nil && v != nil {
			out.LastVerification = v
			if !v.OK {
				out.Warnings = append(out.Warnings, "the last integrity verification failed: "+v.Summary)
			}
		}
	}
	c.JSON(status, out)
}

// ping asks db for a round trip and gives up when ctx ends, even if the
// driver does not.
func ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- sqlDB.PingContext(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s: %w", healthTimeout, ctx.Err())
	}
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
	stats, err := query.EndpointStats(c.Request.Context(), h.db, f)
	return q, stats, err
}
