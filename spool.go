package audit

import (
	"net/url"
	"path/filepath"
	"strings"

	"github.com/gin-audit-trail/audit/repository"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// DefaultSpoolDir is the parent of the default spool directories of
// PostgreSQL audit databases, in the working directory.
const DefaultSpoolDir = "audit_spool"

// spoolConfig resolves the spool of a trail: Options.Spool, else
// Options.Writer.Spool, with the default directory for the audit database.
func spoolConfig(opts Options, db *gorm.DB) repository.SpoolConfig {
	sc := opts.Spool
	if sc == (repository.SpoolConfig{}) {
		sc = opts.Writer.Spool
	}
	if sc.Disabled || sc.Dir != "" {
		return sc
	}
	sc.Dir = defaultSpoolDir(opts.DSN, db)
	if sc.Dir == "" {
		sc.Disabled = true // in-memory database: nothing to keep across a crash
	}
	return sc
}

// defaultSpoolDir names the spool of an audit database: next to a SQLite
// file, or under DefaultSpoolDir, keyed by server and database, for
// PostgreSQL. "" (no spool) for in-memory SQLite.
func defaultSpoolDir(dsn string, db *gorm.DB) string {
	if dsn == "" && db != nil {
		switch d := db.Dialector.(type) {
		case *sqlite.Dialector:
			dsn = d.DSN
			if dsn == "" {
				return ""
			}
		case *postgres.Dialector:
			dsn = d.Config.DSN
		}
	}
	name := "sqlite" // repository.Open's reading of a DSN
	if db != nil {
		name = db.Dialector.Name()
	}
	if repository.IsPostgresDSN(dsn) || name == "postgres" {
		return filepath.Join(DefaultSpoolDir, postgresKey(dsn))
	}
	if name != "sqlite" && dsn == "" {
		return filepath.Join(DefaultSpoolDir, safeName(name))
	}
	path := dsn
	if path == "" {
		path = repository.DefaultSQLitePath
	}
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		if strings.Contains(path[i:], "mode=memory") {
			return ""
		}
		path = path[:i]
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, ":memory:") {
		return ""
	}
	return path + ".spool"
}

// postgresKey is host-port-database of a PostgreSQL DSN (URL or key=value),
// without credentials.
func postgresKey(dsn string) string {
	host, port, dbname := "localhost", "5432", "postgres"
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if h := u.Hostname(); h != "" {
			host = h
		}
		if p := u.Port(); p != "" {
			port = p
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			dbname = p
		}
	} else {
		for _, kv := range strings.Fields(dsn) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "host":
				host = v
			case "port":
				port = v
			case "dbname":
				dbname = v
			}
		}
	}
	return safeName(host + "-" + port + "-" + dbname)
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
