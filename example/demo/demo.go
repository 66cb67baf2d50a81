// Package demo is the demo application behind `go run ./example`: a product
// API like drf-audit-trail's Django demo, audited by the trail. It is a
// package so that the library's end-to-end tests drive the same router a
// user starts.
package demo

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	jwt "github.com/appleboy/gin-jwt/v2"
	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Config configures the demo.
type Config struct {
	Addr         string // listen address, default 127.0.0.1:8080
	AuditDSN     string // "" is audit_trail.sqlite3
	AppDSN       string // application database, default app.sqlite3
	DemoUser     string // default admin
	DemoPassword string // default admin
	// JWTSecret signs the API's tokens (HS256). Empty: a random key is
	// generated at start, with a warning, and tokens die with the process.
	JWTSecret string
	// BcryptCost hashes the demo password; 0 is bcrypt.DefaultCost (tests
	// use bcrypt.MinCost).
	BcryptCost int
	// Audit is extra audit configuration; its DSN is taken from AuditDSN
	// when it has no DB and no DSN of its own. Tests use it.
	Audit audit.Options
}

// ConfigFromEnv reads ADDR, AUDIT_DSN, APP_DSN, DEMO_USER, DEMO_PASSWORD,
// JWT_SECRET, and AUDIT_INTEGRITY=1 (seal every batch) with
// AUDIT_SIGNING_KEY (the Ed25519 key file that signs the digests, which
// turns integrity on too; see docs/INTEGRITY.md).
func ConfigFromEnv() Config {
	return Config{
		Audit: audit.Options{Integrity: repository.Integrity{
			Enabled:        os.Getenv("AUDIT_INTEGRITY") == "1",
			SigningKeyFile: os.Getenv("AUDIT_SIGNING_KEY"),
		}},
		Addr:         envOr("ADDR", "127.0.0.1:8080"),
		AuditDSN:     os.Getenv("AUDIT_DSN"),
		AppDSN:       envOr("APP_DSN", "app.sqlite3"),
		DemoUser:     envOr("DEMO_USER", "admin"),
		DemoPassword: envOr("DEMO_PASSWORD", "admin"),
		JWTSecret:    os.Getenv("JWT_SECRET"),
	}
}

// AuditDSNOrDefault names the audit database for logs.
func (c Config) AuditDSNOrDefault() string {
	if c.AuditDSN == "" {
		return "audit_trail.sqlite3"
	}
	if i := strings.Index(c.AuditDSN, "@"); i > 0 && strings.Contains(c.AuditDSN, "://") {
		return c.AuditDSN[:strings.Index(c.AuditDSN, "://")+3] + "***" + c.AuditDSN[i:] // hide credentials
	}
	return c.AuditDSN
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// App is the running demo: its router, its own database and the trail.
type App struct {
	Router *gin.Engine
	DB     *gorm.DB     // the application's database (products, users)
	Trail  *audit.Trail // the audit trail, on its own database
	// JWT is the API's gin-jwt middleware (POST /api/token/ issues its
	// tokens): JWT.MiddlewareFunc() guards a route, AdminOnly after it
	// requires the admin.
	JWT *jwt.GinJWTMiddleware

	userName func(ctx context.Context, id string) (string, error) // names users in the admin
}

// New opens both databases and builds the router.
func New(cfg Config) (*App, error) {
	if cfg.AppDSN == "" {
		cfg.AppDSN = "app.sqlite3"
	}
	db, err := openAppDB(cfg.AppDSN)
	if err != nil {
		return nil, err
	}
	if err := db.AutoMigrate(&Product{}); err != nil {
		return nil, fmt.Errorf("demo: migrate app database: %w", err)
	}
	login, err := newAuth(db, cfg)
	if err != nil {
		return nil, err
	}
	opts := login.auditOptions(cfg.Audit)
	if opts.DB == nil && opts.DSN == "" {
		opts.DSN = cfg.AuditDSN
	}
	if opts.DB == nil {
		if err := createPostgresDatabase(opts.DSN); err != nil {
			return nil, err
		}
	}
	trail, err := audit.Open(opts)
	if err != nil {
		return nil, err
	}
	app := &App{DB: db, Trail: trail, JWT: login.mw, userName: login.userName}

	if gin.Mode() == gin.DebugMode && os.Getenv("GIN_MODE") == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	r := gin.New()
	// The access log masks secrets in the path and query like the trail
	// (gin.Logger() would print ?password=... as sent), and no request body
	// is read past MaxRequestBody, whatever route binds it.
	r.Use(gin.LoggerWithFormatter(trail.LogFormatter()), gin.Recovery(), limitBody(MaxRequestBody), trail.Middleware())
	// Behind a reverse proxy, list it here; with none, the client IP is the
	// TCP peer and X-Forwarded-For is ignored.
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	app.Router = r

	api := r.Group("/api")
	api.GET("/ping/", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok"}) })
	api.GET("/boom/", func(c *gin.Context) { panic("boom: the demo's deliberate failure") })
	products := productHandlers{db: db}
	products.mount(api, login.mount(api))
	if err := app.mountAdmin(r); err != nil { // the audit viewer on /admin/audit/ (admin.go)
		return nil, err
	}
	return app, nil
}

// MaxRequestBody is the largest request body the demo reads: a larger one
// makes binding fail (400, or a failed login) instead of filling memory.
const MaxRequestBody = 1 << 20

// limitBody bounds every request body to max bytes (http.MaxBytesReader).
func limitBody(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil && c.Request.Body != http.NoBody {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		}
		c.Next()
	}
}

// Close drains the audit trail and closes the application database.
func (a *App) Close(ctx context.Context) error {
	err := a.Trail.Close(ctx)
	if sqlDB, e := a.DB.DB(); e == nil {
		_ = sqlDB.Close()
	}
	return err
}

func openAppDB(dsn string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: logger.Discard}
	var d gorm.Dialector
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		d = postgres.Open(dsn)
	} else {
		// The users' password hashes live here: readable by the owner only.
		if f, err := os.OpenFile(dsn, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			_ = f.Close()
		}
		d = sqlite.Open(dsn + "?_journal_mode=WAL&_busy_timeout=5000")
	}
	db, err := gorm.Open(d, cfg)
	if err != nil {
		return nil, fmt.Errorf("demo: open app database: %w", err)
	}
	return db, nil
}
