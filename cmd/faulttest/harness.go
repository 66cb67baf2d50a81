package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/example/demo"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// loadPath is the demo route the load hits; each request carries its
// sequence number in the query string (?n=123), which the audit row keeps.
const loadPath = "/api/ping/"

// adminDSN is the PostgreSQL server of the fault tests.
func adminDSN() string {
	if v := os.Getenv("AUDIT_TEST_POSTGRES"); v != "" {
		return v
	}
	return testdb.DefaultAdminDSN
}

// createPostgres creates a fresh database and returns its DSN and a drop
// function.
func createPostgres() (string, func(), error) {
	admin, err := gorm.Open(postgres.Open(adminDSN()), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		// No server here: the PostgreSQL fault tests cannot run (the tests
		// skip loudly, or fail under CI).
		return "", nil, fmt.Errorf("%w: PostgreSQL NOT REACHABLE at %s: %v", errSkip, hostOf(adminDSN()), err)
	}
	var buf [6]byte
	_, _ = rand.Read(buf[:])
	name := "audit_fault_" + hex.EncodeToString(buf[:])
	if err := admin.Exec("CREATE DATABASE " + name).Error; err != nil {
		return "", nil, fmt.Errorf("PostgreSQL not usable at %s: %w", adminDSN(), err)
	}
	u, _ := url.Parse(adminDSN())
	u.Path = "/" + name
	drop := func() {
		_ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error
		if sqlDB, err := admin.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
	return u.String(), drop, nil
}

// hostOf names the server of a postgres:// DSN without its credentials.
func hostOf(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Host != "" {
		return u.Host
	}
	return "the AUDIT_TEST_POSTGRES server"
}

// viaProxy rewrites a postgres:// DSN to go through addr.
func viaProxy(dsn, addr string) string {
	u, _ := url.Parse(dsn)
	u.Host = addr
	return u.String()
}

func pgTarget(dsn string) string {
	u, _ := url.Parse(dsn)
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// The demo app's admin account in every run.
const (
	demoUser     = "admin"
	demoPassword = "admin-fault-test"
)

// appConfig is how the demo app of a run is set up.
type appConfig struct {
	Dir      string // working directory of the run (app database, spool)
	AuditDSN string
	Sync     bool
	// WaitForDatabase is audit.Options.WaitForDatabase: Open fails unless
	// it connects and migrates.
	WaitForDatabase bool
}

func (c appConfig) spoolDir() string { return filepath.Join(c.Dir, "spool") }

// quietGin silences gin for the whole process: release mode, no request
// log. main and TestMain call it once, before any app starts (gin's
// settings are globals).
func quietGin() {
	gin.SetMode(gin.ReleaseMode)
	gin.DefaultWriter = io.Discard
}

// startApp starts the demo app on 127.0.0.1 and returns its base URL.
func startApp(c appConfig) (*demo.App, string, func(), error) {
	app, err := demo.New(demo.Config{
		AppDSN:       filepath.Join(c.Dir, "app.sqlite3"),
		DemoUser:     demoUser,
		DemoPassword: demoPassword,
		BcryptCost:   4,
		JWTSecret:    "fault-test-signing-key-not-a-secret",
		Audit: audit.Options{
			DSN:             c.AuditDSN,
			Synchronous:     c.Sync,
			WaitForDatabase: c.WaitForDatabase,
			// Every run seals its batches, so that each run also shows
			// that outages, replays and kill -9 leave a trail that
			// verifies (verifyTrail).
			Integrity: repository.Integrity{Enabled: true},
			Writer: repository.WriterConfig{
				WriteTimeout:    2 * time.Second,
				RetryBackoffMax: 500 * time.Millisecond,
				Spool:           repository.SpoolConfig{Dir: c.spoolDir()},
			},
		},
	})
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: app.Router, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return app, "http://" + ln.Addr().String(), stop, nil
}

// result is one request of the load.
type result struct {
	n       int
	phase   int // 0 before, 1 during the fault, 2 after
	status  int // 0: no answer
	latency time.Duration
}

// load sends GET loadPath?n=i at rate requests per second from workers
// goroutines until ctx ends or max requests are sent. phase() tells the
// phase at send time.
func load(ctx context.Context, base string, rate, workers, max int, phase func() int) []result {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers},
	}
	jobs := make(chan int, workers)
	var mu sync.Mutex
	var out []result
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				r := result{n: n, phase: phase()}
				start := time.Now()
				resp, err := client.Get(base + loadPath + "?n=" + strconv.Itoa(n))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					r.status = resp.StatusCode
				}
				r.latency = time.Since(start)
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
			}
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
send:
	for n := 0; n < max; n++ {
		select {
		case <-ctx.Done():
			break send
		case <-tick.C:
		}
		select {
		case jobs <- n:
		case <-ctx.Done():
			break send
		}
	}
	close(jobs)
	wg.Wait()
	client.CloseIdleConnections()
	return out
}

