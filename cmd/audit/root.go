package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gin-audit-trail/audit/repository"
	"github.com/spf13/cobra"
	"gorm.io/gorm"
)

// dsnEnv is the environment variable read when --dsn is not given.
const dsnEnv = "AUDIT_DSN"

// globals are the flags every command shares.
type globals struct {
	dsn              string
	progressInterval time.Duration
}

func newRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "audit",
		Short: "Migrate, purge, export, verify and inspect an audit database",
		Long: `audit works on the audit database of github.com/gin-audit-trail/audit.

The database is named by --dsn, or by the environment variable AUDIT_DSN,
as Options.DSN: a SQLite file path (default audit_trail.sqlite3), or a
postgres:// URL (or a key=value string with host=).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.dsn, "dsn", os.Getenv(dsnEnv), "audit database: a SQLite file or a postgres:// URL (default $"+dsnEnv+", else "+repository.DefaultSQLitePath+")")
	root.PersistentFlags().DurationVar(&g.progressInterval, "progress-interval", 5*time.Second, "time between two progress lines when stderr is not a terminal")
	_ = root.PersistentFlags().MarkHidden("progress-interval")
	root.AddCommand(newMigrateCommand(g), newPurgeCommand(g), newExportCommand(g), newStatsCommand(g), newSpoolCommand(g),
		newVerifyCommand(g), newKeygenCommand(), newPartitionCommand(g))
	return root
}

// open opens the audit database. Only migrate may create a SQLite file:
// the other commands refuse a path where no file is.
func (g *globals) open(create bool) (*gorm.DB, func(), error) {
	target, err := repository.ParseDSN(g.dsn)
	if err != nil {
		return nil, nil, err
	}
	if target.Driver == repository.DriverSQLite && target.Path != "" && !create {
		if _, err := os.Stat(target.Path); errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("no audit database at %s (give --dsn or %s)", target.Path, dsnEnv)
		}
	}
	db, err := repository.Open(g.dsn)
	if err != nil {
		return nil, nil, err
	}
	closeDB := func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
	return db, closeDB, nil
}
