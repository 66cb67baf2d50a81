package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/gin-audit-trail/audit/repository"
	"github.com/spf13/cobra"
	"gorm.io/gorm"
)

// partitionFlags are the flags that describe a partitioning.
type partitionFlags struct {
	interval string
	ahead    int
	external bool
}

func (f *partitionFlags) add(cmd *cobra.Command, intervalFlag, intervalHelp string) {
	cmd.Flags().StringVar(&f.interval, intervalFlag, "", intervalHelp)
	cmd.Flags().IntVar(&f.ahead, "partitions-ahead", 0, "partitions kept created beyond the current one (default 7 daily, 2 monthly)")
	cmd.Flags().BoolVar(&f.external, "external-partitions", false, "another tool (pg_partman) creates and drops the partitions: create none")
}

// partitioning reads the flags; the zero Partitioning when no interval
// was given.
func (f *partitionFlags) partitioning() (repository.Partitioning, error) {
	iv, err := repository.ParsePartitionInterval(f.interval)
	if err != nil {
		return repository.Partitioning{}, err
	}
	return repository.Partitioning{Interval: iv, Ahead: f.ahead, External: f.external}, nil
}

// requirePostgres refuses a SQLite database for partitioning.
func requirePostgres(db *gorm.DB) error {
	if t := repository.TargetOf(db); t.Driver != repository.DriverPostgres {
		return fmt.Errorf("partitioning is for PostgreSQL audit databases; %s is not one (SQLite needs none: retention deletes in batches and vacuums)", t)
	}
	return nil
}

func newPartitionCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "partition",
		Short: "PostgreSQL time partitioning: status, and the conversion of an unpartitioned database",
		Long: `partition shows and converts the time partitioning of a PostgreSQL audit
database (docs/RETENTION.md). A new database is created partitioned by
'audit migrate --partition daily' or by a trail opened with
Options.Partitioning; an existing one is converted by 'partition migrate'.`,
	}
	cmd.AddCommand(newPartitionStatusCommand(g), newPartitionMigrateCommand(g))
	return cmd
}

func newPartitionStatusCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show, per audit table, whether it is partitioned, its partitions and the rows of its DEFAULT partition",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, closeDB, err := g.open(false)
			if err != nil {
				return err
			}
			defer closeDB()
			if err := requirePostgres(db); err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			for _, k := range repository.Kinds() {
				ok, err := repository.IsPartitioned(ctx, db, k)
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintf(out, "%s: not partitioned\n", k.Table())
					continue
				}
				parts, err := repository.Partitions(ctx, db, k.Table())
				if err != nil {
					return err
				}
				var ranges int
				var first, last time.Time
				def := "no DEFAULT partition"
				for _, p := range parts {
					if p.Default {
						def = fmt.Sprintf("DEFAULT partition %s: %d rows", p.Name, p.Rows)
						continue
					}
					if ranges == 0 {
						first = p.From
					}
					last = p.To
					ranges++
				}
				if ranges == 0 {
					fmt.Fprintf(out, "%s: partitioned, no range partition; %s\n", k.Table(), def)
					continue
				}
				fmt.Fprintf(out, "%s: partitioned, %d range partitions from %s to %s (%s ahead); %s\n", k.Table(), ranges,
					first.Format(time.DateOnly), last.Format(time.DateOnly), time.Until(last).Round(time.Hour), def)
			}
			return nil
		},
	}
}

func newPartitionMigrateCommand(g *globals) *cobra.Command {
	var (
		pf        partitionFlags
		batchRows int
		dropOld   bool
	)
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Convert the unpartitioned audit tables of a PostgreSQL database to partitioned ones",
		Long: `partition migrate converts the five audit tables to tables partitioned by
datetime, while the applications go on writing (with Options.Partitioning
unset until it ends: a trail that has it set refuses the unpartitioned
tables).

It creates <table>_new, partitioned, with the same columns and indexes,
its DEFAULT partition and the partitions that hold the existing rows (with
daily partitions, the months before the previous one get monthly
partitions); a trigger mirrors every new row into it; the existing rows are
copied in batches, oldest first; then, in one short transaction that holds
the five tables exclusively (writes and reads wait for milliseconds), the
old tables are renamed <table>_unpartitioned (or dropped with --drop-old)
and the new ones take their names. It needs the disk space of a second
copy of the tables, and takes about as long as writing them again. If it
stops, the old tables stay in use and whole; run it again to start over.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := pf.partitioning()
			if err != nil {
				return err
			}
			if !p.Enabled() {
				return errors.New("give --interval daily or --interval monthly")
			}
			db, closeDB, err := g.open(false)
			if err != nil {
				return err
			}
			defer closeDB()
			if err := requirePostgres(db); err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			var total int64
			for _, k := range repository.Kinds() {
				n, err := repository.EstimateRows(ctx, db, k.Table())
				if err != nil {
					return err
				}
				total += n
			}
			bar := newProgress(cmd.ErrOrStderr(), "copy", "rows", total, g.progressInterval)
			res, err := repository.ConvertToPartitioned(ctx, db, repository.ConvertOptions{
				Partitioning: p, BatchRows: batchRows, DropOld: dropOld,
				Progress: func(_ repository.Kind, n int64) { bar.Add(n) },
			})
			bar.Finish()
			if err != nil {
				return err
			}
			if len(res.Copied) == 0 {
				fmt.Fprintln(out, "the audit tables are partitioned already")
				return nil
			}
			for _, k := range repository.Kinds() {
				if n, ok := res.Copied[k]; ok {
					fmt.Fprintf(out, "%s: partitioned %s, %d rows copied\n", k.Table(), p.Interval, n)
				}
			}
			for _, name := range res.Kept {
				fmt.Fprintf(out, "kept the old table as %s: drop it once checked (DROP TABLE %s)\n", name, name)
			}
			fmt.Fprintln(out, "now set Options.Partitioning on every instance")
			return nil
		},
	}
	pf.add(cmd, "interval", "partition interval: daily or monthly (required)")
	cmd.Flags().IntVar(&batchRows, "batch-rows", repository.DefaultConvertBatchRows, "rows per copy statement")
	cmd.Flags().BoolVar(&dropOld, "drop-old", false, "drop the unpartitioned tables after the swap instead of keeping them as <table>_unpartitioned")
	_ = cmd.MarkFlagRequired("interval")
	return cmd
}
