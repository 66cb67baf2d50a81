package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-gonic/gin"
)

// serveReport is what -serve prints when it stops: whether every answered
// request became exactly one stored row.
type serveReport struct {
	Variant    string `json:"variant"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Answered   int64  `json:"answered_2xx"`
	Stored     int64  `json:"stored_rows"`
	Distinct   int64  `json:"distinct_ids"`
	Dropped    int64  `json:"dropped"`
	Spilled    int64  `json:"spilled"`
	Writers    int    `json:"writers"`
	CloseMS    int64  `json:"close_ms"`
	// CPUPerReq is the server process's CPU time (user and system, every
	// goroutine: requests, the writer, the garbage collector) while it
	// served, in microseconds per answered request. Unlike req/s it does
	// not depend on how much CPU the rest of the machine left.
	CPUPerReq float64 `json:"cpu_us_per_2xx"`
}

// serve runs one variant's server on addr (127.0.0.1 only) until SIGINT
// or SIGTERM, for an external load generator such as wrk; then it closes
// the trail and prints a serveReport as JSON. variant is bare, sqlite,
// postgres, naive-sqlite or naive-postgres; dsn is the audit database
// (a SQLite path, or a PostgreSQL URL).
func serve(variant, addr, dsn string) {
	var mw gin.HandlerFunc
	var finish func() (stored, distinct int64)
	var trail *audit.Trail
	switch {
	case variant == "bare":
	case strings.HasPrefix(variant, "bare-burn"):
		percent, err := strconv.Atoi(strings.TrimPrefix(variant, "bare-burn"))
		if err != nil || percent <= 0 || percent >= 100 {
			log.Fatalf("variant %q: want bare-burnN with N from 1 to 99", variant)
		}
		stop := make(chan struct{})
		defer close(stop)
		go burn(float64(percent)/100, stop)
	case variant == "sqlite" || variant == "postgres":
		var err error
		trail, err = audit.Open(audit.Options{DSN: dsn, Logger: quietLogger()})
		if err != nil {
			log.Fatal(err)
		}
		mw = trail.Middleware()
		finish = func() (int64, int64) {
			if err := trail.Close(context.Background()); err != nil {
				log.Print(err)
			}
			return countRowsDistinct(dsn)
		}
	case variant == "naive-sqlite" || variant == "naive-postgres":
		m, done, err := naiveWith(dsn)()
		if err != nil {
			log.Fatal(err)
		}
		mw = m
		finish = func() (int64, int64) { done(); return countRowsDistinct(dsn) }
	default:
		log.Fatalf("unknown variant %q", variant)
	}
	var answered atomic.Int64
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		if c.Writer.Status()/100 == 2 {
			answered.Add(1)
		}
	})
	if mw != nil {
		r.Use(mw)
	}
	r.GET("/api/ping/", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	cpuStart := processCPU()
	go srv.Serve(ln)
	fmt.Fprintf(os.Stderr, "serving %s on http://%s/api/ping/\n", variant, ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	cpu := processCPU() - cpuStart
	rep := serveReport{Variant: variant, GOMAXPROCS: runtime.GOMAXPROCS(0), Answered: answered.Load()}
	if rep.Answered > 0 {
		rep.CPUPerReq = float64(cpu.Microseconds()) / float64(rep.Answered)
	}
	if trail != nil {
		st := trail.Stats()
		rep.Dropped, rep.Spilled, rep.Writers = st.Dropped, st.Spilled, st.Writers
	}
	if finish != nil {
		start := time.Now()
		rep.Stored, rep.Distinct = finish()
		rep.CloseMS = time.Since(start).Milliseconds()
		if trail != nil {
			rep.Dropped = trail.Stats().Dropped
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(rep)
}

// burn keeps share of one core busy until stop is closed: in each
// millisecond it spins for share of it and sleeps the rest.
func burn(share float64, stop <-chan struct{}) {
	busy := time.Duration(share * float64(time.Millisecond))
	for {
		select {
		case <-stop:
			return
		default:
		}
		for start := time.Now(); time.Since(start) < busy; {
		}
		time.Sleep(time.Millisecond - busy)
	}
}
