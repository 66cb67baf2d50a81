package main

import (
	"fmt"

	"github.com/gin-audit-trail/audit/repository"
	"github.com/spf13/cobra"
)

func newMigrateCommand(g *globals) *cobra.Command {
	var (
		incrementalVacuum bool
		pf                partitionFlags
	)
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the audit tables (the deploy step when Options.SkipMigration is set)",
		Long: `migrate creates or updates the five audit tables and their indexes, and
nothing else. Any number of instances may run it at once.

--incremental-vacuum switches an existing SQLite file to
auto_vacuum=INCREMENTAL, so that retention gives deleted space back to the
file system: it rewrites the file (VACUUM) and holds it meanwhile, so run
it during maintenance. New SQLite files get it without asking.

--partition daily|monthly creates the tables of a new PostgreSQL database
partitioned by datetime, and the partitions ahead (run it from cron where
no trail with Options.Partitioning runs); it refuses an existing
unpartitioned database: convert that one with 'audit partition migrate'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, closeDB, err := g.open(true)
			if err != nil {
				return err
			}
			defer closeDB()
			ctx := cmd.Context()
			target := repository.TargetOf(db)
			p, err := pf.partitioning()
			if err != nil {
				return err
			}
			if p.Enabled() {
				if err := requirePostgres(db); err != nil {
					return err
				}
			}
			if err := repository.MigratePartitioned(db.WithContext(ctx), p); err != nil {
				return err
			}
			if incrementalVacuum {
				if target.Driver != repository.DriverSQLite {
					return fmt.Errorf("--incremental-vacuum is for SQLite files; %s is not one", target)
				}
				if err := repository.EnableIncrementalVacuum(ctx, db); err != nil {
					return fmt.Errorf("enable incremental vacuum: %w", err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "migrated %s\n", target)
			return nil
		},
	}
	pf.add(cmd, "partition", "PostgreSQL: create new tables partitioned by datetime, daily or monthly")
	cmd.Flags().BoolVar(&incrementalVacuum, "incremental-vacuum", false, "SQLite: switch an existing file to auto_vacuum=INCREMENTAL (rewrites it)")
	return cmd
}
