package writer

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
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
//
// Binding is a third of the C side's work (one cgo call, and a copy, per
// value), and most request events leave half their columns empty: no
// user, no query, no body, no error. So a 64-row chunk binds only the
// sparse column groups that one of its rows uses, and the statement says
// the others' empty value ('' or NULL) as a literal: a statement per
// shape, at most 64 of them, prepared when first needed.

// requestColumn is one column of audit_request_events as the writer
// inserts it: group is the sparse group it belongs to (dense: always
// bound), empty the literal a chunk that does not bind it stores (what
// binding the row's empty value would store).
type requestColumn struct {
	name  string
	group shape
	empty string
}

// shape is a set of sparse column groups: those a chunk's statement binds.
type shape uint8

const (
	dense      shape = 0 // a column every row binds
	sparseUser shape = 1 << (iota - 1)
	sparseRoute
	sparseInput // query parameters and request body
	sparseError
	sparseExtra
	sparseDigest

	fullShape = sparseUser | sparseRoute | sparseInput | sparseError | sparseExtra | sparseDigest
)

// requestColumns are the request event columns, in the order of
// appendRequestArgs.
var requestColumns = [...]requestColumn{
	{"id", dense, ""}, {"datetime", dense, ""}, {"user_id", sparseUser, "''"}, {"ip_address", dense, ""},
	{"method", dense, ""}, {"url", dense, ""}, {"route", sparseRoute, "''"}, {"query_params", sparseInput, "''"},
	{"request_type", dense, ""}, {"request_body", sparseInput, "''"}, {"response_body", dense, ""},
	{"status_code", dense, ""}, {"response_time_ms", dense, ""}, {"response_size", dense, ""},
	{"error_type", sparseError, "''"}, {"error_message", sparseError, "''"}, {"error_stacktrace", sparseError, "''"},
	{"extra_informations", sparseExtra, "NULL"}, {"digest_id", sparseDigest, "NULL"},
}

const requestWidth = len(requestColumns)

// shapeOf is the set of sparse groups r has a value in.
func shapeOf(r *entities.RequestEvent) shape {
	var s shape
	if r.UserID != "" {
		s |= sparseUser
	}
	if r.Route != "" {
		s |= sparseRoute
	}
	if r.QueryParams != "" || r.RequestBody != "" {
		s |= sparseInput
	}
	if r.ErrorType != "" || r.ErrorMessage != "" || r.ErrorStacktrace != "" {
		s |= sparseError
	}
	if r.ExtraInformations != "" {
		s |= sparseExtra
	}
	if r.DigestID != nil {
		s |= sparseDigest
	}
	return s
}

// sqliteChunks are the row counts of the prepared statements, largest
// first: 64 rows bind at most 1,216 values, far below SQLite's limit of
// 32,766. Only 64-row chunks are shaped; the few rows left over are
// bound in full.
var sqliteChunks = []int{64, 8, 1}

// sqliteChunk is a run of rows inserted by one statement.
type sqliteChunk struct {
	rows  []entities.RequestEvent
	shape shape
}

// eachSQLiteChunk calls f with the chunks rows are inserted in, in order.
func eachSQLiteChunk(rows []entities.RequestEvent, f func(sqliteChunk) error) error {
	for _, size := range sqliteChunks {
		for len(rows) >= size {
			c := sqliteChunk{rows: rows[:size], shape: fullShape}
			if size == sqliteChunks[0] {
				c.shape = 0
				for i := range c.rows {
					c.shape |= shapeOf(&c.rows[i])
				}
			}
			if err := f(c); err != nil {
				return err
			}
			rows = rows[size:]
		}
	}
	return nil
}

// key names the chunk's statement in the statement cache.
func (c sqliteChunk) key() string {
	return "audit_request_events/" + strconv.Itoa(len(c.rows)) + "/" + strconv.Itoa(int(c.shape))
}

