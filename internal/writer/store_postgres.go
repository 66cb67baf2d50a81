package writer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL write path: binary COPY through the pgx connection under the
// GORM handle. A fresh batch is copied straight into the tables, in one
// transaction. A batch whose commit is in doubt (a retry, a replay from
// the spool), or whose COPY meets a row already there, is copied into
// temporary tables and moved with INSERT ... SELECT ... ON CONFLICT DO
// NOTHING, so no row is ever stored twice. The conflict has no target: the
// primary key is (id) on a plain table, (id, datetime) on a partitioned
// one (partition.go), and a row's datetime never changes.

// copyTable is one audit table as COPY sees it.
type copyTable struct {
	name    string
	columns []string
}

var (
	requestCopy = copyTable{"audit_request_events", []string{"id", "datetime", "user_id", "ip_address", "method", "url",
		"route", "query_params", "request_type", "request_body", "response_body", "status_code", "response_time_ms",
		"response_size", "error_type", "error_message", "error_stacktrace", "extra_informations", "digest_id"}}
	loginCopy = copyTable{"audit_login_events", []string{"id", "datetime", "status", "request_id", "user_id",
		"username", "extra_informations", "digest_id"}}
	processCopy = copyTable{"audit_process_events", []string{"id", "datetime", "name", "description", "created_by",
		"request_id", "extra_informations", "digest_id"}}
	stepCopy = copyTable{"audit_step_events", []string{"id", "datetime", "process_id", "name", "description",
		"step_order", "total_registrations", "created_by", "extra_informations", "digest_id"}}
	registrationCopy = copyTable{"audit_registration_events", []string{"id", "datetime", "step_id", "success", "name",
		"description", "created_by", "extra_informations", "digest_id"}}
)

func uuidValue(id entities.ID) [16]byte { return id }

func nullUUID(id *entities.ID) any {
	if id == nil {
		return nil
	}
	return [16]byte(*id)
}

// copySource feeds n rows to CopyFrom, filling one reused value slice per
// row (pgx encodes each row before asking for the next).
func copySource(n int, width int, fill func(i int, v []any)) pgx.CopyFromSource {
	vals := make([]any, width)
	return pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		fill(i, vals)
		return vals, nil
	})
}

// copyBatch runs fn for every non-empty table of b with its rows as a
// COPY source.
func copyBatch(b *entities.Batch, fn func(t copyTable, n int, src pgx.CopyFromSource) error) error {
	if n := len(b.Requests); n > 0 {
		if err := fn(requestCopy, n, copySource(n, len(requestCopy.columns), func(i int, v []any) {
			r := &b.Requests[i]
			v[0], v[1], v[2], v[3], v[4], v[5] = uuidValue(r.ID), r.Datetime, r.UserID, r.IPAddress, r.Method, r.URL
			v[6], v[7], v[8], v[9], v[10], v[11] = r.Route, r.QueryParams, r.RequestType, r.RequestBody, r.ResponseBody, r.StatusCode
			v[12], v[13], v[14], v[15], v[16], v[17] = copyNumeric(r.ResponseTimeMS), r.ResponseSize, r.ErrorType, r.ErrorMessage, r.ErrorStacktrace, r.ExtraInformations
			v[18] = nullUUID(r.DigestID)
		})); err != nil {
			return fmt.Errorf("copy request events: %w", err)
		}
	}
	if n := len(b.Logins); n > 0 {
		if err := fn(loginCopy, n, copySource(n, len(loginCopy.columns), func(i int, v []any) {
			l := &b.Logins[i]
			v[0], v[1], v[2], v[3], v[4], v[5], v[6] = uuidValue(l.ID), l.Datetime, l.Status, nullUUID(l.RequestID), l.UserID, l.Username, l.ExtraInformations
			v[7] = nullUUID(l.DigestID)
		})); err != nil {
			return fmt.Errorf("copy login events: %w", err)
		}
	}
	if n := len(b.Processes); n > 0 {
		if err := fn(processCopy, n, copySource(n, len(processCopy.columns), func(i int, v []any) {
			p := &b.Processes[i]
			v[0], v[1], v[2], v[3], v[4], v[5], v[6] = uuidValue(p.ID), p.Datetime, p.Name, p.Description, p.CreatedBy, nullUUID(p.RequestID), p.ExtraInformations
			v[7] = nullUUID(p.DigestID)
		})); err != nil {
			return fmt.Errorf("copy process events: %w", err)
		}
	}
	if n := len(b.Steps); n > 0 {
		if err := fn(stepCopy, n, copySource(n, len(stepCopy.columns), func(i int, v []any) {
			s := &b.Steps[i]
			v[0], v[1], v[2], v[3], v[4] = uuidValue(s.ID), s.Datetime, uuidValue(s.ProcessID), s.Name, s.Description
			v[5], v[6], v[7], v[8] = s.StepOrder, s.TotalRegistrations, s.CreatedBy, s.ExtraInformations
			v[9] = nullUUID(s.DigestID)
		})); err != nil {
			return fmt.Errorf("copy step events: %w", err)
		}
	}
	if n := len(b.Registrations); n > 0 {
		if err := fn(registrationCopy, n, copySource(n, len(registrationCopy.columns), func(i int, v []any) {
			r := &b.Registrations[i]
			v[0], v[1], v[2], v[3], v[4] = uuidValue(r.ID), r.Datetime, uuidValue(r.StepID), r.Success, r.Name
			v[5], v[6], v[7] = r.Description, r.CreatedBy, r.ExtraInformations
			v[8] = nullUUID(r.DigestID)
		})); err != nil {
			return fmt.Errorf("copy registration events: %w", err)
		}
	}
	return nil
}

