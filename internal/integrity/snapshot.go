package integrity

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// snapshot runs every query of one verification against one consistent
// view of the database, so that batches committed while it runs are
// either wholly seen (rows and digest) or not at all. On PostgreSQL each
// stream has its own connection in a REPEATABLE READ transaction that
// imports the first one's snapshot (pg_export_snapshot); on SQLite the
// streams share one read transaction on one connection.
type snapshot struct {
	pg     bool
	db     *sql.DB
	id     string    // exported snapshot (PostgreSQL)
	first  *sql.Conn // PostgreSQL: holds the exported snapshot
	firstT *sql.Tx
	others []*sql.Conn
	txs    []*sql.Tx
	lookup *sql.Tx // PostgreSQL: one more connection for point look-ups
}

func openSnapshot(ctx context.Context, db *sql.DB, pg bool) (*snapshot, error) {
	s := &snapshot{pg: pg, db: db}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	s.first = conn
	opts := &sql.TxOptions{}
	if pg {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		s.close()
		return nil, err
	}
	s.firstT = tx
	if pg {
		if err := tx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&s.id); err != nil {
			s.close()
			return nil, fmt.Errorf("export snapshot: %w", err)
		}
	}
	return s, nil
}

// query runs q (with ? placeholders) in the snapshot. On PostgreSQL each
// call takes its own connection, so that several result sets stream at
// once.
func (s *snapshot) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if !s.pg {
		return s.firstT.QueryContext(ctx, q, args...)
	}
	tx, err := s.join(ctx)
	if err != nil {
		return nil, err
	}
	return tx.QueryContext(ctx, dollars(q), args...)
}

// join opens one more PostgreSQL connection in a read-only transaction
// that imports the snapshot; close releases it.
func (s *snapshot) join(ctx context.Context) (*sql.Tx, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	s.others = append(s.others, conn)
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	s.txs = append(s.txs, tx)
	if _, err := tx.ExecContext(ctx, "SET TRANSACTION SNAPSHOT '"+s.id+"'"); err != nil {
		return nil, fmt.Errorf("import snapshot: %w", err)
	}
	return tx, nil
}

// lookup runs a short query in the snapshot; its rows must be closed
// before the next look-up. On PostgreSQL all look-ups share one more
// connection.
func (s *snapshot) lookupQuery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if !s.pg {
		return s.firstT.QueryContext(ctx, q, args...)
	}
	if s.lookup == nil {
		tx, err := s.join(ctx)
		if err != nil {
			return nil, err
		}
		s.lookup = tx
	}
	return s.lookup.QueryContext(ctx, dollars(q), args...)
}

// dollars turns ? placeholders into $1, $2 ... (the queries here have no
// ? inside literals).
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *snapshot) close() {
	for _, tx := range s.txs {
		_ = tx.Rollback()
	}
	for _, c := range s.others {
		_ = c.Close()
	}
	if s.firstT != nil {
		_ = s.firstT.Rollback()
	}
	if s.first != nil {
		_ = s.first.Close()
	}
}
