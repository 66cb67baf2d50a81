package main

import (
	"fmt"
	"time"

	"github.com/gin-audit-trail/audit/repository"
	"github.com/spf13/cobra"
)

func newPurgeCommand(g *globals) *cobra.Command {
	var (
		olderThan string
		tables    []string
		dryRun    bool
		batchRows int
		keyPath   string
	)
	cmd := &cobra.Command{
		Use:   "purge --older-than AGE [--table T ...] [--dry-run]",
		Short: "Delete rows older than an age, in small batches",
		Long: `purge deletes the rows older than --older-than (90d, 2w, 36h) from the
tables named by --table (requests, logins, processes; default all three),
oldest first, in batches of --batch-rows rows, each its own short
transaction, so that running applications keep writing meanwhile. A
process is deleted with its steps and registrations. It holds the same
lock as the trail's background retention, so the two never run together.
On a SQLite file created with auto_vacuum=INCREMENTAL the freed space then
goes back to the file system.

On a sealed trail (Options.Integrity: the database has digests) every batch
of deletions writes checkpoint digests, so that audit verify accepts the
gap; give --signing-key with the application's key when the trail is
signed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			age, err := parseAge(olderThan)
			if err != nil {
				return err
			}
			kinds, err := purgeKinds(tables)
			if err != nil {
				return err
			}
			db, closeDB, err := g.open(false)
			if err != nil {
				return err
			}
			defer closeDB()
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			before := time.Now().UTC().Add(-age)
			counts := make(map[repository.Kind]int64, len(kinds))
			var total int64
			for _, k := range kinds {
				n, err := repository.CountOlder(ctx, db, k, before)
				if err != nil {
					return err
				}
				counts[k] = n
				total += n
			}
			if dryRun {
				for _, k := range kinds {
					fmt.Fprintf(out, "%s: %d rows older than %s would be deleted\n", k, counts[k], before.Format(time.RFC3339))
				}
				return nil
			}
			release, err := repository.LockRetention(ctx, db)
			if err != nil {
				return err
			}
			defer release()
			seal, err := trailSealer(ctx, db, keyPath, "purge", cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			bar := newProgress(cmd.ErrOrStderr(), "purge", "rows", total, g.progressInterval)
			p := repository.Purger{DB: db, BatchRows: batchRows, Pause: repository.DefaultPurgePause,
				Progress: func(_ repository.Kind, n int64) { bar.Add(n) }, Integrity: seal}
			for _, k := range kinds {
				n, err := p.PurgeOlder(ctx, k, before)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s: deleted %d rows older than %s\n", k, n, before.Format(time.RFC3339))
			}
			bar.Finish()
			if repository.TargetOf(db).Driver == repository.DriverSQLite {
				pages, err := repository.IncrementalVacuum(ctx, db, repository.DefaultPurgePause)
				if err != nil {
					return err
				}
				if pages > 0 {
					fmt.Fprintf(out, "sqlite: %d free pages given back to the file system\n", pages)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "", "delete rows older than this age: 90d, 2w, 36h (required)")
	cmd.Flags().StringSliceVar(&tables, "table", nil, "tables to purge: requests, logins, processes (default all three)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count the rows that would be deleted, delete nothing")
	cmd.Flags().IntVar(&batchRows, "batch-rows", repository.DefaultPurgeBatchRows, "rows per DELETE statement")
	cmd.Flags().StringVar(&keyPath, "signing-key", "", "Ed25519 private key that signs the purge's checkpoint digests (a sealed trail; docs/INTEGRITY.md)")
	_ = cmd.MarkFlagRequired("older-than")
	return cmd
}

// purgeKinds reads --table for purge: steps and registrations follow their
// process and cannot be named.
func purgeKinds(tables []string) ([]repository.Kind, error) {
	if len(tables) == 0 {
		return []repository.Kind{repository.Requests, repository.Logins, repository.Processes}, nil
	}
	var out []repository.Kind
	for _, t := range tables {
		k, err := repository.ParseKind(t)
		if err != nil {
			return nil, err
		}
		if k == repository.Steps || k == repository.Registrations {
			return nil, fmt.Errorf("%s follow their process: purge processes instead", k)
		}
		out = append(out, k)
	}
	return out, nil
}
