package query

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// URL search modes of RequestFilter.
const (
	URLPrefix   = "prefix"   // url starts with the text: served by the url index
	URLContains = "contains" // url contains the text: a scan, bounded by the other filters
)

// RequestFilter selects request events. Zero fields do not filter. Every
// value is sent as a bound parameter, never as SQL text.
type RequestFilter struct {
	Method string
	// StatusMin and StatusMax bound the status code, both inclusive: 404..404
	// for one code, 400..499 for a class. Zero is open.
	StatusMin, StatusMax int
	UserID               string
	IPAddress            string
	// URL is searched as URLMatch says (URLPrefix when empty).
	URL      string
	URLMatch string
	Time     TimeRange
}

func (f RequestFilter) apply(q *gorm.DB) *gorm.DB {
	if f.Method != "" {
		q = q.Where("method = ?", f.Method)
	}
	switch {
	case f.StatusMin != 0 && f.StatusMin == f.StatusMax:
		q = q.Where("status_code = ?", f.StatusMin)
	case f.StatusMin != 0 || f.StatusMax != 0:
		lo, hi := f.StatusMin, f.StatusMax
		if hi == 0 {
			hi = 999
		}
		q = rangeFilter(q, "status_code >= ? AND status_code <= ?", lo, hi)
	}
	if f.UserID != "" {
		// user_id <> '' is the predicate of the partial user index
		// (repository/indexes.go): saying it lets the planner use it.
		q = q.Where("user_id = ? AND user_id <> ''", f.UserID)
	}
	if f.IPAddress != "" {
		q = q.Where("ip_address = ?", f.IPAddress)
	}
	if f.URL != "" {
		q = urlSearch(q, f.URL, f.URLMatch)
	}
	return f.Time.apply(q, "datetime")
}

// commonRows is the number of matching rows above which a range filter is
// "common" for SQLite: see rangeFilter.
const commonRows = 2000

// rangeFilter adds a range condition on one indexed column (cond uses the
// column name as its first word). PostgreSQL chooses between the column's
// index and the datetime order from its statistics. SQLite has none, and
// always prefers the range's index, which for a common value (status 2xx,
// url prefix /api/) means sorting most of the table to show 50 rows. So on
// SQLite an index-only probe counts up to commonRows matches first: when
// there are fewer, the index is used and its few rows sorted; when there
// are more, the column is written +column, which SQLite does not look up in
// an index, and the rows are read in datetime order until the page is full.
func rangeFilter(q *gorm.DB, cond string, args ...any) *gorm.DB {
	if q.Dialector.Name() != "sqlite" {
		return q.Where(cond, args...)
	}
	var n int64
	probe := q.Session(&gorm.Session{NewDB: true}).
		Raw("SELECT COUNT(*) FROM (SELECT 1 FROM audit_request_events WHERE "+cond+" LIMIT ?)", append(args, commonRows)...)
	if err := probe.Scan(&n).Error; err != nil || n < commonRows {
		return q.Where(cond, args...)
	}
	col, _, _ := strings.Cut(cond, " ")
	return q.Where(strings.ReplaceAll(cond, col, "+"+col), args...)
}

// urlSearch filters on url so that a prefix search can use the url index of
// Migrate: on PostgreSQL a LIKE on left(url, 255) (the indexed expression,
// text_pattern_ops) rechecked with starts_with; on SQLite a range on the
// binary-collated column (see rangeFilter). Contains is strpos / instr: no
// pattern syntax to escape, a scan of the rows the other filters leave, in
// datetime order.
func urlSearch(q *gorm.DB, text, mode string) *gorm.DB {
	pg := q.Dialector.Name() == "postgres"
	if mode == URLContains {
		if pg {
			return q.Where("strpos(url, ?) > 0", text)
		}
		return q.Where("instr(url, ?) > 0", text)
	}
	if pg {
		head := text
		if r := []rune(head); len(r) > 255 {
			head = string(r[:255])
		}
		return q.Where(`left(url, 255) LIKE ? AND starts_with(url, ?)`, likePrefix(head), text)
	}
	return rangeFilter(q, "url >= ? AND url < ?", text, prefixUpperBound(text))
}

// likePrefix escapes LIKE's wildcards (PostgreSQL's default escape is the
// backslash) and appends %.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// prefixUpperBound is the smallest string greater than every string that
// starts with p, in byte order: p with its last byte incremented (dropping
// trailing 0xff bytes).
func prefixUpperBound(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return string(b) + "\xff" // all 0xff: unreachable for valid UTF-8
}

func requestKey(r *entities.RequestEvent) ListCursor {
	return ListCursor{Datetime: r.Datetime, ID: r.ID}
}

// ListRequests returns one page of request events matching f.
func ListRequests(ctx context.Context, db *gorm.DB, f RequestFilter, o ListOptions) (ListPage[entities.RequestEvent], error) {
	return listPage(ctx, db, o, f.apply, requestKey)
}

// StreamRequests yields every request event matching f in the order o asks
// for, reading the database page by page, up to max rows (0: no limit).
func StreamRequests(ctx context.Context, db *gorm.DB, f RequestFilter, o ListOptions, max int) iter.Seq2[*entities.RequestEvent, error] {
	return streamRows(ctx, db, o, max, f.apply, requestKey)
}

// FindRequest loads one request event. It returns gorm.ErrRecordNotFound
// when there is none.
func FindRequest(ctx context.Context, db *gorm.DB, id entities.ID) (*entities.RequestEvent, error) {
	var r entities.RequestEvent
	if err := db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, fmt.Errorf("audit: find request %s: %w", id, err)
	}
	return &r, nil
}

// LoginsOfRequest returns the login events a request carried, oldest first.
func LoginsOfRequest(ctx context.Context, db *gorm.DB, id entities.ID) ([]entities.LoginEvent, error) {
	var rows []entities.LoginEvent
	err := db.WithContext(ctx).Where("request_id = ?", id).Order("datetime").Order("id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("audit: logins of request %s: %w", id, err)
	}
	return rows, nil
}
