package writer

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/stmtcache"
	"gorm.io/gorm"
)

// SQLite write path for request events: multi-row INSERT statements,
// prepared once per connection (the stmtcache that repository.Open
// registers on the handle) and executed for every
// chunk of rows. SQLite parses a statement each time it is prepared, so
// GORM's CreateInBatches (a new statement text per chunk) spends most of
// its time parsing; a prepared 64-row statement binds values directly.
//
// The statements are INSERT OR IGNORE: a row whose id is already stored is
// skipped (what ON CONFLICT (id) DO NOTHING says; the table has no other
// constraint a row built by the writer can break: datetime is never NULL).
// An ON CONFLICT clause leaves every other constraint to ABORT, so SQLite
// keeps a statement journal for each multi-row statement to undo its first
// rows, copying every page the statement touches; OR IGNORE cannot abort
// half-way, and writes about 1.3 times as many rows per second.

// requestColumns are the request event columns, in the order of
// requestArgs.
const requestColumns = `id, datetime, user_id, ip_address, method, url, route, query_params, request_type,
 request_body, response_body, status_code, response_time_ms, response_size, error_type, error_message,
 error_stacktrace, extra_informations, digest_id`

const requestWidth = 19

// sqliteChunks are the row counts of the prepared statements, largest
// first: 64 rows bind 1,216 values, far below SQLite's limit of 32,766.
var sqliteChunks = []int{64, 8, 1}

// sqliteInserts are the statement texts of sqliteChunks, built once.
var sqliteInserts = func() map[int]string {
	m := map[int]string{}
	for _, n := range sqliteChunks {
		m[n] = requestInsertSQL(n)
	}
	return m
}()

// requestInsertSQL is the INSERT of rows request events, idempotent.
func requestInsertSQL(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", requestWidth), ", ") + ")"
	return "INSERT OR IGNORE INTO audit_request_events (" + requestColumns + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// requestArgs puts r's values in v (requestWidth values), already in the
// types the driver binds (string, int64, float64, time.Time, nil), so that
// database/sql passes them through without calling Value methods or
// converting through reflection.
func requestArgs(v []any, r *entities.RequestEvent) {
	var extra, digest any // NULL, as JSONText.Value and a nil *ID say
	if r.ExtraInformations != "" {
		extra = string(r.ExtraInformations)
	}
	if r.DigestID != nil {
		digest = r.DigestID.String()
	}
	v[0], v[1], v[2], v[3], v[4], v[5] = r.ID.String(), r.Datetime, r.UserID, r.IPAddress, r.Method, r.URL
	v[6], v[7], v[8], v[9], v[10], v[11] = r.Route, r.QueryParams, r.RequestType, r.RequestBody, r.ResponseBody, int64(r.StatusCode)
	v[12], v[13], v[14], v[15], v[16], v[17] = r.ResponseTimeMS, r.ResponseSize, r.ErrorType, r.ErrorMessage, r.ErrorStacktrace, extra
	v[18] = digest
}

// prepareSQLiteInserts prepares the statements of sqliteChunks in cache
// (nil: none), once, before the transaction that uses them begins.
func prepareSQLiteInserts(ctx context.Context, cache *stmtcache.Cache) {
	if cache == nil {
		return
	}
	for _, q := range sqliteInserts {
		if _, ok := cache.Get(q); !ok {
			_, _ = cache.Prepare(ctx, q) // on failure the transaction prepares its own
		}
	}
}

// insertRequestsSQLite inserts rows inside the transaction of pool, with
// the statements of cache when pool is a *sql.Tx and cache has them
// (prepareSQLiteInserts), else with statements prepared for this
// transaction.
func insertRequestsSQLite(ctx context.Context, pool gorm.ConnPool, cache *stmtcache.Cache, rows []entities.RequestEvent) error {
	tx, _ := pool.(*sql.Tx)
	args := make([]any, requestWidth*min(len(rows), sqliteChunks[0]))
	for _, size := range sqliteChunks {
		if len(rows) < size {
			continue
		}
		var stmt *sql.Stmt
		var err error
		if cached, ok := cache.Get(sqliteInserts[size]); ok && tx != nil {
			stmt = tx.StmtContext(ctx, cached) // closed with the transaction; the prepared statement stays
		} else if stmt, err = pool.PrepareContext(ctx, sqliteInserts[size]); err == nil {
			defer stmt.Close()
		}
		if err != nil {
			return fmt.Errorf("prepare %d-row insert: %w", size, err)
		}
		for len(rows) >= size {
			v := args[:requestWidth*size]
			for i := range size {
				requestArgs(v[i*requestWidth:], &rows[i])
			}
			if _, err := stmt.ExecContext(ctx, v...); err != nil {
				return err
			}
			rows = rows[size:]
		}
	}
	return nil
}
