package repository_test

import (
	"strings"
	"testing"

	"github.com/gin-audit-trail/audit/repository"
)

func TestParseDSN(t *testing.T) {
	for dsn, want := range map[string]repository.Target{
		"":                      {Driver: "sqlite", Path: "audit_trail.sqlite3"},
		"/var/lib/app/audit.db": {Driver: "sqlite", Path: "/var/lib/app/audit.db"},
		"file:audit.db?_fk=1":   {Driver: "sqlite", Path: "audit.db"},
		":memory:":              {Driver: "sqlite"},
		"file:x?mode=memory":    {Driver: "sqlite"},
		"postgres://u:pw@db.example:6543/audit?sslmode=disable": {Driver: "postgres", Host: "db.example", Port: 6543, Database: "audit"},
		"postgresql://u@db.example/audit":                       {Driver: "postgres", Host: "db.example", Port: 5432, Database: "audit"},
		// Quoted values with spaces and '=' (strings.Fields used to break them).
		"host=10.0.0.7 user=u password='p w=x' dbname='my trail'": {Driver: "postgres", Host: "10.0.0.7", Port: 5432, Database: "my trail"},
		// No dbname: the server connects to the user's database.
		"host=10.0.0.7 port=6000 user=auditor": {Driver: "postgres", Host: "10.0.0.7", Port: 6000, Database: "auditor"},
	} {
		got, err := repository.ParseDSN(dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", dsn, err)
			continue
		}
		if got != want {
			t.Errorf("ParseDSN(%q) = %+v, want %+v", dsn, got, want)
		}
		if s := got.String(); strings.Contains(s, "pw") || strings.Contains(s, "p w") {
			t.Errorf("Target.String() shows a password: %q", s)
		}
	}
}

// DSNs that can never work are errors before any connection is tried.
func TestParseDSNRejects(t *testing.T) {
	for _, dsn := range []string{
		"mysql://u:pw@db.example/audit",
		"postgres://u:pw@db.example:notaport/audit",
		"host=10.0.0.7 dbname='unterminated",
		"host=10.0.0.7 sslmode=sometimes",
	} {
		if _, err := repository.ParseDSN(dsn); err == nil {
			t.Errorf("ParseDSN(%q) accepted a DSN that cannot work", dsn)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("ParseDSN(%q) error shows the password: %v", dsn, err)
		}
		if _, err := repository.Open(dsn); err == nil {
			t.Errorf("Open(%q) accepted a DSN that cannot work", dsn)
		}
	}
}
