package demo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// reachTimeout bounds each connection attempt: a server that is down or
// hung must not hold up the demo's start (the trail spools until it
// answers). createTimeout bounds CREATE DATABASE, once the server answered.
const (
	reachTimeout  = time.Second
	createTimeout = 30 * time.Second
)

// createPostgresDatabase creates the database that a postgres:// DSN names
// when the server answers that it does not exist, so that
// `AUDIT_DSN=postgres://postgres@127.0.0.1:5432/audit go run ./example`
// works on a fresh server. It connects to the server's "postgres" database
// with the same credentials to do so. Other DSNs, and databases that
// exist, are left alone. This is the demo's convenience: the library itself
// never creates databases.
func createPostgresDatabase(dsn string) error {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("demo: audit DSN: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
	defer cancel()
	conn, err := pgconn.Connect(ctx, dsn)
	if err == nil {
		_ = conn.Close(context.Background())
	}
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return nil // it exists, or the server is not reachable now: audit.Open handles that
	}
	u.Path = "/postgres"
	server, err := pgconn.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("demo: create audit database %q: %w", name, err)
	}
	defer server.Close(context.Background())
	ctx, cancel = context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	quoted := `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	if _, err := server.Exec(ctx, "CREATE DATABASE "+quoted).ReadAll(); err != nil {
		return fmt.Errorf("demo: create audit database %q: %w", name, err)
	}
	return nil
}
