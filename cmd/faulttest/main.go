// Command faulttest proves that the audit trail loses no event when its
// database fails or the process dies. It runs the demo application on
// 127.0.0.1 under load and:
//
//   - outage: makes the audit database fail for a while (PostgreSQL behind a
//     TCP proxy that is cut, PostgreSQL really stopped with pg_ctlcluster,
//     or the SQLite file made immutable with chattr +i), restores it, waits
//     for the spool to be replayed, and compares requests answered 2xx with
//     request events stored: missing, duplicated, and p99 latency during
//     the outage against before it;
//   - crash: runs the app in a child process, cuts the database so events
//     go to the spool, kill -9s the child, restarts the app on the same
//     spool and checks that every spooled event is stored exactly once;
//   - start-down, start-hung: starts the app while the database refuses
//     connections or hangs, checks that it answers within 5 s, and that
//     the requests it served meanwhile are stored once the database
//     returns, without a restart;
//   - concurrent-start: five instances start at once on an empty
//     database, each must migrate (or find the tables) and serve;
//   - health-hang: the admin's api/health must answer 503 "unreachable"
//     within 2 s while the database hangs;
//   - shutdown-hang: SIGTERM to the app (a child process) while the
//     database hangs must end it within its shutdown context, and what it
//     had not written must be stored after the next start.
//
// Usage:
//
//	go run ./cmd/faulttest                  # everything safe to run anywhere (proxy, SQLite read-only, crash)
//	go run ./cmd/faulttest -pg-stop 30s     # also stops the real PostgreSQL server for 30 s
//	go run ./cmd/faulttest -only crash -sync
//
// The short versions of the same runs are `go test ./cmd/faulttest`.
// -pg-stop stops the whole server, so it must not run while other tests use
// it. Exit status 1 when a run finds a missing or duplicated event, or a
// p99 ratio above -max-p99-ratio.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	quietGin()
	if isChild() {
		runChild()
		return
	}
	var (
		only     = flag.String("only", "", "run one scenario: proxy, readonly, pg-stop, crash, start-down, start-hung, concurrent-start, health-hang or shutdown-hang (default: all but pg-stop, plus pg-stop if -pg-stop is set)")
		repeat   = flag.Int("repeat", 1, "run each crash, start, health and shutdown scenario this many times (the worst case is what counts)")
		pgStop   = flag.Duration("pg-stop", 0, "also stop the real PostgreSQL server for this long (pg_ctlcluster; root)")
		outage   = flag.Duration("outage", 30*time.Second, "outage duration of the proxy and read-only runs")
		before   = flag.Duration("before", 10*time.Second, "load before the outage")
		after    = flag.Duration("after", 10*time.Second, "load after the outage")
		rate     = flag.Int("rate", 500, "requests per second")
		workers  = flag.Int("workers", 32, "concurrent clients")
		sync     = flag.Bool("sync", false, "Options.Synchronous (default asynchronous)")
		maxRatio = flag.Float64("max-p99-ratio", 1.5, "highest acceptable p99 during / p99 before (asynchronous runs)")
		asJSON   = flag.Bool("json", false, "print reports as JSON")
	)
	flag.Parse()
	want := func(name string) bool {
		if *only != "" {
			return *only == name
		}
		return name != "pg-stop" || *pgStop > 0
	}
	failed := false
	print := func(v fmt.Stringer) {
		if *asJSON {
			b, _ := json.MarshalIndent(v, "", "  ")
			fmt.Println(string(b))
			return
		}
		fmt.Println(v.String())
	}
	outageRun := func(backend, fault string, d time.Duration) {
		rep, err := runOutage(outageConfig{Backend: backend, Fault: fault, Before: *before, Outage: d,
			After: *after, Rate: *rate, Workers: *workers, Sync: *sync})
		if isSkip(err) {
			fmt.Printf("%s/%s: skipped: %v\n", backend, fault, err)
			return
		}
		if err != nil {
			fmt.Printf("%s/%s: error: %v\n", backend, fault, err)
			failed = true
			return
		}
		print(rep)
		if rep.Counts.Missing > 0 || rep.Counts.Duplicated > 0 || rep.VerifyProblems > 0 || (!*sync && rep.P99Ratio > *maxRatio) {
			failed = true
		}
	}
	if want("proxy") {
		outageRun("postgres", "proxy", *outage)
	}
	if want("readonly") {
		outageRun("sqlite", "readonly", *outage)
	}
	if want("pg-stop") {
		d := *pgStop
		if d == 0 {
			d = *outage
		}
		outageRun("postgres", "pg-stop", d)
	}
	if want("crash") {
		worst := -1
		for range *repeat {
			rep, err := runCrash(crashConfig{Before: *before, Outage: *outage, Rate: *rate, Workers: *workers, Sync: *sync})
			if err != nil {
				fmt.Printf("crash: error: %v\n", err)
				failed = true
				continue
			}
			print(rep)
			worst = max(worst, rep.Counts.Missing)
			if rep.SpooledNotStored > 0 || rep.Counts.Duplicated > 0 || rep.VerifyProblems > 0 || (*sync && rep.Counts.Missing > 0) {
				failed = true
			}
		}
		if *repeat > 1 && worst >= 0 {
			fmt.Printf("crash: worst answered-but-missing over %d runs: %d\n", *repeat, worst)
		}
	}
	for _, fault := range []string{"down", "hung"} {
		if !want("start-" + fault) {
			continue
		}
		for range *repeat {
			rep, err := runStart(fault, 10**rate, *rate)
			if err != nil {
				fmt.Printf("start-%s: error: %v\n", fault, err)
				failed = true
				continue
			}
			print(rep)
			if rep.FirstAnswer > 5*time.Second || rep.ConnectedDuringFault || rep.Counts.Missing > 0 ||
				rep.Counts.Duplicated > 0 || rep.Counts.Answered2xx != rep.Requests+1 {
				failed = true
			}
		}
	}
	if want("concurrent-start") {
		rep, err := runConcurrentStart(5, 5**repeat)
		if err != nil {
			fmt.Printf("concurrent-start: error: %v\n", err)
			failed = true
		} else {
			print(rep)
			failed = failed || rep.Started != rep.Instances*rep.Rounds || rep.Stored != rep.Started
		}
	}
	if want("health-hang") {
		for range *repeat {
			rep, err := runHealthHang(5)
			if err != nil {
				fmt.Printf("health-hang: error: %v\n", err)
				failed = true
				continue
			}
			print(rep)
			for _, p := range rep.During {
				failed = failed || p.Code != 503 || p.Database != "unreachable" || p.Latency > 2*time.Second
			}
		}
	}
	if want("shutdown-hang") {
		for range *repeat {
			const shutdown = 3 * time.Second
			rep, err := runShutdownHang(shutdown, *rate)
			if err != nil {
				fmt.Printf("shutdown-hang: error: %v\n", err)
				failed = true
				continue
			}
			print(rep)
			failed = failed || rep.ExitAfter > shutdown+2*time.Second || rep.Counts.Missing > 0 || rep.Counts.Duplicated > 0
		}
	}
	if failed {
		os.Exit(1)
	}
}
