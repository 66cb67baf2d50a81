package repository_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/repository"
)

// The audit database holds what users did: its file, and the WAL and
// shared-memory files SQLite creates beside it, are readable by their
// owner only.
func TestSQLiteFilesAreCreatedPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit_trail.sqlite3")
	db, err := repository.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := repository.Migrate(db); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&entities.LoginEvent{ID: entities.NewID(), Status: entities.LoginFailed}).Error; err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(name), mode)
		}
	}
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}
