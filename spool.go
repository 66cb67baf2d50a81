package audit

import (
	"path/filepath"

	"github.com/gin-audit-trail/audit/repository"
	"gorm.io/gorm"
)

// DefaultSpoolDir is the parent of the default spool directories of
// PostgreSQL audit databases, in the working directory.
const DefaultSpoolDir = "audit_spool"

// spoolConfig resolves the spool of a trail: Options.Writer.Spool, with the
// default directory for the audit database when it names none.
func spoolConfig(opts Options, db *gorm.DB) repository.SpoolConfig {
	sc := opts.Writer.Spool
	if sc.Disabled || sc.Dir != "" {
		return sc
	}
	sc.Dir = defaultSpoolDir(repository.TargetOf(db))
	if sc.Dir == "" {
		sc.Disabled = true // in-memory database: nothing to keep across a crash
	}
	return sc
}

// defaultSpoolDir names the spool of an audit database: next to a SQLite
// file, or under DefaultSpoolDir, keyed by server and database, for
// PostgreSQL and other servers. "" (no spool) for in-memory SQLite.
func defaultSpoolDir(t repository.Target) string {
	switch {
	case t.InMemory():
		return ""
	case t.Driver == repository.DriverSQLite:
		return t.Path + ".spool"
	}
	return filepath.Join(DefaultSpoolDir, t.Key())
}
