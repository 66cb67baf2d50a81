package main

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-audit-trail/audit/internal/spool"
	"github.com/gin-audit-trail/audit/internal/tcpproxy"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
)

// Environment of the crash child (this binary, re-executed).
const (
	envChild = "AUDIT_FAULT_CHILD"
	envDir   = "AUDIT_FAULT_DIR"
	envDSN   = "AUDIT_FAULT_DSN"
	envSync  = "AUDIT_FAULT_SYNC"
	// envShutdown is the child's shutdown context at SIGTERM.
	envShutdown = "AUDIT_FAULT_SHUTDOWN"
)

// isChild reports whether this process is a crash child.
func isChild() bool { return os.Getenv(envChild) == "1" }

// runChild serves the demo app until it is killed, or until SIGTERM: then
// it shuts down like example/main.go, with a shutdown context of
// AUDIT_FAULT_SHUTDOWN (a duration, default 10 s), and exits 0 when the
// trail closed cleanly, 3 when the context ended first. Its first line on
// stdout is "LISTEN <base URL>"; at SIGTERM it prints "CLOSED <error or ok>".
func runChild() {
	sigterm := make(chan os.Signal, 1)
	signal.Notify(sigterm, syscall.SIGTERM)
	app, base, stopHTTP, err := startApp(appConfig{
		Dir: os.Getenv(envDir), AuditDSN: os.Getenv(envDSN), Sync: os.Getenv(envSync) == "1",
		WaitForDatabase: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	fmt.Println("LISTEN " + base)
	<-sigterm
	limit, err := time.ParseDuration(os.Getenv(envShutdown))
	if err != nil {
		limit = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	stopHTTP()
	if err := app.Close(ctx); err != nil {
		fmt.Println("CLOSED", err)
		os.Exit(3)
	}
	fmt.Println("CLOSED ok")
}

// crashConfig is one crash run.
type crashConfig struct {
	Before  time.Duration // load with the database up
	Outage  time.Duration // load with the database cut; the kill comes halfway
	Rate    int
	Workers int
	Sync    bool
}

// crashReport is what a crash run measured.
type crashReport struct {
	Config crashConfig `json:"config"`
	// SpooledAtKill is the number of request events found in the spool
	// files after kill -9 (what the dead process had fsync'd).
	SpooledAtKill int `json:"spooled_at_kill"`
	// SpooledNotStored counts events of the spool missing after replay.
	SpooledNotStored int `json:"spooled_not_stored"`
	// TornTail is true when the spool's last record was cut by the kill.
	Counts comparison       `json:"counts"`
	Stats  repository.Stats `json:"stats_after_restart"`
	// Verify is the integrity verification of the trail after the
	// replay, and VerifyProblems what it found wrong (0 expected).
	Verify         string `json:"verify"`
	VerifyProblems int64  `json:"verify_problems"`
}

func (r crashReport) String() string {
	mode := "async"
	if r.Config.Sync {
		mode = "sync"
	}
	return fmt.Sprintf("crash/%s kill -9 under load at %d req/s: answered 2xx %d, in the spool at kill %d, "+
		"stored after restart %d, spooled-but-missing %d, answered-but-missing %d, duplicated %d, replayed at restart %d; verify: %s",
		mode, r.Config.Rate, r.Counts.Answered2xx, r.SpooledAtKill, r.Counts.Stored,
		r.SpooledNotStored, r.Counts.Missing, r.Counts.Duplicated, r.Stats.Replayed, r.Verify)
}

// spooledLoad reads the load's request events from the spool files.
func spooledLoad(dir string) (map[int]int, error) {
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		return nil, err
	}
	out := map[int]int{}
	for _, seg := range segs {
		err := spool.ReadFile(seg, func(p []byte) error {
			items, err := writer.DecodeSpoolRecord(p)
			if err != nil {
				return err
			}
			for _, b := range items {
				for _, r := range b.Requests {
					if r.URL != loadPath {
						continue
					}
					v, _ := url.ParseQuery(r.QueryParams)
					n, err := strconv.Atoi(v.Get("n"))
					if err != nil {
						return err
					}
					out[n]++
				}
			}
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), spool.ErrCorrupt.Error()) {
			return nil, err // a torn tail is expected after kill -9 and cut at the next open
		}
	}
	return out, nil
}

// child is the demo app running in a child process (this binary,
// re-executed).
type child struct {
	cmd    *exec.Cmd
	base   string
	stdout *bufio.Reader
}

// startChild starts a child serving the demo app on dir and auditDSN, and
// waits until it listens. shutdown is its shutdown context at SIGTERM (0:
// the child's default).
func startChild(dir, auditDSN string, sync bool, shutdown time.Duration) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	syncEnv := "0"
	if sync {
		syncEnv = "1"
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envChild+"=1", envDir+"="+dir, envDSN+"="+auditDSN, envSync+"="+syncEnv)
	if shutdown > 0 {
		cmd.Env = append(cmd.Env, envShutdown+"="+shutdown.String())
	}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdout: bufio.NewReader(stdout)}
	line, err := c.stdout.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LISTEN ") {
		c.kill()
		return nil, fmt.Errorf("child %d did not start: %q %v", cmd.Process.Pid, line, err)
	}
	c.base = strings.TrimSpace(strings.TrimPrefix(line, "LISTEN "))
	return c, nil
}

