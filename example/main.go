// Command example is the demo application of the audit trail: a small
// product API, mirroring drf-audit-trail's Django demo project, with every
// /api/ request audited into audit_trail.sqlite3 (or AUDIT_DSN).
//
//	go run ./example            # listens on 127.0.0.1:8080
//	go run ./example -addr 127.0.0.1:9000
//
// Environment: ADDR, AUDIT_DSN (empty: audit_trail.sqlite3; postgres://...:
// PostgreSQL), APP_DSN (default app.sqlite3), DEMO_USER and DEMO_PASSWORD
// (default admin / admin), JWT_SECRET (default: a random key per start, so
// tokens do not survive a restart), AUDIT_INTEGRITY=1 (a tamper-evident
// trail: every batch sealed by a digest) and AUDIT_SIGNING_KEY (an Ed25519
// key file, from `audit keygen`, that signs the digests; docs/INTEGRITY.md).
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-audit-trail/audit/example/demo"
)

func main() {
	cfg := demo.ConfigFromEnv()
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (also $ADDR)")
	flag.Parse()

	app, err := demo.New(cfg)
	if err != nil {
		slog.Error("demo: cannot start", "error", err)
		os.Exit(1)
	}
	srv := &http.Server{Addr: cfg.Addr, Handler: app.Router, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		slog.Info("demo: listening", "addr", "http://"+cfg.Addr, "audit_db", cfg.AuditDSNOrDefault())
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("demo: server failed", "error", err)
			stop()
		}
	}()
	<-ctx.Done()

	slog.Info("demo: shutting down, draining the audit trail")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		slog.Error("demo: http shutdown", "error", err)
	}
	if err := app.Close(shutdownCtx); err != nil {
		slog.Error("demo: audit drain", "error", err)
		os.Exit(1)
	}
	slog.Info("demo: audit trail drained", "stats", app.Trail.Stats())
}