// requestInsertSQL is the INSERT of rows request events binding the
// sparse groups of s, idempotent.
func requestInsertSQL(rows int, s shape) string {
	names := make([]string, requestWidth)
	values := make([]string, requestWidth)
	for i, c := range requestColumns {
		names[i], values[i] = c.name, "?"
		if c.group != dense && s&c.group == 0 {
			values[i] = c.empty
		}
	}
	one := "(" + strings.Join(values, ", ") + ")"
	return "INSERT OR IGNORE INTO audit_request_events (" + strings.Join(names, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// appendRequestArgs appends r's values of the columns shape s binds, in
// the types the driver binds (string, int64, float64, nil; the datetime as
// the driver's text, sqliteTimestamp), so that database/sql passes them
// through without calling Value methods or converting through reflection.
func appendRequestArgs(v []any, r *entities.RequestEvent, s shape) []any {
	var extra, digest any // NULL, as JSONText.Value and a nil *ID say
	if r.ExtraInformations != "" {
		extra = string(r.ExtraInformations)
	}
	if r.DigestID != nil {
		digest = r.DigestID.String()
	}
	all := [requestWidth]any{r.ID.String(), sqliteTimestamp(r.Datetime), r.UserID, r.IPAddress, r.Method, r.URL,
		r.Route, r.QueryParams, r.RequestType, r.RequestBody, r.ResponseBody, int64(r.StatusCode),
		r.ResponseTimeMS, r.ResponseSize, r.ErrorType, r.ErrorMessage, r.ErrorStacktrace, extra, digest}
	for i, c := range requestColumns {
		if c.group == dense || s&c.group != 0 {
			v = append(v, all[i])
		}
	}
	return v
}

// prepareSQLiteInserts prepares in cache (nil: none) the statements rows
// will be inserted with, before the transaction that uses them begins:
// the handle may have no other connection to prepare on once it has.
// sealed says the rows will name a digest by then.
func prepareSQLiteInserts(ctx context.Context, cache *stmtcache.Cache, rows []entities.RequestEvent, sealed bool) {
	if cache == nil {
		return
	}
	_ = eachSQLiteChunk(rows, func(c sqliteChunk) error {
		if sealed {
			c.shape |= sparseDigest
		}
		if _, ok := cache.Get(c.key()); !ok {
			_, _ = cache.Prepare(ctx, c.key(), requestInsertSQL(len(c.rows), c.shape)) // on failure the transaction prepares its own
		}
		return nil
	})
}

// insertRequestsSQLite inserts rows inside the transaction of pool, with
// the statements of cache when pool is a *sql.Tx and cache has them
// (prepareSQLiteInserts), else with statements prepared for this
// transaction.
func insertRequestsSQLite(ctx context.Context, pool gorm.ConnPool, cache *stmtcache.Cache, rows []entities.RequestEvent) error {
	tx, _ := pool.(*sql.Tx)
	args := make([]any, 0, requestWidth*min(len(rows), sqliteChunks[0]))
	stmts := map[string]*sql.Stmt{} // this call's statements, by key
	var own []*sql.Stmt             // those prepared for this call only
	defer func() {
		for _, stmt := range own {
			stmt.Close()
		}
	}()
	return eachSQLiteChunk(rows, func(c sqliteChunk) error {
		stmt := stmts[c.key()]
		if stmt == nil {
			if cached, ok := cache.Get(c.key()); ok && tx != nil {
				stmt = tx.StmtContext(ctx, cached) // closed with the transaction; the prepared statement stays
			} else {
				var err error
				if stmt, err = pool.PrepareContext(ctx, requestInsertSQL(len(c.rows), c.shape)); err != nil {
					return fmt.Errorf("prepare %d-row insert: %w", len(c.rows), err)
				}
				own = append(own, stmt)
			}
			stmts[c.key()] = stmt
		}
		args = args[:0]
		for i := range c.rows {
			args = appendRequestArgs(args, &c.rows[i], c.shape)
		}
		_, err := stmt.ExecContext(ctx, args...)
		return err
	})
}
