package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/spool"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// runAudit runs the command in process with args and returns what it
// wrote to stdout and stderr.
func runAudit(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runAudit(t, args...)
	require.NoError(t, err, "stderr: %s", errOut)
	return out
}

// seed migrates the database at dsn and writes n request events, n login
// events and n processes (one step, two registrations each) dated at.
func seed(t *testing.T, dsn string, n int, at time.Time) *entities.Batch {
	t.Helper()
	db := testdb.Open(t, dsn)
	b := &entities.Batch{}
	for i := range n {
		ts := at.Add(time.Duration(i) * time.Second).UTC()
		req := entities.RequestEvent{ID: entities.NewID(), Datetime: ts, Method: "GET", URL: "/api/items/" + string(rune('a'+i%26)), StatusCode: 200, ResponseTimeMS: 1.5, RequestBody: `{"q":"x, \"y\""}`}
		rid := req.ID
		b.Requests = append(b.Requests, req)
		b.Logins = append(b.Logins, entities.LoginEvent{ID: entities.NewID(), Datetime: ts, Status: entities.LoginSignIn, RequestID: &rid, UserID: "u1"})
		p := entities.ProcessEvent{ID: entities.NewID(), Datetime: ts, Name: "import"}
		st := entities.StepEvent{ID: entities.NewID(), Datetime: ts, ProcessID: p.ID, Name: "read", StepOrder: 1, TotalRegistrations: 2}
		b.Processes = append(b.Processes, p)
		b.Steps = append(b.Steps, st)
		b.Registrations = append(b.Registrations,
			entities.RegistrationEvent{ID: entities.NewID(), Datetime: ts, StepID: st.ID, Success: true},
			entities.RegistrationEvent{ID: entities.NewID(), Datetime: ts, StepID: st.ID, Success: false})
	}
	require.NoError(t, writer.GormStore{DB: db}.WriteBatch(context.Background(), b))
	return b
}

func rows(t *testing.T, db *gorm.DB, k repository.Kind) int64 {
	t.Helper()
	n, err := query.CountRows(context.Background(), db, k, time.Time{}, time.Time{})
	require.NoError(t, err)
	return n
}

func TestMigrateCreatesTheTables(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		out := mustRun(t, "--dsn", dsn, "migrate")
		require.Contains(t, out, "migrated")
		mustRun(t, "--dsn", dsn, "migrate") // again: nothing to do, no error
		db, err := repository.Open(dsn)
		require.NoError(t, err)
		for _, k := range repository.Kinds() {
			require.True(t, db.Migrator().HasTable(k.Table()), k)
		}
	})
}

func TestDSNFromEnvironment(t *testing.T) {
	dsn := testdb.SQLite(t)
	t.Setenv(dsnEnv, dsn)
	mustRun(t, "migrate")
	_, err := os.Stat(dsn)
	require.NoError(t, err, "the file named by AUDIT_DSN was created")
}

func TestCommandsRefuseAMissingSQLiteFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.sqlite3")
	_, _, err := runAudit(t, "--dsn", missing, "stats")
	require.ErrorContains(t, err, "no audit database at")
	_, statErr := os.Stat(missing)
	require.True(t, os.IsNotExist(statErr), "stats created no file")
}

func TestPurge(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		now := time.Now().UTC()
		seed(t, dsn, 30, now.Add(-100*24*time.Hour))
		fresh := seed(t, dsn, 7, now.Add(-24*time.Hour))
		db := testdb.Open(t, dsn)

		out := mustRun(t, "--dsn", dsn, "purge", "--older-than", "90d", "--dry-run")
		require.Contains(t, out, "requests: 30 rows older than")
		require.Contains(t, out, "processes: 30 rows")
		require.Equal(t, int64(37), rows(t, db, repository.Requests), "a dry run deletes nothing")

		out = mustRun(t, "--dsn", dsn, "purge", "--older-than", "90d", "--table", "requests", "--batch-rows", "8")
		require.Contains(t, out, "requests: deleted 30 rows")
		require.Equal(t, int64(7), rows(t, db, repository.Requests))
		require.Equal(t, int64(37), rows(t, db, repository.Logins), "only the named table")

		_, errOut, err := runAudit(t, "--dsn", dsn, "--progress-interval", "0", "purge", "--older-than", "90d")
		require.NoError(t, err)
		require.Contains(t, errOut, "purge: ", "plain progress lines when stderr is not a terminal")
		require.Contains(t, errOut, " done")
		for k, want := range map[repository.Kind]int64{repository.Requests: 7, repository.Logins: 7, repository.Processes: 7, repository.Steps: 7, repository.Registrations: 14} {
			require.Equal(t, want, rows(t, db, k), k)
		}
		var kept []string
		require.NoError(t, db.Raw("SELECT id FROM audit_request_events ORDER BY datetime").Scan(&kept).Error)
		for i, r := range fresh.Requests {
			require.Equal(t, r.ID.String(), kept[i])
		}

		_, _, err = runAudit(t, "--dsn", dsn, "purge", "--older-than", "90d", "--table", "steps")
		require.ErrorContains(t, err, "follow their process")
		_, _, err = runAudit(t, "--dsn", dsn, "purge", "--older-than", "soon")
		require.ErrorContains(t, err, "invalid age")
	})
}

