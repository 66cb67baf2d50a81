package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/spool"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/spf13/cobra"
)

func newSpoolCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "spool",
		Short: "Inspect or replay a spool directory left by a dead instance",
	}
	inspect := &cobra.Command{
		Use:   "inspect DIR",
		Short: "Describe what a spool directory holds, without changing it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sum, err := inspectSpool(args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "spool %s: %d segments, %s\n", args[0], sum.segments, bytesText(sum.bytes))
			fmt.Fprintf(out, "waiting: %d batches, %s\n", sum.records, sum.rows)
			if !sum.oldest.IsZero() {
				fmt.Fprintf(out, "dated from %s to %s\n", timeText(sum.oldest), timeText(sum.newest))
			}
			fmt.Fprintf(out, "dead letters (refused by the database, not replayed): %s\n", sum.dead)
			for _, d := range sum.damaged {
				fmt.Fprintf(out, "damaged: %s\n", d)
			}
			return nil
		},
	}
	var keyPath string
	replay := &cobra.Command{
		Use:   "replay DIR",
		Short: "Write the batches of a spool directory into the audit database, oldest first",
		Long: `replay writes every batch waiting in DIR into the audit database named by
--dsn, oldest first, and removes each segment once written. Writing is
idempotent (rows are keyed by their id), so a batch written twice is
stored once. The directory is locked: a running trail that owns it is
refused. Dead letters are left in place. On a sealed trail (the database
has integrity digests) the batches are sealed as they are written, signed
with --signing-key when given (docs/INTEGRITY.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			before, err := inspectSpool(args[0])
			if err != nil {
				return err
			}
			db, closeDB, err := g.open(false)
			if err != nil {
				return err
			}
			defer closeDB()
			sp, err := spool.Open(args[0], spool.Options{})
			if errors.Is(err, spool.ErrLocked) {
				return fmt.Errorf("%s is in use by a running writer: it replays it itself", args[0])
			}
			if err != nil {
				return err
			}
			defer sp.Close()
			ctx := cmd.Context()
			seal, err := trailSealer(ctx, db, keyPath, "spool replay", cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			store := writer.GormStore{DB: db, Integrity: seal}
			bar := newProgress(cmd.ErrOrStderr(), "replay", "batches", before.records, g.progressInterval)
			var batches, rows int64
			for {
				payload, next, err := sp.Peek()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return fmt.Errorf("read spool: %w", err)
				}
				items, err := writer.DecodeSpoolRecord(payload)
				if err != nil {
					return err
				}
				for _, b := range items {
					if err := store.WriteBatch(ctx, b); err != nil {
						return fmt.Errorf("write batch %d: %w (the rest stays in the spool)", batches+1, err)
					}
					rows += int64(b.Len())
				}
				if err := sp.Pop(next); err != nil {
					return err
				}
				batches++
				bar.Add(1)
			}
			bar.Finish()
			fmt.Fprintf(cmd.OutOrStdout(), "replayed %d batches, %d rows into %s\n", batches, rows, repository.TargetOf(db))
			return nil
		},
	}
	replay.Flags().StringVar(&keyPath, "signing-key", "", "Ed25519 private key that signs the digests of a sealed trail")
	cmd.AddCommand(inspect, replay)
	return cmd
}

// rowCounts counts rows per kind.
type rowCounts map[repository.Kind]int64

func (c rowCounts) add(b *entities.Batch) {
	c[repository.Requests] += int64(len(b.Requests))
	c[repository.Logins] += int64(len(b.Logins))
	c[repository.Processes] += int64(len(b.Processes))
	c[repository.Steps] += int64(len(b.Steps))
	c[repository.Registrations] += int64(len(b.Registrations))
}

func (c rowCounts) total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

func (c rowCounts) String() string {
	parts := []string{fmt.Sprintf("%d rows", c.total())}
	for _, k := range repository.Kinds() {
		if c[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// spoolSummary is what a spool directory holds.
type spoolSummary struct {
	segments       int
	bytes, records int64
	rows, dead     rowCounts
	oldest, newest time.Time
	damaged        []string
}

// inspectSpool reads a spool directory without opening it as a spool (which
// would lock and repair it): segment files one at a time, each at most a
// segment's size in memory.
func inspectSpool(dir string) (*spoolSummary, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		return nil, err
	}
	sort.Strings(segs)
	sum := &spoolSummary{rows: rowCounts{}, dead: rowCounts{}}
	note := func(b *entities.Batch) {
		for _, r := range b.Requests {
			sum.see(r.Datetime)
		}
		for _, r := range b.Logins {
			sum.see(r.Datetime)
		}
		for _, r := range b.Processes {
			sum.see(r.Datetime)
		}
	}
	for _, path := range segs {
		sum.segments++
		if st, err := os.Stat(path); err == nil {
			sum.bytes += st.Size()
		}
		err := spool.ReadFile(path, func(p []byte) error {
			items, err := writer.DecodeSpoolRecord(p)
			if err != nil {
				return err
			}
			sum.records++
			for _, b := range items {
				sum.rows.add(b)
				note(b)
			}
			return nil
		})
		if err != nil {
			sum.damaged = append(sum.damaged, fmt.Sprintf("%s: %v", filepath.Base(path), err))
		}
	}
	deadPath := filepath.Join(dir, writer.DeadLetterFile)
	if _, err := os.Stat(deadPath); err == nil {
		err := spool.ReadFile(deadPath, func(p []byte) error {
			items, err := writer.DecodeSpoolRecord(p)
			if err != nil {
				return err
			}
			for _, b := range items {
				sum.dead.add(b)
			}
			return nil
		})
		if err != nil {
			sum.damaged = append(sum.damaged, fmt.Sprintf("%s: %v", writer.DeadLetterFile, err))
		}
	}
	corrupt, _ := filepath.Glob(filepath.Join(dir, "*.corrupt"))
	for _, c := range corrupt {
		sum.damaged = append(sum.damaged, filepath.Base(c)+": damaged bytes kept aside")
	}
	return sum, nil
}

func (s *spoolSummary) see(t time.Time) {
	if s.oldest.IsZero() || t.Before(s.oldest) {
		s.oldest = t
	}
	if t.After(s.newest) {
		s.newest = t
	}
}