// kill sends SIGKILL to the child's PID (only the process we started) and
// reaps it.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// runCrash starts the demo app in a child process on PostgreSQL behind a
// proxy, loads it, cuts the database so events go to the spool, kill -9s
// the child (by its PID) in the middle of the load, restarts the app in
// this process on the same spool, waits for the replay, and counts.
func runCrash(c crashConfig) (rep crashReport, err error) {
	rep.Config = c
	dir, err := os.MkdirTemp("", "audit-crash-*")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	dsn, drop, err := createPostgres()
	if err != nil {
		return rep, err
	}
	defer drop()
	proxy, err := tcpproxy.New(pgTarget(dsn))
	if err != nil {
		return rep, err
	}
	defer proxy.Close()
	auditDSN := viaProxy(dsn, proxy.Addr)

	child, err := startChild(dir, auditDSN, c.Sync, 0)
	if err != nil {
		return rep, err
	}
	cmd, base := child.cmd, child.base
	killed := false
	defer func() {
		if !killed {
			child.kill()
		}
	}()

	var phase atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), c.Before+c.Outage)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(c.Before)
		phase.Store(1)
		proxy.Cut()
		time.Sleep(c.Outage / 2)
		_ = cmd.Process.Kill() // SIGKILL to the child's PID, mid-load
		killed = true
		_ = cmd.Wait()
		time.Sleep(200 * time.Millisecond) // requests after the kill fail
		cancel()
	}()
	maxReq := int((c.Before+c.Outage).Seconds()*float64(c.Rate)) + c.Rate
	results := load(ctx, base, c.Rate, c.Workers, maxReq, func() int { return int(phase.Load()) })
	<-done

	inSpool, err := spooledLoad(filepath.Join(dir, "spool"))
	if err != nil {
		return rep, err
	}
	for _, k := range inSpool {
		rep.SpooledAtKill += k
	}
	if err := proxy.Restore(); err != nil {
		return rep, err
	}
	app, _, stopHTTP, err := startApp(appConfig{Dir: dir, AuditDSN: auditDSN, Sync: c.Sync})
	if err != nil {
		return rep, err
	}
	stopHTTP()
	drainErr := waitDrained(app, 60*time.Second)
	closeErr := app.Close(context.Background())
	rep.Stats = app.Trail.Stats()
	if drainErr != nil || closeErr != nil {
		return rep, errorsJoin(drainErr, closeErr)
	}
	stored, err := storedLoad(dsn)
	if err != nil {
		return rep, err
	}
	for n := range inSpool {
		if stored[n] != 1 {
			rep.SpooledNotStored++
		}
	}
	rep.Counts = compare(results, stored)
	rep.Verify, rep.VerifyProblems, err = verifyTrail(dsn)
	return rep, err
}