// writePostgres writes b with COPY on one pooled connection. It reports
// ok false when the handle is not backed by pgx's database/sql driver.
func writePostgres(ctx context.Context, db *sql.DB, b *entities.Batch, seal *integrity.Sealer) (ok bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return true, err
	}
	defer conn.Close()
	ok = true
	err = conn.Raw(func(dc any) error {
		sc, isPgx := dc.(*stdlib.Conn)
		if !isPgx {
			ok = false
			return nil
		}
		pc := sc.Conn()
		numericFastPath(pc.TypeMap()) // pgnumeric.go
		if inDoubt(ctx) {
			return copyIdempotent(ctx, pc, b, newSealTx(seal, b))
		}
		err := copyFresh(ctx, pc, b, newSealTx(seal, b))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation: some rows are in already
			return copyIdempotent(ctx, pc, b, newSealTx(seal, b))
		}
		return err
	})
	return ok, err
}

// copyFresh copies b into the audit tables in one transaction, with its
// digest when seal is not nil.
func copyFresh(ctx context.Context, c *pgx.Conn, b *entities.Batch, seal *sealTx) error {
	err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		err := copyBatch(b, func(t copyTable, n int, src pgx.CopyFromSource) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, src)
			return err
		})
		if err != nil {
			return err
		}
		return seal.finishPostgres(ctx, tx)
	})
	seal.done(err)
	return err
}

// copyIdempotent copies b into temporary tables (one per audit table and
// connection, emptied at each commit) and inserts from them the rows not
// yet stored, in one transaction. With seal, the digest covers only the
// rows this transaction inserted.
func copyIdempotent(ctx context.Context, c *pgx.Conn, b *entities.Batch, seal *sealTx) error {
	err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		err := copyBatch(b, func(t copyTable, n int, src pgx.CopyFromSource) error {
			tmp := "audit_incoming_" + t.name
			if _, err := tx.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+tmp+" (LIKE "+t.name+") ON COMMIT DELETE ROWS"); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{tmp}, t.columns, src); err != nil {
				return err
			}
			cols := strings.Join(t.columns, ", ")
			insert := "INSERT INTO " + t.name + " (" + cols + ") SELECT " + cols + " FROM " + tmp + " ON CONFLICT DO NOTHING"
			if seal != nil {
				return seal.insertReturning(ctx, tx, t.name, insert)
			}
			_, err := tx.Exec(ctx, insert)
			return err
		})
		if err != nil {
			return err
		}
		return seal.finishPostgres(ctx, tx)
	})
	seal.done(err)
	return err
}
