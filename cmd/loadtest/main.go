// Command loadtest measures, in one run on the same machine, what auditing
// costs an HTTP server: bare Gin, Gin audited asynchronously into SQLite,
// Gin audited into PostgreSQL, and a naive middleware that does one GORM
// INSERT per request (what drf-audit-trail does). Servers listen on
// 127.0.0.1 only; each variant runs for a bounded time and request count.
//
//	go run ./cmd/loadtest -duration 10s -conns 32   # throughput
//	go run ./cmd/loadtest -duration 10s -rate 2000  # latency at a fixed load
//	go run ./cmd/loadtest -only postgres -conns 64  # a flood on PostgreSQL
//
// It prints a Markdown table (throughput and latency percentiles, and each
// variant's throughput as a ratio of bare Gin's), then checks that every
// 2xx answer of the audited variants became exactly one stored row and
// that nothing was dropped.
//
// With -serve VARIANT it only serves (bare, sqlite, postgres,
// naive-sqlite, naive-postgres, or bare-burnN: bare Gin beside a goroutine
// that keeps N% of one core busy, a yardstick for what any background
// work such as a writer costs the server) on -addr until SIGTERM, for an
// external load generator such as wrk, then prints what was answered and
// stored as JSON: see wrk.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each variant is loaded")
	maxRequests := flag.Int("max-requests", 2_000_000, "upper bound of requests per variant")
	conns := flag.Int("conns", 32, "concurrent keep-alive connections")
	rate := flag.Int("rate", 0, "open-loop request rate per second (0: as fast as the server answers)")
	pgDSN := flag.String("postgres", envOr("AUDIT_LOAD_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server used to create a scratch database (empty: skip PostgreSQL)")
	only := flag.String("only", "", "run only bare Gin and this audited variant: sqlite or postgres")
	serveVariant := flag.String("serve", "", "only serve this variant until SIGTERM: bare, sqlite, postgres, naive-sqlite, naive-postgres")
	addr := flag.String("addr", "127.0.0.1:8089", "listen address of -serve (127.0.0.1 only)")
	dsn := flag.String("dsn", "", "audit database of -serve")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of -serve to this file")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	if *serveVariant != "" {
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				log.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				log.Fatal(err)
			}
			defer pprof.StopCPUProfile()
		}
		serve(*serveVariant, *addr, *dsn)
		return
	}
	quiet := quietLogger()

	dir, err := os.MkdirTemp("", "audit-load-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	type variant struct {
		name  string
		setup func() (gin.HandlerFunc, func() (stored int64), error)
	}
	var dropped atomic.Int64
	auditedWith := func(dsn string) func() (gin.HandlerFunc, func() int64, error) {
		return func() (gin.HandlerFunc, func() int64, error) {
			trail, err := audit.Open(audit.Options{DSN: dsn, Logger: quiet})
			if err != nil {
				return nil, nil, err
			}
			return trail.Middleware(), func() int64 {
				if err := trail.Close(context.Background()); err != nil {
					log.Print(err)
				}
				st := trail.Stats()
				dropped.Add(st.Dropped)
				fmt.Fprintf(os.Stderr, "  writer: %d writers, dropped %d, spilled to the spool %d, failed %d\n", st.Writers, st.Dropped, st.Spilled, st.Failed)
				return countRows(dsn)
			}, nil
		}
	}
	variants := []variant{
		{"bare gin", func() (gin.HandlerFunc, func() int64, error) { return nil, nil, nil }},
	}
	if *only == "" || *only == "sqlite" {
		variants = append(variants, variant{"audited, async, SQLite", auditedWith(filepath.Join(dir, "audit.sqlite3"))})
	}
	if *pgDSN != "" && (*only == "" || *only == "postgres") {
		if dsn, drop, err := scratchPostgres(*pgDSN); err != nil {
			log.Printf("PostgreSQL variants skipped: %v", err)
		} else {
			defer drop()
			variants = append(variants, variant{"audited, async, PostgreSQL", auditedWith(dsn)})
		}
	}
	if *pgDSN != "" && *only == "" {
		if naiveDSN, dropNaive, err := scratchPostgres(*pgDSN); err == nil {
			defer dropNaive()
			variants = append(variants, variant{"naive: one GORM INSERT per request, PostgreSQL", naiveWith(naiveDSN)})
		}
	}
	if *only == "" {
		variants = append(variants, variant{"naive: one GORM INSERT per request, SQLite", naiveWith(filepath.Join(dir, "naive.sqlite3"))})
	}

	mode := "closed loop: each connection sends its next request when answered"
	if *rate > 0 {
		mode = fmt.Sprintf("open loop at %d req/s: latency measured from each request's scheduled time", *rate)
	}
	fmt.Printf("%d connections, %s per variant (max %d requests), GOMAXPROCS=%d, %s\n\n", *conns, *duration, *maxRequests, runtime.GOMAXPROCS(0), mode)
	fmt.Println("| variant | req/s | vs bare | p50 ms | p99 ms | 2xx | stored rows |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	var bare float64
	failed := false
	for _, v := range variants {
		mw, finish, err := v.setup()
		if err != nil {
			log.Fatalf("%s: %v", v.name, err)
		}
		res := run(router(mw), *duration, *maxRequests, *conns, *rate)
		stored := "-"
		if finish != nil {
			n := finish()
			stored = fmt.Sprint(n)
			if n != res.ok {
				failed = true
				stored += " (MISMATCH)"
			}
		}
		if bare == 0 {
			bare = res.rps
		}
		fmt.Printf("| %s | %.0f | %.2f | %.2f | %.2f | %d | %s |\n", v.name, res.rps, res.rps/bare, res.p50, res.p99, res.ok, stored)
	}
	if failed {
		log.Fatal("stored rows differ from 2xx answers")
	}
	if n := dropped.Load(); n != 0 {
		log.Fatalf("%d events dropped", n)
	}
}

