package demo

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
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
	err = ping(dsn)
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return nil // it exists, or audit.Open reports the real problem
	}
	u.Path = "/postgres"
	server, err := gorm.Open(postgres.Open(u.String()), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return fmt.Errorf("demo: create audit database %q: %w", name, err)
	}
	defer closeDB(server)
	quoted := `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	if err := server.Exec("CREATE DATABASE " + quoted).Error; err != nil {
		return fmt.Errorf("demo: create audit database %q: %w", name, err)
	}
	return nil
}

func ping(dsn string) error {
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	closeDB(db)
	return nil
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}
