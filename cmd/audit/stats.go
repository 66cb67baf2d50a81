package main

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/spf13/cobra"
)

func newStatsCommand(g *globals) *cobra.Command {
	var spoolDir string
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Rows per table, oldest and newest, size on disk, spool state",
		Long: `stats describes the audit database: per table its exact row count, its
oldest and newest datetime and (PostgreSQL) its size with indexes; the
database's size on disk; and the spool directories of the database's
default spool (--spool to name another one) with what they hold.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, closeDB, err := g.open(false)
			if err != nil {
				return err
			}
			defer closeDB()
			ctx := cmd.Context()
			stats, err := query.TableStats(ctx, db)
			if err != nil {
				return err
			}
			size, err := query.DatabaseBytes(ctx, db)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			target := repository.TargetOf(db)
			fmt.Fprintf(out, "database %s, %s on disk\n\n", target, bytesText(size))
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TABLE\tROWS\tOLDEST\tNEWEST\tSIZE")
			for _, s := range stats {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", s.Kind, s.Rows, timeText(s.Oldest), timeText(s.Newest), bytesText(s.Bytes))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if spoolDir == "" {
				spoolDir = defaultSpoolDir(target)
			}
			fmt.Fprintln(out)
			return printSpoolState(out, spoolDir)
		},
	}
	cmd.Flags().StringVar(&spoolDir, "spool", "", "spool directory (default: the database's default spool)")
	return cmd
}

// defaultSpoolDir is the spool a trail uses by default for target (see
// Options.Writer): "<file>.spool" beside a SQLite file, or
// audit_spool/<host>-<port>-<database> in the working directory.
func defaultSpoolDir(t repository.Target) string {
	switch {
	case t.InMemory():
		return ""
	case t.Driver == repository.DriverSQLite:
		return t.Path + ".spool"
	}
	return filepath.Join("audit_spool", t.Key())
}

// spoolSlots lists dir and its sibling slots dir-2 ... dir-16 that exist
// (writers sharing a spool directory each lock one of them).
func spoolSlots(dir string) []string {
	var out []string
	for i := 1; i <= 16; i++ {
		d := dir
		if i > 1 {
			d = fmt.Sprintf("%s-%d", dir, i)
		}
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

func printSpoolState(out interface{ Write([]byte) (int, error) }, dir string) error {
	if dir == "" {
		fmt.Fprintln(out, "spool: none (in-memory database)")
		return nil
	}
	slots := spoolSlots(dir)
	if len(slots) == 0 {
		fmt.Fprintf(out, "spool %s: absent (nothing waiting)\n", dir)
		return nil
	}
	for _, d := range slots {
		sum, err := inspectSpool(d)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "spool %s: %d batches, %d rows waiting, %s in %d segments; dead letters: %d rows\n",
			d, sum.records, sum.rows.total(), bytesText(sum.bytes), sum.segments, sum.dead.total())
	}
	return nil
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func bytesText(n int64) string {
	switch {
	case n < 0:
		return "-"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}