func router(mw gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	if mw != nil {
		r.Use(mw)
	}
	r.GET("/api/ping/", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	return r
}

// naiveWith is the drf-audit-trail way: the request waits for its INSERT.
func naiveWith(dsn string) func() (gin.HandlerFunc, func() int64, error) {
	return func() (gin.HandlerFunc, func() int64, error) {
		db, err := repository.Open(dsn)
		if err != nil {
			return nil, nil, err
		}
		if err := repository.Migrate(db); err != nil {
			return nil, nil, err
		}
		mw := func(c *gin.Context) {
			start := time.Now()
			c.Next()
			ev := entities.RequestEvent{ID: entities.NewID(), Datetime: start.UTC(), Method: c.Request.Method,
				URL: c.Request.URL.Path, StatusCode: c.Writer.Status(), IPAddress: c.ClientIP(),
				ResponseTimeMS: float64(time.Since(start).Microseconds()) / 1000}
			if err := db.Create(&ev).Error; err != nil {
				log.Printf("naive insert: %v", err)
			}
		}
		return mw, func() int64 {
			var n int64
			db.Model(&entities.RequestEvent{}).Count(&n)
			if s, err := db.DB(); err == nil {
				s.Close()
			}
			return n
		}, nil
	}
}

type result struct {
	rps      float64
	p50, p99 float64
	ok       int64
}

// run serves r on 127.0.0.1 and loads it with conns keep-alive clients,
// as fast as it answers (rate 0) or at a fixed rate (open loop, so a slow
// server cannot slow the load down and hide its latency).
func run(r http.Handler, d time.Duration, maxRequests, conns, rate int) result {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	target := "http://" + ln.Addr().String() + "/api/ping/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}, Timeout: 10 * time.Second}

	// Each token is a request's scheduled start time.
	tokens := make(chan time.Time, conns)
	start := time.Now()
	deadline := start.Add(d)
	go func() {
		defer close(tokens)
		for i := 0; i < maxRequests; i++ {
			at := time.Now()
			if rate > 0 {
				at = start.Add(time.Duration(i) * time.Second / time.Duration(rate))
				time.Sleep(time.Until(at))
			}
			if at.After(deadline) {
				return
			}
			tokens <- at
		}
	}()

	var ok atomic.Int64
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for scheduled := range tokens {
				resp, err := client.Get(target)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = append(lat[i], time.Since(scheduled))
				if resp.StatusCode/100 == 2 {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	return result{rps: float64(len(all)) / elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99), ok: ok.Load()}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// countRowsDistinct counts the stored request events and their distinct ids.
func countRowsDistinct(dsn string) (total, distinct int64) {
	db, err := repository.Open(dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	}()
	if err := db.Model(&entities.RequestEvent{}).Count(&total).Error; err != nil {
		log.Fatal(err)
	}
	if err := db.Model(&entities.RequestEvent{}).Distinct("id").Count(&distinct).Error; err != nil {
		log.Fatal(err)
	}
	return total, distinct
}

func countRows(dsn string) int64 {
	db, err := repository.Open(dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	}()
	var n int64
	if err := db.Model(&entities.RequestEvent{}).Count(&n).Error; err != nil {
		log.Fatal(err)
	}
	return n
}

func scratchPostgres(admin string) (string, func(), error) {
	db, err := repository.Open(admin)
	if err != nil {
		return "", nil, err
	}
	if s, err := db.DB(); err != nil || s.Ping() != nil {
		return "", nil, fmt.Errorf("cannot reach %s", admin)
	}
	name := fmt.Sprintf("audit_load_%d", time.Now().UnixNano())
	if err := db.Exec("CREATE DATABASE " + name).Error; err != nil {
		return "", nil, err
	}
	drop := func() { db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") }
	return replaceDB(admin, name), drop, nil
}

// replaceDB swaps the database name of a postgres:// URL.
func replaceDB(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		log.Fatalf("bad PostgreSQL URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
