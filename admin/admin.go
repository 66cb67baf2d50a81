// Package admin serves the read-only admin routes of the audit trail under a
// gin.RouterGroup of the application's choosing: a JSON API, a browsable
// HTML viewer (server-rendered, no JavaScript, no CDN) and PDF reports.
//
//	err := admin.Mount(router.Group("/admin/audit"), trail, admin.Config{
//		Authorize: authMiddleware, // required, see Config
//	})
//
// Routes, relative to the group:
//
//	GET /                      redirect to the request list
//	GET /requests              HTML request list (filters, keyset pages)
//	GET /requests/:id          HTML request detail
//	GET /logins                HTML login list
//	GET /processes             HTML process tree
//	GET /processes/:id         HTML process detail
//	GET /steps                 HTML step list (success=true|false)
//	GET /registrations         HTML registration list (success=true|false)
//	GET /endpoints             HTML per-endpoint summary
//	GET /api/requests          JSON list; /api/requests/:id the detail
//	GET /api/logins            JSON list
//	GET /api/processes         JSON list; /api/processes/:id the detail
//	GET /api/steps             JSON list (process=, search=, success=)
//	GET /api/registrations     JSON list (process=, step=, search=, success=)
//	GET /api/endpoints         JSON per-endpoint statistics
//	GET /api/health            JSON: database reachable and writable (503 if
//	                           not, within about 1 s), writer counters
//	GET /reports/requests.pdf  PDF reports, with the same filters as the
//	GET /reports/logins.pdf    lists; processes.pdf also takes id=
//	GET /reports/processes.pdf
//	GET /reports/endpoints.pdf
//	GET /static/admin.css      the viewer's stylesheet
//
// No route writes: the admin only reads the audit database.
package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
)

// Source is where the admin reads audit data. *audit.Trail is a Source;
// FromDB turns a bare audit *gorm.DB into one.
type Source interface {
	DB() *gorm.DB
}

// StatsSource is a Source that also reports the writer's health counters
// (as *audit.Trail does); the health route shows them when available.
type StatsSource interface {
	Source
	Stats() repository.Stats
}

// DatabaseStateSource is a Source that also knows whether its audit
// database has been reached and whether the latest write to it failed (as
// *audit.Trail does): the health route then reports a write outage even
// while the database still answers reads.
type DatabaseStateSource interface {
	Source
	DatabaseState() repository.DatabaseState
}

type dbSource struct{ db *gorm.DB }

func (s dbSource) DB() *gorm.DB { return s.db }

// FromDB returns a Source reading the audit database db, for admin routes
// served by a process that does not record (for example a separate admin
// service reading the shared PostgreSQL audit database).
func FromDB(db *gorm.DB) Source { return dbSource{db} }

// Config configures the admin routes. Authorize is required unless Public
// is set.
type Config struct {
	// Authorize runs before every admin route. It must abort the request
	// (c.AbortWithStatus...) when the caller may not read the audit trail;
	// if it returns without aborting, the caller is allowed. Use Allow to
	// build one from a predicate. Authentication middleware (gin-jwt's
	// MiddlewareFunc) belongs on the group itself, so that Authorize sees
	// the authenticated identity.
	Authorize gin.HandlerFunc
	// Public serves the routes without any authorization. It must be set
	// explicitly: Mount refuses to mount without Authorize otherwise.
	Public bool
	// Title is shown in the viewer's header. Default "Audit trail".
	Title string
	// PageSize is the default number of rows per list page (limit=
	// overrides it, up to query.MaxListLimit). Default 50.
	PageSize int
	// UserName names a user id for display, as the Django admin shows the
	// user rather than its primary key: the viewer shows the name, every
	// JSON list adds it as "user_name" beside "user_id" (or beside
	// "created_by" for processes, steps and registrations), and the PDF
	// reports show "name (id)". It returns "" for an unknown user. Answers
	// are cached for UserNameTTL; an error is logged and the id shown.
	// Nil shows ids.
	UserName func(ctx context.Context, userID string) (string, error)
	// UserNameTTL is how long a name from UserName is reused. Default 5
	// minutes.
	UserNameTTL time.Duration
	// MaxReportRows caps the rows of one PDF report; the report says so on
	// its first page when the cap was reached. Default 10000.
	MaxReportRows int
}

// ErrNoAuthorization is returned by Mount when Config has no Authorize
// function and Public is not set.
var ErrNoAuthorization = errors.New("admin: refusing to mount the audit admin routes without an authorization function: set Config.Authorize (for example admin.Allow(isAdmin)) or, to serve audit data to anyone who can reach the group, Config.Public = true")

// Allow returns an authorization middleware from a predicate: requests for
// which ok returns false are refused with 403 Forbidden.
func Allow(ok func(c *gin.Context) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !ok(c) {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "not allowed to read the audit trail"})
			return
		}
		c.Next()
	}
}

// Mount adds the admin routes to group, reading from src. It returns
// ErrNoAuthorization when cfg.Authorize is nil and cfg.Public is false, and
// an error when group or src (or its database) is nil.
func Mount(group *gin.RouterGroup, src Source, cfg Config) error {
	if group == nil {
		return errors.New("admin: Mount needs a router group")
	}
	if src == nil || src.DB() == nil {
		return errors.New("admin: Mount needs a source with an audit database (an *audit.Trail or admin.FromDB(db))")
	}
	if cfg.Authorize == nil && !cfg.Public {
		return ErrNoAuthorization
	}
	cfg = cfg.withDefaults()
	views, err := loadViews()
	if err != nil {
		return err
	}
	h := &handlers{src: src, db: src.DB(), cfg: cfg, base: strings.TrimSuffix(group.BasePath(), "/"), views: views, users: newUserNames(cfg)}

	chain := []gin.HandlerFunc{secureHeaders}
	if cfg.Authorize != nil {
		chain = append(chain, cfg.Authorize)
	}
	g := group.Group("", chain...)
	h.routes(g)
	return nil
}

func (c Config) withDefaults() Config {
	if c.Title == "" {
		c.Title = "Audit trail"
	}
	if c.PageSize <= 0 {
		c.PageSize = 50
	}
	if c.PageSize > query.MaxListLimit {
		c.PageSize = query.MaxListLimit
	}
	if c.MaxReportRows <= 0 {
		c.MaxReportRows = 10000
	}
	return c
}

// handlers serve the admin routes of one Mount.
type handlers struct {
	src   Source
	db    *gorm.DB
	cfg   Config
	base  string // the group's path without a trailing slash
	views *views
	users *userNames
}

func (h *handlers) routes(g *gin.RouterGroup) {
	g.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, h.base+"/requests") })
	g.GET("/static/admin.css", serveCSS)

	for _, l := range h.lists() {
		g.GET("/"+l.name, l.html)
		g.GET("/api/"+l.name, l.json)
		if l.pdf != nil {
			g.GET("/reports/"+l.name+".pdf", l.pdf)
		}
	}
	g.GET("/requests/:id", h.requestPage)
	g.GET("/processes/:id", h.processPage)
	g.GET("/endpoints", h.endpointsPage)

	g.GET("/api/requests/:id", h.apiRequest)
	g.GET("/api/processes/:id", h.apiProcess)
	g.GET("/api/endpoints", h.apiEndpoints)
	g.GET("/api/health", h.apiHealth)

	g.GET("/reports/endpoints.pdf", h.pdfEndpoints)
}

// secureHeaders keeps audit data out of caches and forbids every script:
// the viewer uses none.
func secureHeaders(c *gin.Context) {
	hd := c.Writer.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Next()
}
