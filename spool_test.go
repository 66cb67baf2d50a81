package audit

import (
	"path/filepath"
	"testing"

	"github.com/gin-audit-trail/audit/repository"
)

func TestDefaultSpoolDir(t *testing.T) {
	for dsn, want := range map[string]string{
		"":                           "audit_trail.sqlite3.spool",
		"/var/lib/app/audit.db":      "/var/lib/app/audit.db.spool",
		"file:audit.db?_fk=1":        "audit.db.spool",
		":memory:":                   "",
		"file::memory:?cache=shared": "",
		"file:x?mode=memory":         "",
		"postgres://u:pw@db.example:6543/audit?sslmode=disable":   filepath.Join(DefaultSpoolDir, "db.example-6543-audit"),
		"host=10.0.0.7 user=u password=pw dbname=trail":           filepath.Join(DefaultSpoolDir, "10.0.0.7-5432-trail"),
		"host=10.0.0.7 user=u password='p w=x' dbname='my trail'": filepath.Join(DefaultSpoolDir, "10.0.0.7-5432-my_trail"),
	} {
		target, err := repository.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("ParseDSN(%q): %v", dsn, err)
		}
		if got := defaultSpoolDir(target); got != want {
			t.Errorf("defaultSpoolDir(%q) = %q, want %q", dsn, got, want)
		}
	}
}

func TestSpoolOptions(t *testing.T) {
	db, err := repository.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	target := repository.TargetOf(db)
	if got := spoolConfig(Options{}, db).Dir; got != target.Path+".spool" {
		t.Fatalf("default dir %q, want %q", got, target.Path+".spool")
	}
	var opts Options
	opts.Writer.Spool.Disabled = true
	if sc := spoolConfig(opts, db); sc.Dir != "" || !sc.Disabled {
		t.Fatalf("disabled spool: %+v", sc)
	}
	opts = Options{}
	opts.Writer.Spool.Dir = "elsewhere"
	if got := spoolConfig(opts, db).Dir; got != "elsewhere" {
		t.Fatalf("Writer.Spool.Dir ignored: %q", got)
	}
}
