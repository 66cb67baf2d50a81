package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-audit-trail/audit/internal/tcpproxy"
	"github.com/gin-audit-trail/audit/repository"
)

// fault makes the audit database fail, then recover.
type fault interface {
	start() error
	stop() error
}

// proxyFault cuts the TCP proxy between the trail and PostgreSQL: the
// server keeps running for everyone else.
type proxyFault struct{ p *tcpproxy.Proxy }

func (f proxyFault) start() error { f.p.Cut(); return nil }
func (f proxyFault) stop() error  { return f.p.Restore() }

// pgStopFault really stops the PostgreSQL cluster (every client of the
// server sees it go away). Never used by `go test ./...`.
type pgStopFault struct{}

func pgCluster(action string) error {
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(entries) == 0 {
		return fmt.Errorf("pg_ctlcluster: no cluster under /etc/postgresql: %v", err)
	}
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", entries[0].Name(), "main", action).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctlcluster %s: %v: %s", action, err, out)
	}
	return nil
}

func (pgStopFault) start() error { return pgCluster("stop") }
func (pgStopFault) stop() error  { return pgCluster("start") }

// readOnlyFault makes the SQLite audit file and its WAL immutable with
// chattr +i, which refuses writes even to root and even through file
// descriptors SQLite already holds (a plain chmod 0444 does neither).
type readOnlyFault struct{ files []string }

func chattr(flag string, files []string) error {
	var existing []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		}
	}
	out, err := exec.Command("chattr", append([]string{flag}, existing...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("chattr %s: %v: %s", flag, err, out)
	}
	return nil
}

func (f readOnlyFault) start() error { return chattr("+i", f.files) }
func (f readOnlyFault) stop() error  { return chattr("-i", f.files) }

// canChattr reports whether chattr +i works in dir (root on ext4, xfs...).
func canChattr(dir string) error {
	probe := filepath.Join(dir, "chattr-probe")
	if err := os.WriteFile(probe, []byte("x"), 0o600); err != nil {
		return err
	}
	defer os.Remove(probe)
	if err := chattr("+i", []string{probe}); err != nil {
		return err
	}
	defer chattr("-i", []string{probe})
	if err := os.WriteFile(probe, []byte("y"), 0o600); err == nil {
		return fmt.Errorf("chattr +i did not stop writes")
	}
	return nil
}

// outageConfig is one outage run.
type outageConfig struct {
	Backend string        // postgres or sqlite
	Fault   string        // proxy, pg-stop (postgres) or readonly (sqlite)
	Before  time.Duration // load before the fault
	Outage  time.Duration // fault duration, under load
	After   time.Duration // load after the fault
	Rate    int           // requests per second
	Workers int
	Sync    bool // Options.Synchronous
}

// outageReport is what an outage run measured.
type outageReport struct {
	Config   outageConfig     `json:"config"`
	Before   phaseStats       `json:"before"`
	During   phaseStats       `json:"during"`
	After    phaseStats       `json:"after"`
	P99Ratio float64          `json:"p99_ratio"` // during / before
	Counts   comparison       `json:"counts"`
	Stats    repository.Stats `json:"stats"`
	// Verify is the integrity verification of the trail at the end, and
	// VerifyProblems what it found wrong (0 expected).
	Verify         string `json:"verify"`
	VerifyProblems int64  `json:"verify_problems"`
}

func (r outageReport) String() string {
	mode := "async"
	if r.Config.Sync {
		mode = "sync"
	}
	return fmt.Sprintf("%s/%s/%s outage %s at %d req/s: answered 2xx %d, stored %d, missing %d, duplicated %d; "+
		"p99 before %s, during %s (x%.2f), after %s; spooled %d rows, replayed %d, failed batches %d, dropped %d; verify: %s",
		r.Config.Backend, r.Config.Fault, mode, r.Config.Outage, r.Config.Rate,
		r.Counts.Answered2xx, r.Counts.Stored, r.Counts.Missing, r.Counts.Duplicated,
		fmtDur(r.Before.P99), fmtDur(r.During.P99), r.P99Ratio, fmtDur(r.After.P99),
		r.Stats.Spooled, r.Stats.Replayed, r.Stats.FailedBatches, r.Stats.Dropped, r.Verify)
}

