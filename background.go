package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gin-audit-trail/audit/repository"
	"gorm.io/gorm"
)

// periodic is a background job of the trail (retention passes, partitions
// created ahead): its first pass runs once ready is closed (the audit
// database is connected and migrated), then one every interval, until
// Close.
type periodic struct {
	what   string
	cancel context.CancelFunc
	done   chan struct{}
}

func startPeriodic(what string, ready <-chan struct{}, interval time.Duration, pass func(ctx context.Context)) *periodic {
	ctx, cancel := context.WithCancel(context.Background())
	p := &periodic{what: what, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if ready != nil {
			select {
			case <-ready:
			case <-ctx.Done():
				return
			}
		}
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
			pass(ctx)
			timer.Reset(interval)
		}
	}()
	return p
}

// Close stops the job: a pass in flight is cancelled, and Close waits for
// it to return, or for ctx.
func (p *periodic) Close(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.cancel()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("audit: %s still running: %w", p.what, ctx.Err())
	}
}

// startRetention runs retention passes every r.Interval. Of several
// instances sharing a database, one runs each pass; the others skip it.
func startRetention(db *gorm.DB, r repository.Retention, ready <-chan struct{}, log *slog.Logger) *periodic {
	interval := r.Interval
	if interval <= 0 {
		interval = repository.DefaultRetentionInterval
	}
	return startPeriodic("retention pass", ready, interval, func(ctx context.Context) {
		start := time.Now()
		res, err := repository.RunRetention(ctx, db, r, start.UTC())
		switch {
		case errors.Is(err, repository.ErrRetentionBusy):
			log.Debug("audit: retention pass skipped: another instance runs it")
		case err != nil && ctx.Err() == nil:
			log.Warn("audit: retention pass failed; it is retried at the next interval", "error", err)
		case err == nil:
			log.Info("audit: retention pass done", "requests", res.Deleted[repository.Requests], "logins", res.Deleted[repository.Logins],
				"processes", res.Deleted[repository.Processes], "vacuumed_pages", res.VacuumedPages, "took", time.Since(start).Round(time.Millisecond))
		}
	})
}

// startPartitionKeeper creates the partitions ahead at start and every
// p.CheckInterval.
func startPartitionKeeper(db *gorm.DB, p repository.Partitioning, ready <-chan struct{}, log *slog.Logger) *periodic {
	interval := p.CheckInterval
	if interval <= 0 {
		interval = repository.DefaultPartitionCheckInterval
	}
	return startPeriodic("partition check", ready, interval, func(ctx context.Context) {
		created, err := repository.EnsurePartitions(ctx, db, p, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("audit: creating the partitions ahead failed; retried at the next check", "error", err)
		case len(created) > 0:
			log.Info("audit: partitions created ahead", "partitions", created)
		}
	})
}
