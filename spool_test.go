package audit

import (
	"path/filepath"
	"testing"
)

func TestDefaultSpoolDir(t *testing.T) {
	for dsn, want := range map[string]string{
		"":                           "audit_trail.sqlite3.spool",
		"/var/lib/app/audit.db":      "/var/lib/app/audit.db.spool",
		"file:audit.db?_fk=1":        "audit.db.spool",
		":memory:":                   "",
		"file::memory:?cache=shared": "",
		"file:x?mode=memory":         "",
		"postgres://u:pw@db.example:6543/audit?sslmode=disable": filepath.Join(DefaultSpoolDir, "db.example-6543-audit"),
		"host=10.0.0.7 user=u password=pw dbname=trail":         filepath.Join(DefaultSpoolDir, "10.0.0.7-5432-trail"),
	} {
		if got := defaultSpoolDir(dsn, nil); got != want {
			t.Errorf("defaultSpoolDir(%q) = %q, want %q", dsn, got, want)
		}
	}
}

func TestSpoolOptions(t *testing.T) {
	opts := Options{DSN: "a.db"}
	if got := spoolConfig(opts, nil).Dir; got != "a.db.spool" {
		t.Fatalf("default dir %q", got)
	}
	opts.Spool.Disabled = true
	if sc := spoolConfig(opts, nil); sc.Dir != "" {
		t.Fatalf("disabled spool has dir %q", sc.Dir)
	}
	opts = Options{DSN: "a.db"}
	opts.Writer.Spool.Dir = "elsewhere"
	if got := spoolConfig(opts, nil).Dir; got != "elsewhere" {
		t.Fatalf("Writer.Spool.Dir ignored: %q", got)
	}
}