func TestExportJSONLines(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		day := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
		seed(t, dsn, 3, day.Add(-time.Hour)) // the day before: outside
		in := seed(t, dsn, 5, day.Add(time.Hour))
		seed(t, dsn, 2, day.Add(25*time.Hour)) // the day after: outside

		out := mustRun(t, "--dsn", dsn, "export", "--from", "2025-03-10", "--to", "2025-03-11")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		require.Len(t, lines, 5)
		for i, line := range lines {
			var row map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &row), line)
			want := in.Requests[i]
			require.Equal(t, want.ID.String(), row["id"])
			require.Equal(t, want.Datetime.Format(time.RFC3339Nano), row["datetime"])
			require.Equal(t, want.URL, row["url"])
			require.Equal(t, want.RequestBody, row["request_body"])
			require.EqualValues(t, 200, row["status_code"])
			require.EqualValues(t, 1.5, row["response_time_ms"])
		}

		// Registrations: booleans are booleans on every database.
		out = mustRun(t, "--dsn", dsn, "export", "--table", "registrations", "--from", "2025-03-10", "--to", "2025-03-11")
		var first map[string]any
		require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first))
		require.IsType(t, true, first["success"])
	})
}

func TestExportCSVToAFile(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		in := seed(t, dsn, 4, at)
		file := filepath.Join(t.TempDir(), "logins.csv")
		out := mustRun(t, "--dsn", dsn, "export", "--table", "logins", "--format", "csv", "--out", file)
		require.Empty(t, out, "nothing on stdout with --out")
		f, err := os.Open(file)
		require.NoError(t, err)
		defer f.Close()
		recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, 1+4)
		require.Equal(t, []string{"id", "datetime", "status", "request_id", "user_id", "username", "extra_informations", "digest_id"}, recs[0])
		for i, r := range recs[1:] {
			require.Equal(t, in.Logins[i].ID.String(), r[0])
			require.Equal(t, in.Logins[i].Datetime.Format(time.RFC3339Nano), r[1])
			require.Equal(t, entities.LoginSignIn, r[2])
			require.Equal(t, in.Logins[i].RequestID.String(), r[3])
		}

		// An empty range still gives the header row.
		out = mustRun(t, "--dsn", dsn, "export", "--format", "csv", "--from", "2030-01-01")
		require.Equal(t, "id,datetime,user_id,ip_address,method,url,route,query_params,request_type,request_body,response_body,status_code,response_time_ms,response_size,error_type,error_message,error_stacktrace,extra_informations,digest_id\n", out)
		_, _, err = runAudit(t, "--dsn", dsn, "export", "--format", "xml")
		require.ErrorContains(t, err, "unknown format")
	})
}

func TestStats(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		at := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
		seed(t, dsn, 6, at)
		out := mustRun(t, "--dsn", dsn, "stats", "--spool", filepath.Join(t.TempDir(), "spool"))
		require.Regexp(t, `(?m)^requests\s+6\s+2024-06-01T12:00:00Z\s+2024-06-01T12:00:05Z`, out)
		require.Regexp(t, `(?m)^registrations\s+12\s`, out)
		require.Contains(t, out, " on disk")
		require.Contains(t, out, "absent (nothing waiting)")
	})
}

// writeSpool leaves a spool directory as a dead instance would: two
// records of one batch each.
func writeSpool(t *testing.T, dir string, batches ...*entities.Batch) {
	t.Helper()
	sp, err := spool.Open(dir, spool.Options{})
	require.NoError(t, err)
	for _, b := range batches {
		p, err := writer.EncodeSpoolRecord([]*entities.Batch{b})
		require.NoError(t, err)
		require.NoError(t, sp.Append(p))
	}
	require.NoError(t, sp.Close())
}

func TestSpoolInspectAndReplay(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		mustRun(t, "--dsn", dsn, "migrate")
		at := time.Date(2025, 5, 5, 5, 5, 5, 0, time.UTC)
		b1 := &entities.Batch{Requests: []entities.RequestEvent{{ID: entities.NewID(), Datetime: at, Method: "GET", URL: "/api/a"}}}
		b2 := &entities.Batch{Requests: []entities.RequestEvent{{ID: entities.NewID(), Datetime: at.Add(time.Minute), Method: "POST", URL: "/api/b"}},
			Logins: []entities.LoginEvent{{ID: entities.NewID(), Datetime: at.Add(time.Minute), Status: entities.LoginFailed}}}
		dir := filepath.Join(t.TempDir(), "spool")
		writeSpool(t, dir, b1, b2)

		out := mustRun(t, "spool", "inspect", dir)
		require.Contains(t, out, "waiting: 2 batches, 3 rows, requests 2, logins 1")
		require.Contains(t, out, "dated from 2025-05-05T05:05:05Z to 2025-05-05T05:06:05Z")

		out = mustRun(t, "--dsn", dsn, "stats", "--spool", dir)
		require.Contains(t, out, "2 batches, 3 rows waiting")

		out = mustRun(t, "--dsn", dsn, "spool", "replay", dir)
		require.Contains(t, out, "replayed 2 batches, 3 rows")
		db := testdb.Open(t, dsn)
		require.Equal(t, int64(2), rows(t, db, repository.Requests))
		require.Equal(t, int64(1), rows(t, db, repository.Logins))

		out = mustRun(t, "spool", "inspect", dir)
		require.Contains(t, out, "waiting: 0 batches, 0 rows")

		// A spool a live writer holds is refused.
		sp, err := spool.Open(dir, spool.Options{})
		require.NoError(t, err)
		defer sp.Close()
		_, _, err = runAudit(t, "--dsn", dsn, "spool", "replay", dir)
		require.ErrorContains(t, err, "in use by a running writer")
	})
}
