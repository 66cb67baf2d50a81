package repository

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// DefaultSQLitePath is the embedded audit database used when no DSN and no
// *gorm.DB are given.
const DefaultSQLitePath = "audit_trail.sqlite3"

// Drivers of a Target.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Target is the audit database a DSN or a *gorm.DB names, without
// credentials: what a log line, a spool directory or an operator may see.
type Target struct {
	// Driver is DriverSQLite, DriverPostgres, or the name of another GORM
	// dialector given as Options.DB.
	Driver string
	// Path is the SQLite file, "" for an in-memory SQLite database.
	Path string
	// Host, Port and Database name a PostgreSQL database (the first host
	// of a DSN that lists several).
	Host     string
	Port     uint16
	Database string
}

// urlScheme matches the scheme of a URL-shaped DSN ("mysql://...").
var urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// IsPostgresDSN reports whether dsn names a PostgreSQL server: it starts
// with postgres:// or postgresql://, or it is a key=value string with a
// host= key. Any other DSN names a SQLite file.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.Contains(dsn, "host=")
}

// ParseDSN reads an audit DSN (see Open) without connecting. It fails on a
// DSN that can never work: a PostgreSQL DSN pgx cannot parse, or a URL
// whose scheme is neither postgres, postgresql nor file (SQLite URIs).
func ParseDSN(dsn string) (Target, error) {
	if IsPostgresDSN(dsn) {
		cfg, err := pgconn.ParseConfig(dsn)
		if err != nil {
			return Target{}, fmt.Errorf("audit: PostgreSQL DSN: %w", err)
		}
		return postgresTarget(cfg), nil
	}
	if m := urlScheme.FindStringSubmatch(dsn); m != nil && !strings.EqualFold(m[1], "file") {
		return Target{}, fmt.Errorf("audit: DSN scheme %q is not supported: use postgres://, postgresql://, host=... or a SQLite file path", m[1])
	}
	return Target{Driver: DriverSQLite, Path: sqlitePath(dsn)}, nil
}

func postgresTarget(cfg *pgconn.Config) Target {
	db := cfg.Database
	if db == "" {
		db = cfg.User // what the server connects to
	}
	return Target{Driver: DriverPostgres, Host: cfg.Host, Port: cfg.Port, Database: db}
}

// sqlitePath is the file of a SQLite DSN, "" when it is in memory.
func sqlitePath(dsn string) string {
	path := dsn
	if path == "" {
		path = DefaultSQLitePath
	}
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		if strings.Contains(path[i:], "mode=memory") {
			return ""
		}
		path = path[:i]
	}
	if path == "" || strings.HasPrefix(path, ":memory:") {
		return ""
	}
	return path
}

// TargetOf names the database of a GORM handle: the DSN of its SQLite or
// PostgreSQL dialector, or just the dialector's name for others (and for a
// PostgreSQL handle built on an existing connection pool).
func TargetOf(db *gorm.DB) Target {
	switch d := db.Dialector.(type) {
	case *sqlite.Dialector:
		if d.Conn == nil || d.DSN != "" { // Open sets both: its DSN names the file
			return Target{Driver: DriverSQLite, Path: sqlitePath(d.DSN)}
		}
	case *postgres.Dialector:
		if d.Conn == nil {
			if cfg, err := pgconn.ParseConfig(d.Config.DSN); err == nil {
				return postgresTarget(cfg)
			}
		}
	}
	return Target{Driver: db.Dialector.Name()}
}

// InMemory reports whether the target is an in-memory SQLite database,
// which nothing outlives.
func (t Target) InMemory() bool { return t.Driver == DriverSQLite && t.Path == "" }

// String names the target for logs, without credentials: the SQLite path,
// or host:port/database.
func (t Target) String() string {
	switch {
	case t.Driver == DriverSQLite && t.Path == "":
		return "sqlite :memory:"
	case t.Driver == DriverSQLite:
		return "sqlite " + t.Path
	case t.Host != "":
		return fmt.Sprintf("%s %s:%d/%s", t.Driver, t.Host, t.Port, t.Database)
	}
	return t.Driver
}

// Key is a file-name-safe name of the target: host-port-database for
// PostgreSQL, the driver name for other servers.
func (t Target) Key() string {
	if t.Host == "" {
		return safeName(t.Driver)
	}
	return safeName(t.Host + "-" + strconv.Itoa(int(t.Port)) + "-" + t.Database)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
