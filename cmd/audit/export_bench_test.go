package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/stretchr/testify/require"
)

// BenchmarkExportPeakRSS builds the command, fills a SQLite audit file with
// AUDIT_BENCH_EXPORT_ROWS request events (default 1,000,000), and exports
// a tenth of them and then all of them as JSON Lines to /dev/null, each in
// a process of its own: the peak RSS of the two must be about the same
// (constant memory). Run with -benchtime=1x.
func BenchmarkExportPeakRSS(b *testing.B) {
	n := testdb.BenchRows(b, "AUDIT_BENCH_EXPORT_ROWS", 1_000_000)
	dir := b.TempDir()
	bin := filepath.Join(dir, "audit")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(b, build.Run())

	dsn := testdb.SQLite(b)
	db := testdb.Open(b, dsn)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	store := writer.GormStore{DB: db}
	for done := 0; done < n; {
		batch := &entities.Batch{}
		for i := 0; i < 5000 && done < n; i++ {
			batch.Requests = append(batch.Requests, entities.RequestEvent{ID: entities.NewID(),
				Datetime: start.Add(time.Duration(done) * time.Second), UserID: "user-17", IPAddress: "10.0.0.7", Method: "POST",
				URL: "/api/orders/", StatusCode: 201, ResponseTimeMS: 3.25, RequestBody: `{"product":42,"quantity":3,"note":"deliver to the back door"}`,
				ResponseBody: `{"id":"8d1f","status":"created"}`})
			done++
		}
		require.NoError(b, store.WriteBatch(context.Background(), batch))
	}

	tenth := start.Add(time.Duration(n/10) * time.Second).Format(time.RFC3339)
	exportRSS := func(args ...string) (mib float64, took time.Duration) {
		cmd := exec.Command(bin, append([]string{"--dsn", dsn, "export", "--out", os.DevNull}, args...)...)
		cmd.Stderr = os.Stderr
		t0 := time.Now()
		require.NoError(b, cmd.Run())
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return float64(ru.Maxrss) / 1024, time.Since(t0) // Maxrss is in KiB on Linux
	}
	for b.Loop() {
		var small, all float64
		var tookAll time.Duration
		for range 2 { // alternate, keep the larger peak of each
			s, _ := exportRSS("--to", tenth)
			a, took := exportRSS()
			small, all, tookAll = max(small, s), max(all, a), took
		}
		b.ReportMetric(small, "peakRSS_MiB_tenth")
		b.ReportMetric(all, "peakRSS_MiB_all")
		b.ReportMetric(float64(n)/tookAll.Seconds(), "rows/s")
	}
}
