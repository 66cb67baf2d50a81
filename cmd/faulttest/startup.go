package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gin-audit-trail/audit/example/demo"
	"github.com/gin-audit-trail/audit/internal/tcpproxy"
	"github.com/gin-audit-trail/audit/repository"
)

// Scenarios of the audit database at start and shutdown: the application
// must start, serve and stop whatever the database does.

// proxiedPostgres is a fresh PostgreSQL database behind a proxy the run
// controls.
type proxiedPostgres struct {
	dsn      string // direct, for counting
	auditDSN string // through the proxy, for the app
	proxy    *tcpproxy.Proxy
	cleanup  func()
}

func newProxiedPostgres() (*proxiedPostgres, error) {
	dsn, drop, err := createPostgres()
	if err != nil {
		return nil, err
	}
	p, err := tcpproxy.New(pgTarget(dsn))
	if err != nil {
		drop()
		return nil, err
	}
	return &proxiedPostgres{dsn: dsn, auditDSN: viaProxy(dsn, p.Addr), proxy: p, cleanup: func() { p.Close(); drop() }}, nil
}

// probeBase numbers the probe requests of a run apart from the load's.
const probeBase = 1_000_000

// firstPing sends GET /api/ping/ until it is answered 2xx or limit passes.
func firstPing(base string, n int, limit time.Duration) (result, error) {
	client := &http.Client{Timeout: limit}
	deadline := time.Now().Add(limit)
	for {
		start := time.Now()
		resp, err := client.Get(base + loadPath + "?n=" + strconv.Itoa(n))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return result{n: n, phase: 1, status: resp.StatusCode, latency: time.Since(start)}, nil
			}
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("GET %s not answered 2xx within %s: %v", loadPath, limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startReport is what a start with the database down or hung measured.
type startReport struct {
	Fault    string `json:"fault"` // "down" (connections refused) or "hung" (accepted, never answered)
	Requests int    `json:"requests"`
	// FirstAnswer is the time from the start of the app (demo.New) to the
	// first 2xx answer of /api/ping/, the database still failing.
	FirstAnswer time.Duration `json:"first_answer"`
	// ConnectedDuringFault is true if the trail thought it had reached the
	// database while it was failing (it must not).
	ConnectedDuringFault bool `json:"connected_during_fault"`
	// ReadyAfterRestore is the time from the database's return to the
	// trail being connected, migrated and its spool replayed.
	ReadyAfterRestore time.Duration    `json:"ready_after_restore"`
	Counts            comparison       `json:"counts"`
	Stats             repository.Stats `json:"stats"`
}

func (r startReport) String() string {
	return fmt.Sprintf("start with the database %s: first /api/ping/ answer %s after start; %d requests during the fault "+
		"answered 2xx %d, stored after the database returned (no restart) %d, missing %d, duplicated %d; "+
		"connected and replayed %s after its return; spooled %d, replayed %d",
		r.Fault, r.FirstAnswer.Round(time.Millisecond), r.Requests, r.Counts.Answered2xx, r.Counts.Stored,
		r.Counts.Missing, r.Counts.Duplicated, r.ReadyAfterRestore.Round(time.Millisecond), r.Stats.Spooled, r.Stats.Replayed)
}

// runStart makes the audit database unreachable ("down") or hung ("hung")
// before the demo app starts, checks that it starts and answers, sends
// requests at rate, restores the database, and checks that every event
// is stored once, without a restart.
func runStart(fault string, requests, rate int) (rep startReport, err error) {
	rep.Fault, rep.Requests = fault, requests
	dir, err := os.MkdirTemp("", "audit-start-*")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	pg, err := newProxiedPostgres()
	if err != nil {
		return rep, err
	}
	defer pg.cleanup()
	switch fault {
	case "down":
		pg.proxy.Cut()
	case "hung":
		pg.proxy.Hang()
	default:
		return rep, fmt.Errorf("start fault %q: down or hung", fault)
	}

	start := time.Now()
	app, base, stopHTTP, err := startApp(appConfig{Dir: dir, AuditDSN: pg.auditDSN})
	if err != nil {
		return rep, fmt.Errorf("the app did not start with the database %s: %w", fault, err)
	}
	closed := false
	defer func() {
		if !closed {
			stopHTTP()
			_ = app.Close(context.Background())
		}
	}()
	probe, err := firstPing(base, probeBase, 30*time.Second)
	if err != nil {
		return rep, err
	}
	rep.FirstAnswer = time.Since(start)

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(requests/rate+10)*time.Second)
	defer cancel()
	results := append(load(ctx, base, rate, 8, requests, func() int { return 1 }), probe)
	rep.ConnectedDuringFault = app.Trail.DatabaseState().Connected

	if err := pg.proxy.Restore(); err != nil {
		return rep, err
	}
	restored := time.Now()
	if err := waitDrained(app, 60*time.Second); err != nil {
		return rep, err
	}
	rep.ReadyAfterRestore = time.Since(restored)
	stopHTTP()
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelClose()
	err = app.Close(closeCtx)
	closed = true
	rep.Stats = app.Trail.Stats()
	if err != nil {
		return rep, err
	}
	stored, err := storedLoad(pg.dsn)
	if err != nil {
		return rep, err
	}
	rep.Counts = compare(results, stored)
	return rep, nil
}

// concurrentStartReport is what the concurrent first starts measured.
type concurrentStartReport struct {
	Instances int      `json:"instances"`
	Rounds    int      `json:"rounds"`
	Started   int      `json:"started"` // Opens that connected and migrated
	Errors    []string `json:"errors,omitempty"`
	Stored    int      `json:"stored"` // one request per instance, stored
}

func (r concurrentStartReport) String() string {
	return fmt.Sprintf("concurrent first start: %d rounds of %d instances on an empty database: %d of %d started "+
		"(Options.WaitForDatabase, so a failed migration fails the start), %d of %d requests stored; errors: %v",
		r.Rounds, r.Instances, r.Started, r.Rounds*r.Instances, r.Stored, r.Rounds*r.Instances, r.Errors)
}

// runConcurrentStart starts instances demo apps at once on one empty
// PostgreSQL database, rounds times (a new database each round), with
// WaitForDatabase so that a failed migration is a failed start; each
// serves one audited request.
func runConcurrentStart(instances, rounds int) (rep concurrentStartReport, err error) {
	rep.Instances, rep.Rounds = instances, rounds
	for range rounds {
		if err := concurrentRound(instances, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func concurrentRound(instances int, rep *concurrentStartReport) error {
	dir, err := os.MkdirTemp("", "audit-concurrent-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dsn, drop, err := createPostgres()
	if err != nil {
		return err
	}
	defer drop()
	type started struct {
		app  *demo.App
		base string
		stop func()
	}
	apps := make([]started, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := filepath.Join(dir, strconv.Itoa(i))
			if errs[i] = os.Mkdir(d, 0o700); errs[i] != nil {
				return
			}
			<-gate // all at once
			app, base, stop, err := startApp(appConfig{Dir: d, AuditDSN: dsn, WaitForDatabase: true})
			apps[i], errs[i] = started{app, base, stop}, err
		}()
	}
	close(gate)
	wg.Wait()
	want := map[int]bool{}
	for i, a := range apps {
		if errs[i] != nil {
			rep.Errors = append(rep.Errors, errs[i].Error())
			continue
		}
		rep.Started++
		n := probeBase + len(want)
		if _, err := firstPing(a.base, n, 10*time.Second); err == nil {
			want[n] = true
		}
		a.stop()
		if err := a.app.Close(context.Background()); err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	stored, err := storedLoad(dsn)
	if err != nil {
		return err
	}
	for n := range want {
		if stored[n] == 1 {
			rep.Stored++
		}
	}
	return nil
}

// healthProbe is one GET of the admin's api/health.
type healthProbe struct {
	Code     int           `json:"code"` // 0: no answer
	Database string        `json:"database"`
	Latency  time.Duration `json:"latency"`
}

// healthReport is what health during a hang measured.
type healthReport struct {
	Before healthProbe   `json:"before"`
	During []healthProbe `json:"during"`
	// PingDuring is the application's own answer during the hang.
	PingDuring result `json:"-"`
	// HealthyAfter is the time from the end of the hang to the first 200.
	HealthyAfter time.Duration `json:"healthy_after"`
}

func (r healthReport) String() string {
	var during []string
	for _, p := range r.During {
		during = append(during, fmt.Sprintf("%d %s in %s", p.Code, p.Database, p.Latency.Round(time.Millisecond)))
	}
	return fmt.Sprintf("health during a hang: before %d %s in %s; during the hang %s; /api/ping/ during the hang %d in %s; "+
		"healthy again %s after the hang", r.Before.Code, r.Before.Database, r.Before.Latency.Round(time.Millisecond),
		strings.Join(during, ", "), r.PingDuring.status, r.PingDuring.latency.Round(time.Millisecond),
		r.HealthyAfter.Round(time.Millisecond))
}

// adminToken signs in as the demo's admin.
func adminToken(base string) (string, error) {
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, demoUser, demoPassword)
	resp, err := http.Post(base+"/api/token/", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("sign in: %d %v", resp.StatusCode, err)
	}
	return out.Token, nil
}

func getHealth(base, token string) healthProbe {
	req, _ := http.NewRequest(http.MethodGet, base+demo.AdminPath+"/api/health", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	p := healthProbe{Latency: time.Since(start)}
	if err != nil {
		return p
	}
	defer resp.Body.Close()
	p.Code = resp.StatusCode
	var out struct {
		Database string `json:"database"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	p.Database = out.Database
	return p
}

// runHealthHang starts the demo app on a healthy database, hangs the
// database, and asks the admin's api/health (probes times) and the
// application's /api/ping/ meanwhile; then ends the hang and waits for
// health to answer 200 again.
func runHealthHang(probes int) (rep healthReport, err error) {
	dir, err := os.MkdirTemp("", "audit-health-*")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	pg, err := newProxiedPostgres()
	if err != nil {
		return rep, err
	}
	defer pg.cleanup()
	app, base, stopHTTP, err := startApp(appConfig{Dir: dir, AuditDSN: pg.auditDSN, WaitForDatabase: true})
	if err != nil {
		return rep, err
	}
	defer func() {
		stopHTTP()
		_ = app.Close(context.Background())
	}()
	token, err := adminToken(base)
	if err != nil {
		return rep, err
	}
	rep.Before = getHealth(base, token)

	pg.proxy.Hang()
	for range probes {
		rep.During = append(rep.During, getHealth(base, token))
	}
	if rep.PingDuring, err = firstPing(base, probeBase, 10*time.Second); err != nil {
		return rep, err
	}
	if err := pg.proxy.Restore(); err != nil {
		return rep, err
	}
	restored := time.Now()
	for {
		if p := getHealth(base, token); p.Code == http.StatusOK {
			rep.HealthyAfter = time.Since(restored)
			return rep, nil
		}
		if time.Since(restored) > 60*time.Second {
			return rep, fmt.Errorf("health not 200 within 60 s of the hang's end")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shutdownReport is what SIGTERM during a hang measured.
type shutdownReport struct {
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`
	// ExitAfter is the time from SIGTERM to the child's exit.
	ExitAfter time.Duration `json:"exit_after"`
	// Closed is the child's last line: "CLOSED ok" or the error of Close.
	Closed string `json:"closed"`
	// Counts compare the answered requests with the rows stored once the
	// database returned and the app was started again on the same spool.
	Counts comparison `json:"counts"`
}

func (r shutdownReport) String() string {
	return fmt.Sprintf("SIGTERM during a hang: exited %s after SIGTERM with a %s shutdown context (%s); after restart: "+
		"answered 2xx %d, stored %d, missing %d, duplicated %d",
		r.ExitAfter.Round(time.Millisecond), r.ShutdownTimeout, r.Closed, r.Counts.Answered2xx, r.Counts.Stored,
		r.Counts.Missing, r.Counts.Duplicated)
}

// runShutdownHang runs the demo app in a child process under load, hangs
// the database, sends SIGTERM to the child (by its PID) and measures how
// long it takes to exit; then restores the database, starts the app on
// the same spool and counts what was stored.
func runShutdownHang(shutdown time.Duration, rate int) (rep shutdownReport, err error) {
	rep.ShutdownTimeout = shutdown
	dir, err := os.MkdirTemp("", "audit-shutdown-*")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	pg, err := newProxiedPostgres()
	if err != nil {
		return rep, err
	}
	defer pg.cleanup()
	c, err := startChild(dir, pg.auditDSN, false, shutdown)
	if err != nil {
		return rep, err
	}
	exited := false
	defer func() {
		if !exited {
			c.kill()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go func() {
		time.Sleep(time.Second)
		pg.proxy.Hang() // halfway through the load
	}()
	results := load(ctx, c.base, rate, 8, 2*rate, func() int { return 1 })

	sent := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return rep, err
	}
	line, _ := c.stdout.ReadString('\n')
	_ = c.cmd.Wait()
	exited = true
	rep.ExitAfter = time.Since(sent)
	rep.Closed = strings.TrimSpace(line)

	if err := pg.proxy.Restore(); err != nil {
		return rep, err
	}
	app, _, stopHTTP, err := startApp(appConfig{Dir: dir, AuditDSN: pg.auditDSN})
	if err != nil {
		return rep, err
	}
	stopHTTP()
	drainErr := waitDrained(app, 60*time.Second)
	closeErr := app.Close(context.Background())
	if drainErr != nil || closeErr != nil {
		return rep, errorsJoin(drainErr, closeErr)
	}
	stored, err := storedLoad(pg.dsn)
	if err != nil {
		return rep, err
	}
	rep.Counts = compare(results, stored)
	return rep, nil
}
