package query

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// ErrProcessNotFound is returned by LoadProcess when no process has the
// id. It wraps gorm.ErrRecordNotFound, so errors.Is works with either.
var ErrProcessNotFound = fmt.Errorf("audit: process not found: %w", gorm.ErrRecordNotFound)

// DefaultProcessPageSize is how many processes StreamProcesses reads per
// query when ProcessFilter.PageSize is zero.
const DefaultProcessPageSize = 200

// maxInList bounds the ids of one IN (...) list, well below the bind
// parameter limits of SQLite and PostgreSQL.
const maxInList = 1000

// ProcessCursor is a position in the (datetime, id) order of processes:
// the key of the last process a caller has seen. Build it from that
// process with CursorOf and pass it back as ProcessFilter.After to get the
// next page.
type ProcessCursor struct {
	Datetime time.Time   `json:"datetime"`
	ID       entities.ID `json:"id"`
}

// CursorOf returns the cursor just after p.
func CursorOf(p *entities.ProcessEvent) ProcessCursor {
	return ProcessCursor{Datetime: p.Datetime, ID: p.ID}
}

// ProcessFilter selects processes for StreamProcesses and CountProcesses.
// Its zero value selects every process, oldest first. Every field is a
// bound parameter, never SQL text.
type ProcessFilter struct {
	// Name keeps the processes with exactly this name.
	Name string
	// Search keeps the processes whose name contains this text
	// (case-insensitive on ASCII letters).
	Search string
	// CreatedBy keeps the processes created by this user id.
	CreatedBy string
	// RequestID keeps the processes started by this request.
	RequestID *entities.ID
	// Background keeps only the processes run outside a request (no
	// request_id).
	Background bool
	// Outcome keeps the processes with this rolled-up outcome (see
	// entities.ProcessDetail.Outcome); the rollup is computed by the
	// database, so pages stay full and counts are exact.
	Outcome entities.Outcome
	// From and To bound the process datetime: From <= datetime < To. A
	// zero time is no bound.
	From, To time.Time

	// Descending yields the newest processes first.
	Descending bool
	// After starts the stream just after this position (keyset
	// pagination): the next process in the chosen order.
	After *ProcessCursor
	// Limit is the most processes yielded; 0 is no limit.
	Limit int
	// PageSize is how many processes are read per query (with their steps
	// and registrations). Default DefaultProcessPageSize.
	PageSize int
}

// validOutcome reports whether o is empty or a known outcome.
func validOutcome(o entities.Outcome) bool {
	switch o {
	case "", entities.OutcomeSuccess, entities.OutcomeFailed, entities.OutcomePending:
		return true
	}
	return false
}

// SQL fragments of the outcome rollup, with the Django admin's rules as in
// entities.StepDetail.Outcome: a process failed when any of its
// registrations failed; otherwise it succeeded when no step has fewer
// successful registrations than it expects, and is pending when one has.
const (
	processHasFailure = `EXISTS (SELECT 1 FROM audit_step_events s JOIN audit_registration_events r ON r.step_id = s.id
		WHERE s.process_id = audit_process_events.id AND r.success = ?)`
	processHasIncompleteStep = `EXISTS (SELECT 1 FROM audit_step_events s WHERE s.process_id = audit_process_events.id
		AND s.total_registrations > (SELECT COUNT(*) FROM audit_registration_events r WHERE r.step_id = s.id AND r.success = ?))`
)

