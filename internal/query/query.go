package query

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// List sizes: a page holds DefaultListLimit rows unless asked otherwise,
// and never more than MaxListLimit.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
	// streamPageRows is how many rows a streaming query reads per round
	// trip.
	streamPageRows = 500
)

// ListCursor is the keyset position of a row in a list sorted by datetime:
// the datetime and id of the last row of the previous page. Its String form
// is opaque and URL-safe.
type ListCursor struct {
	Datetime time.Time
	ID       entities.ID
}

// String encodes the cursor for a URL parameter.
func (c ListCursor) String() string {
	raw := c.Datetime.UTC().Format(time.RFC3339Nano) + "|" + c.ID.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseListCursor decodes a cursor made by ListCursor.String.
func ParseListCursor(s string) (ListCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ListCursor{}, errors.New("malformed cursor")
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return ListCursor{}, errors.New("malformed cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ListCursor{}, errors.New("malformed cursor time")
	}
	pid, err := entities.ParseID(id)
	if err != nil {
		return ListCursor{}, errors.New("malformed cursor id")
	}
	return ListCursor{Datetime: t.UTC(), ID: pid}, nil
}

// ListOptions choose one page of a list sorted by datetime (then id, so the
// order is total and keyset pagination never skips or repeats a row).
type ListOptions struct {
	// Limit is the page size: 0 means DefaultListLimit; it is capped at
	// MaxListLimit.
	Limit int
	// After, when set, starts the page after this row (keyset pagination).
	After *ListCursor
	// Ascending sorts oldest first; the default is newest first.
	Ascending bool
}

func (o ListOptions) limit() int {
	switch {
	case o.Limit <= 0:
		return DefaultListLimit
	case o.Limit > MaxListLimit:
		return MaxListLimit
	}
	return o.Limit
}

// ListPage is one page of a list. Next is the cursor of the following page,
// empty on the last page.
type ListPage[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// TimeRange bounds datetime: From inclusive, To exclusive; a zero bound is
// open.
type TimeRange struct {
	From, To time.Time
}

func (r TimeRange) apply(q *gorm.DB, col string) *gorm.DB {
	if !r.From.IsZero() {
		q = q.Where(col+" >= ?", r.From.UTC())
	}
	if !r.To.IsZero() {
		q = q.Where(col+" < ?", r.To.UTC())
	}
	return q
}

// keyset orders q by (datetime, id) and starts it after o.After.
func keyset(q *gorm.DB, o ListOptions) *gorm.DB {
	cmp, dir := "<", "DESC"
	if o.Ascending {
		cmp, dir = ">", "ASC"
	}
	if o.After != nil {
		// (datetime, id) < (d, i), written as a range on datetime that
		// every planner serves from the datetime index, and a residue.
		d := o.After.Datetime.UTC()
		q = q.Where("datetime "+cmp+"= ? AND (datetime "+cmp+" ? OR id "+cmp+" ?)", d, d, o.After.ID)
	}
	return q.Order("datetime " + dir).Order("id " + dir)
}

// listPage runs a keyset query built by build and returns one page.
func listPage[T any](ctx context.Context, db *gorm.DB, o ListOptions, build func(*gorm.DB) *gorm.DB, key func(*T) ListCursor) (ListPage[T], error) {
	n := o.limit()
	var rows []T
	q := keyset(build(db.WithContext(ctx).Model(new(T))), o)
	if err := q.Limit(n + 1).Find(&rows).Error; err != nil {
		return ListPage[T]{}, fmt.Errorf("audit: list: %w", err)
	}
	page := ListPage[T]{Items: rows}
	if len(rows) > n {
		page.Items = rows[:n]
		page.Next = key(&rows[n-1]).String()
	}
	if page.Items == nil {
		page.Items = []T{}
	}
	return page, nil
}

// streamRows yields every row of a keyset query, reading streamPageRows at
// a time, up to max rows (0: no limit). It stops at the first error, which
// it yields.
func streamRows[T any](ctx context.Context, db *gorm.DB, o ListOptions, max int, build func(*gorm.DB) *gorm.DB, key func(*T) ListCursor) iter.Seq2[*T, error] {
	return enrichedStream(streamPages(ctx, db, o, max, build, key), func(rows []T) ([]T, error) { return rows, nil })
}

// streamPages yields the pages of a keyset query, streamPageRows rows at a
// time, up to max rows (0: no limit), then stops; an error ends it.
func streamPages[T any](ctx context.Context, db *gorm.DB, o ListOptions, max int, build func(*gorm.DB) *gorm.DB, key func(*T) ListCursor) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		seen := 0
		for {
			o.Limit = streamPageRows
			if max > 0 && max-seen < streamPageRows {
				o.Limit = max - seen
			}
			if o.Limit <= 0 {
				return
			}
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			page, err := listPage(ctx, db, o, build, key)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page.Items) > 0 && !yield(page.Items, nil) {
				return
			}
			seen += len(page.Items)
			if page.Next == "" {
				return
			}
			c := key(&page.Items[len(page.Items)-1])
			o.After = &c
		}
	}
}

// enrichedStream turns each page of pages into rows of another type with
// enrich (one query per page, not per row) and yields them one by one.
func enrichedStream[T, R any](pages iter.Seq2[[]T, error], enrich func([]T) ([]R, error)) iter.Seq2[*R, error] {
	return func(yield func(*R, error) bool) {
		for page, err := range pages {
			if err != nil {
				yield(nil, err)
				return
			}
			rows, err := enrich(page)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range rows {
				if !yield(&rows[i], nil) {
					return
				}
			}
		}
	}
}

// enrichedPage is listPage followed by enrich.
func enrichedPage[T, R any](ctx context.Context, db *gorm.DB, o ListOptions, build func(*gorm.DB) *gorm.DB, key func(*T) ListCursor, enrich func([]T) ([]R, error)) (ListPage[R], error) {
	page, err := listPage(ctx, db, o, build, key)
	if err != nil {
		return ListPage[R]{}, err
	}
	items, err := enrich(page.Items)
	if err != nil {
		return ListPage[R]{}, err
	}
	if items == nil {
		items = []R{}
	}
	return ListPage[R]{Items: items, Next: page.Next}, nil
}

// idsOf collects the distinct non-nil ids that id returns for rows.
func idsOf[T any](rows []T, id func(*T) *entities.ID) []entities.ID {
	seen := make(map[entities.ID]bool, len(rows))
	var out []entities.ID
	for i := range rows {
		if v := id(&rows[i]); v != nil && !seen[*v] {
			seen[*v] = true
			out = append(out, *v)
		}
	}
	return out
}

// loadByID reads the columns cols of the rows of T's table whose id is in
// ids (in chunks), into a map by id.
func loadByID[T any](ctx context.Context, db *gorm.DB, ids []entities.ID, cols []string, id func(*T) entities.ID) (map[entities.ID]T, error) {
	out := make(map[entities.ID]T, len(ids))
	for chunk := range chunks(ids) {
		var rows []T
		if err := db.WithContext(ctx).Select(cols).Where("id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[id(&r)] = r
		}
	}
	return out, nil
}