// phaseStats are the latencies of one phase.
type phaseStats struct {
	Requests int           `json:"requests"`
	OK       int           `json:"ok_2xx"`
	P50      time.Duration `json:"p50"`
	P99      time.Duration `json:"p99"`
	Max      time.Duration `json:"max"`
}

func summarize(rs []result, phase int) phaseStats {
	var lat []time.Duration
	var s phaseStats
	for _, r := range rs {
		if r.phase != phase {
			continue
		}
		s.Requests++
		if r.status >= 200 && r.status < 300 {
			s.OK++
			lat = append(lat, r.latency)
		}
	}
	if len(lat) == 0 {
		return s
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	s.P50 = lat[len(lat)/2]
	s.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	s.Max = lat[len(lat)-1]
	return s
}

// verifyTrail runs the integrity verification on the audit database and
// returns its one-line summary and the number of problems.
func verifyTrail(dsn string) (string, int64, error) {
	db, err := repository.Open(dsn)
	if err != nil {
		return "", 0, err
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}()
	res, err := integrity.Verify(context.Background(), db, integrity.Options{})
	if err != nil {
		return "", 0, err
	}
	return res.Summary(), res.Problems, nil
}

// storedLoad counts the audit rows of the load by sequence number.
func storedLoad(dsn string) (map[int]int, error) {
	db, err := repository.Open(dsn)
	if err != nil {
		return nil, err
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}()
	var qs []string
	if err := db.Table("audit_request_events").Where("url = ?", loadPath).Pluck("query_params", &qs).Error; err != nil {
		return nil, err
	}
	out := map[int]int{}
	for _, q := range qs {
		v, err := url.ParseQuery(q)
		if err != nil {
			return nil, fmt.Errorf("stored query %q: %w", q, err)
		}
		n, err := strconv.Atoi(v.Get("n"))
		if err != nil {
			return nil, fmt.Errorf("stored query %q: %w", q, err)
		}
		out[n]++
	}
	return out, nil
}

// compare matches answered requests against stored events.
type comparison struct {
	Answered2xx int `json:"answered_2xx"`
	Stored      int `json:"stored"`
	Missing     int `json:"missing"`    // answered 2xx, no event
	Duplicated  int `json:"duplicated"` // events stored more than once
	Unanswered  int `json:"unanswered"` // events of requests whose answer the client did not get
}

func compare(rs []result, stored map[int]int) comparison {
	var c comparison
	answered := map[int]bool{}
	for _, r := range rs {
		if r.status >= 200 && r.status < 300 {
			answered[r.n] = true
			c.Answered2xx++
			if stored[r.n] == 0 {
				c.Missing++
			}
		}
	}
	for n, k := range stored {
		c.Stored += k
		if k > 1 {
			c.Duplicated += k - 1
		}
		if !answered[n] {
			c.Unanswered++
		}
	}
	return c
}

// waitDrained waits until the trail is connected and has replayed its
// spool.
func waitDrained(app *demo.App, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, db := app.Trail.Stats(), app.Trail.DatabaseState()
		if db.Connected && !st.Degraded && st.SpoolPending == 0 && st.QueueDepth == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("spool not replayed after %s: %+v %+v", limit, db, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func errorsJoin(errs ...error) error { return errors.Join(errs...) }

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
}
