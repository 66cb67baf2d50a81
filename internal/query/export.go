package query

import (
	"context"
	"fmt"
	"github.com/gin-audit-trail/audit/repository"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// EachRow calls fn with every row of kind whose datetime is in [from, to)
// (a zero bound is open), in datetime order, one row at a time: the rows
// are streamed from the database, never loaded together, so memory stays
// constant whatever their number. columns are the table's column names;
// values holds the row's values in that order, the same on SQLite and
// PostgreSQL (string, int64, float64, bool, time.Time in UTC, or nil; ids
// as their text), and is reused by the next call. An error
// from fn stops the iteration and is returned.
func EachRow(ctx context.Context, db *gorm.DB, kind repository.Kind, from, to time.Time, fn func(columns []string, values []any) error) error {
	cols, kinds, err := columns(db, kind)
	if err != nil {
		return err
	}
	where, args := rangeWhere(from, to)
	rows, err := db.WithContext(ctx).Raw("SELECT "+strings.Join(cols, ", ")+" FROM "+kind.Table()+where+" ORDER BY datetime, id", args...).Rows()
	if err != nil {
		return fmt.Errorf("audit: read %s: %w", kind.Table(), err)
	}
	defer rows.Close()
	table := kind.Table()
	values := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("audit: read %s: %w", table, err)
		}
		for i, v := range values {
			values[i] = normalize(v, kinds[cols[i]])
		}
		if err := fn(cols, values); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read %s: %w", table, err)
	}
	return nil
}

// Columns names the columns of kind's table, in the order EachRow gives
// their values.
func Columns(db *gorm.DB, kind repository.Kind) ([]string, error) {
	cols, _, err := columns(db, kind)
	return cols, err
}

// columns names the columns of kind's table and the Go kind of each: the
// drivers hand some back in another type (SQLite booleans as integers,
// PostgreSQL numeric as text).
func columns(db *gorm.DB, kind repository.Kind) (cols []string, kinds map[string]reflect.Kind, err error) {
	if kind.Table() == "" {
		return nil, nil, fmt.Errorf("audit: unknown kind %q", kind)
	}
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(kind.Model()); err != nil {
		return nil, nil, fmt.Errorf("audit: columns of %s: %w", kind.Table(), err)
	}
	kinds = map[string]reflect.Kind{}
	for _, f := range stmt.Schema.Fields {
		if f.DBName == "" {
			continue
		}
		cols = append(cols, f.DBName)
		kinds[f.DBName] = f.FieldType.Kind()
	}
	return cols, kinds, nil
}

// CountRows counts the rows of kind whose datetime is in [from, to) (a zero
// bound is open).
func CountRows(ctx context.Context, db *gorm.DB, kind repository.Kind, from, to time.Time) (int64, error) {
	if kind.Table() == "" {
		return 0, fmt.Errorf("audit: unknown kind %q", kind)
	}
	where, args := rangeWhere(from, to)
	var n int64
	if err := db.WithContext(ctx).Raw("SELECT count(*) FROM "+kind.Table()+where, args...).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("audit: count %s: %w", kind.Table(), err)
	}
	return n, nil
}

func rangeWhere(from, to time.Time) (string, []any) {
	var conds []string
	var args []any
	if !from.IsZero() {
		conds = append(conds, "datetime >= ?")
		args = append(args, from.UTC())
	}
	if !to.IsZero() {
		conds = append(conds, "datetime < ?")
		args = append(args, to.UTC())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// normalize gives a scanned value the same type on every database.
func normalize(v any, want reflect.Kind) any {
	switch x := v.(type) {
	case []byte:
		return normalize(string(x), want)
	case [16]byte:
		return uuid.UUID(x).String()
	case time.Time:
		return x.UTC()
	case int64:
		switch want {
		case reflect.Bool:
			return x != 0
		case reflect.Float32, reflect.Float64:
			return float64(x)
		}
	case string:
		if want == reflect.Float32 || want == reflect.Float64 {
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return f
			}
		}
	}
	return v
}