// runOutage runs the demo app under load, makes its audit database fail
// for c.Outage, restores it, waits for the spool to be replayed, and
// compares answered requests with stored events.
func runOutage(c outageConfig) (rep outageReport, err error) {
	rep.Config = c
	dir, err := os.MkdirTemp("", "audit-fault-*")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)

	var dsn, auditDSN string
	var f fault
	switch c.Backend {
	case "postgres":
		var drop func()
		if dsn, drop, err = createPostgres(); err != nil {
			return rep, err
		}
		defer drop()
		auditDSN = dsn
		switch c.Fault {
		case "proxy":
			p, err := tcpproxy.New(pgTarget(dsn))
			if err != nil {
				return rep, err
			}
			defer p.Close()
			auditDSN = viaProxy(dsn, p.Addr)
			f = proxyFault{p}
		case "pg-stop":
			f = pgStopFault{}
		default:
			return rep, fmt.Errorf("fault %q is not a PostgreSQL fault (proxy, pg-stop)", c.Fault)
		}
	case "sqlite":
		if c.Fault != "readonly" {
			return rep, fmt.Errorf("fault %q is not a SQLite fault (readonly)", c.Fault)
		}
		if err := canChattr(dir); err != nil {
			return rep, fmt.Errorf("%w: %v", errSkip, err)
		}
		dsn = filepath.Join(dir, "audit.sqlite3")
		auditDSN = dsn
		ro := readOnlyFault{files: []string{dsn, dsn + "-wal"}}
		defer ro.stop() // never leave an immutable file behind
		f = ro
	default:
		return rep, fmt.Errorf("backend %q: postgres or sqlite", c.Backend)
	}

	app, base, stopHTTP, err := startApp(appConfig{Dir: dir, AuditDSN: auditDSN, Sync: c.Sync})
	if err != nil {
		return rep, err
	}
	closed := false
	defer func() {
		if !closed {
			stopHTTP()
			_ = app.Close(context.Background())
		}
	}()

	var phase atomic.Int32
	phase.Store(-1) // warm-up: connections, caches; not in "before"
	warm := min(c.Before/3, time.Second)
	total := c.Before + c.Outage + c.After
	ctx, cancel := context.WithTimeout(context.Background(), total)
	defer cancel()
	faultErr := make(chan error, 1)
	go func() {
		time.Sleep(warm)
		phase.Store(0)
		time.Sleep(c.Before - warm)
		phase.Store(1)
		if err := f.start(); err != nil {
			faultErr <- err
			return
		}
		time.Sleep(c.Outage)
		err := f.stop()
		phase.Store(2)
		faultErr <- err
	}()
	maxReq := int(total.Seconds()*float64(c.Rate)) + c.Rate
	results := load(ctx, base, c.Rate, c.Workers, maxReq, func() int { return int(phase.Load()) })
	if err := <-faultErr; err != nil {
		return rep, err
	}
	if err := waitDrained(app, 60*time.Second); err != nil {
		return rep, err
	}
	stopHTTP()
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelClose()
	err = app.Close(closeCtx)
	closed = true
	rep.Stats = app.Trail.Stats()
	if err != nil {
		return rep, err
	}
	stored, err := storedLoad(dsn)
	if err != nil {
		return rep, err
	}
	rep.Before, rep.During, rep.After = summarize(results, 0), summarize(results, 1), summarize(results, 2)
	if rep.Before.P99 > 0 {
		rep.P99Ratio = float64(rep.During.P99) / float64(rep.Before.P99)
	}
	rep.Counts = compare(results, stored)
	rep.Verify, rep.VerifyProblems, err = verifyTrail(dsn)
	return rep, err
}

var errSkip = fmt.Errorf("fault test not possible here")

func isSkip(err error) bool { return err != nil && strings.Contains(err.Error(), errSkip.Error()) }