// where applies the selection of f (not the cursor, order or limit).
func (f ProcessFilter) where(q *gorm.DB) (*gorm.DB, error) {
	if !validOutcome(f.Outcome) {
		return nil, fmt.Errorf("audit: unknown process outcome %q", f.Outcome)
	}
	if f.Name != "" {
		q = q.Where("name = ?", f.Name)
	}
	if f.Search != "" {
		q = q.Where("LOWER(name) LIKE ? ESCAPE '\\'", "%"+escapeLike(toLowerASCII(f.Search))+"%")
	}
	if f.CreatedBy != "" {
		q = q.Where("created_by = ?", f.CreatedBy)
	}
	if f.RequestID != nil {
		q = q.Where("request_id = ?", *f.RequestID)
	}
	if f.Background {
		q = q.Where("request_id IS NULL")
	}
	if !f.From.IsZero() {
		q = q.Where("datetime >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("datetime < ?", f.To.UTC())
	}
	switch f.Outcome {
	case entities.OutcomeFailed:
		q = q.Where(processHasFailure, false)
	case entities.OutcomeSuccess:
		q = q.Where("NOT "+processHasFailure, false).Where("NOT "+processHasIncompleteStep, true)
	case entities.OutcomePending:
		q = q.Where("NOT "+processHasFailure, false).Where(processHasIncompleteStep, true)
	}
	return q, nil
}

func escapeLike(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', '%', '_':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// LoadProcess reads one process with its steps (in step order) and their
// registrations (oldest first). It returns ErrProcessNotFound when no
// process has the id.
func LoadProcess(ctx context.Context, db *gorm.DB, id entities.ID) (*entities.ProcessDetail, error) {
	var ps []entities.ProcessEvent
	if err := db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("audit: load process: %w", err)
	}
	if len(ps) == 0 {
		return nil, ErrProcessNotFound
	}
	details, err := attachSteps(ctx, db, ps)
	if err != nil {
		return nil, err
	}
	return details[0], nil
}

// CountProcesses counts the processes matching f (its cursor, order, limit
// and page size are ignored).
func CountProcesses(ctx context.Context, db *gorm.DB, f ProcessFilter) (int64, error) {
	q, err := f.where(db.WithContext(ctx).Model(&entities.ProcessEvent{}))
	if err != nil {
		return 0, err
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("audit: count processes: %w", err)
	}
	return n, nil
}

// StreamProcesses yields the processes matching f, each with its steps and
// registrations, in (datetime, id) order (reversed when f.Descending). It
// reads f.PageSize processes per query with keyset pagination, then their
// steps and registrations with one IN query each per page, so memory holds
// one page whatever the number of processes, and a long report never uses
// OFFSET. Iteration stops at the first error, which is yielded with a nil
// process, or when ctx ends. Rows committed while the stream runs may or
// may not be seen.
func StreamProcesses(ctx context.Context, db *gorm.DB, f ProcessFilter) iter.Seq2[*entities.ProcessDetail, error] {
	return func(yield func(*entities.ProcessDetail, error) bool) {
		base, err := f.where(db.WithContext(ctx).Model(&entities.ProcessEvent{}))
		if err != nil {
			yield(nil, err)
			return
		}
		pageSize := f.PageSize
		if pageSize <= 0 {
			pageSize = DefaultProcessPageSize
		}
		cmp, order := ">", "datetime ASC, id ASC"
		if f.Descending {
			cmp, order = "<", "datetime DESC, id DESC"
		}
		after := f.After
		yielded := 0
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			n := pageSize
			if f.Limit > 0 && f.Limit-yielded < n {
				n = f.Limit - yielded
			}
			q := base.Session(&gorm.Session{})
			if after != nil {
				// (datetime, id) > (?, ?) written out, which every
				// database plans with the datetime index.
				dt := after.Datetime.UTC()
				q = q.Where("(datetime "+cmp+" ? OR (datetime = ? AND id "+cmp+" ?))", dt, dt, after.ID)
			}
			var ps []entities.ProcessEvent
			if err := q.Order(order).Limit(n).Find(&ps).Error; err != nil {
				yield(nil, fmt.Errorf("audit: read processes: %w", err))
				return
			}
			if len(ps) == 0 {
				return
			}
			details, err := attachSteps(ctx, db, ps)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, d := range details {
				if !yield(d, nil) {
					return
				}
			}
			yielded += len(ps)
			if len(ps) < n || (f.Limit > 0 && yielded >= f.Limit) {
				return
			}
			c := CursorOf(&ps[len(ps)-1])
			after = &c
		}
	}
}

// attachSteps loads the steps and registrations of ps with IN queries and
// returns the details in the order of ps.
func attachSteps(ctx context.Context, db *gorm.DB, ps []entities.ProcessEvent) ([]*entities.ProcessDetail, error) {
	details := make([]*entities.ProcessDetail, len(ps))
	byProcess := make(map[entities.ID]*entities.ProcessDetail, len(ps))
	pids := make([]entities.ID, len(ps))
	for i := range ps {
		details[i] = &entities.ProcessDetail{Process: ps[i], Steps: []entities.StepDetail{}}
		byProcess[ps[i].ID] = details[i]
		pids[i] = ps[i].ID
	}
	var steps []entities.StepEvent
	for chunk := range chunks(pids) {
		var part []entities.StepEvent
		if err := db.WithContext(ctx).Where("process_id IN ?", chunk).
			Order("step_order ASC, datetime ASC, id ASC").Find(&part).Error; err != nil {
			return nil, fmt.Errorf("audit: read process steps: %w", err)
		}
		steps = append(steps, part...)
	}
	if len(steps) == 0 {
		return details, nil
	}
	// Steps of different chunks are each in order within their process,
	// because a process lies in one chunk.
	type pos struct {
		d *entities.ProcessDetail
		i int
	}
	byStep := make(map[entities.ID]pos, len(steps))
	sids := make([]entities.ID, len(steps))
	for i := range steps {
		d := byProcess[steps[i].ProcessID]
		if d == nil {
			return nil, errors.New("audit: read process steps: a step of an unrequested process")
		}
		d.Steps = append(d.Steps, entities.StepDetail{Step: steps[i], Registrations: []entities.RegistrationEvent{}})
		byStep[steps[i].ID] = pos{d, len(d.Steps) - 1}
		sids[i] = steps[i].ID
	}
	for chunk := range chunks(sids) {
		var regs []entities.RegistrationEvent
		if err := db.WithContext(ctx).Where("step_id IN ?", chunk).
			Order("datetime ASC, id ASC").Find(&regs).Error; err != nil {
			return nil, fmt.Errorf("audit: read step registrations: %w", err)
		}
		for i := range regs {
			p, ok := byStep[regs[i].StepID]
			if !ok {
				continue
			}
			st := &p.d.Steps[p.i]
			st.Registrations = append(st.Registrations, regs[i])
		}
	}
	return details, nil
}

// chunks splits ids into slices of at most maxInList.
func chunks(ids []entities.ID) iter.Seq[[]entities.ID] {
	return func(yield func([]entities.ID) bool) {
		for len(ids) > 0 {
			n := min(len(ids), maxInList)
			if !yield(ids[:n]) {
				return
			}
			ids = ids[n:]
		}
	}
}
