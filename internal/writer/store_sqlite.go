package writer

import (
	"context"
	"fmt"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// SQLite write path for request events: multi-row INSERT statements,
// prepared once per transaction and executed for every chunk of rows.
// SQLite parses a statement each time it is prepared, so GORM's
// CreateInBatches (a new statement text per chunk) spends most of its time
// parsing; a prepared 64-row statement is parsed once per 1,000-row
// transaction and binds values directly.

// requestColumns are the request event columns, in the order of
// requestArgs.
const requestColumns = `id, datetime, user_id, ip_address, method, url, route, query_params, request_type,
 request_body, response_body, status_code, response_time_ms, response_size, error_type, error_message,
 error_stacktrace, extra_informations`

const requestWidth = 18

// sqliteChunks are the row counts of the prepared statements, largest
// first: 64 rows bind 1,152 values, far below SQLite's limit of 32,766.
var sqliteChunks = []int{64, 8, 1}

// requestInsertSQL is the INSERT of rows request events, idempotent.
func requestInsertSQL(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", requestWidth), ", ") + ")"
	return "INSERT INTO audit_request_events (" + requestColumns + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ") + " ON CONFLICT (id) DO NOTHING"
}

// requestArgs puts r's values in v (requestWidth values).
func requestArgs(v []any, r *entities.RequestEvent) {
	v[0], v[1], v[2], v[3], v[4], v[5] = r.ID, r.Datetime, r.UserID, r.IPAddress, r.Method, r.URL
	v[6], v[7], v[8], v[9], v[10], v[11] = r.Route, r.QueryParams, r.RequestType, r.RequestBody, r.ResponseBody, r.StatusCode
	v[12], v[13], v[14], v[15], v[16], v[17] = r.ResponseTimeMS, r.ResponseSize, r.ErrorType, r.ErrorMessage, r.ErrorStacktrace, r.ExtraInformations
}

// insertRequestsSQLite inserts rows inside the transaction of pool.
func insertRequestsSQLite(ctx context.Context, pool gorm.ConnPool, rows []entities.RequestEvent) error {
	args := make([]any, requestWidth*sqliteChunks[0])
	for _, size := range sqliteChunks {
		if len(rows) < size {
			continue
		}
		stmt, err := pool.PrepareContext(ctx, requestInsertSQL(size))
		if err != nil {
			return fmt.Errorf("prepare %d-row insert: %w", size, err)
		}
		for len(rows) >= size {
			v := args[:requestWidth*size]
			for i := range size {
				requestArgs(v[i*requestWidth:], &rows[i])
			}
			if _, err := stmt.ExecContext(ctx, v...); err != nil {
				stmt.Close()
				return err
			}
			rows = rows[size:]
		}
		stmt.Close()
	}
	return nil
}
