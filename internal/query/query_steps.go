package query

import (
	"context"
	"fmt"
	"iter"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// StepFilter selects steps for ListSteps and StreamSteps. Zero fields do
// not filter.
type StepFilter struct {
	// ProcessID keeps the steps of one process.
	ProcessID *entities.ID
	// Search keeps the steps whose name contains this text
	// (case-insensitive on ASCII letters).
	Search string
	// Success keeps the steps that succeeded (true: no failed registration
	// and every expected registration present) or failed (false: a
	// registration failed). Pending steps match neither.
	Success *bool
	Time    TimeRange
}

// SQL of a step's outcome, with the rules of entities.StepDetail.Outcome.
const (
	stepHasFailure = `EXISTS (SELECT 1 FROM audit_registration_events r WHERE r.step_id = audit_step_events.id AND r.success = ?)`
	stepIsComplete = `total_registrations <= (SELECT COUNT(*) FROM audit_registration_events r WHERE r.step_id = audit_step_events.id AND r.success = ?)`
)

func (f StepFilter) apply(q *gorm.DB) *gorm.DB {
	if f.ProcessID != nil {
		q = q.Where("process_id = ?", *f.ProcessID)
	}
	if f.Search != "" {
		q = q.Where("LOWER(name) LIKE ? ESCAPE '\\'", "%"+escapeLike(toLowerASCII(f.Search))+"%")
	}
	if f.Success != nil {
		if *f.Success {
			q = q.Where("NOT "+stepHasFailure, false).Where(stepIsComplete, true)
		} else {
			q = q.Where(stepHasFailure, false)
		}
	}
	return f.Time.apply(q, "datetime")
}

func stepKey(s *entities.StepEvent) ListCursor { return ListCursor{Datetime: s.Datetime, ID: s.ID} }

type processName struct {
	ID   entities.ID
	Name string
}

func (processName) TableName() string { return "audit_process_events" }

type stepCounts struct {
	StepID    entities.ID
	Total     int64
	Succeeded int64
}

// withStepSummaries adds to each step its process's name and the counts
// of its registrations, with one query each per page.
func withStepSummaries(ctx context.Context, db *gorm.DB) func([]entities.StepEvent) ([]entities.StepRow, error) {
	return func(steps []entities.StepEvent) ([]entities.StepRow, error) {
		pids := idsOf(steps, func(s *entities.StepEvent) *entities.ID { return &s.ProcessID })
		names, err := loadByID(ctx, db, pids, []string{"id", "name"}, func(p *processName) entities.ID { return p.ID })
		if err != nil {
			return nil, fmt.Errorf("audit: processes of steps: %w", err)
		}
		sids := idsOf(steps, func(s *entities.StepEvent) *entities.ID { return &s.ID })
		counts := make(map[entities.ID]stepCounts, len(sids))
		for chunk := range chunks(sids) {
			var part []stepCounts
			err := db.WithContext(ctx).Model(&entities.RegistrationEvent{}).
				Select("step_id, COUNT(*) AS total, SUM(CASE WHEN success THEN 1 ELSE 0 END) AS succeeded").
				Where("step_id IN ?", chunk).Group("step_id").Scan(&part).Error
			if err != nil {
				return nil, fmt.Errorf("audit: registrations of steps: %w", err)
			}
			for _, c := range part {
				counts[c.StepID] = c
			}
		}
		out := make([]entities.StepRow, len(steps))
		for i, s := range steps {
			c := counts[s.ID]
			row := entities.StepRow{StepEvent: s, ProcessName: names[s.ProcessID].Name,
				Registrations: c.Total, Succeeded: c.Succeeded, Failed: c.Total - c.Succeeded}
			switch {
			case row.Failed > 0:
				row.Outcome = entities.OutcomeFailed
			case row.Succeeded >= int64(s.TotalRegistrations):
				row.Outcome = entities.OutcomeSuccess
			default:
				row.Outcome = entities.OutcomePending
			}
			out[i] = row
		}
		return out, nil
	}
}

// ListSteps returns one page of steps matching f, each with its process's
// name and its registration counts and outcome.
func ListSteps(ctx context.Context, db *gorm.DB, f StepFilter, o ListOptions) (ListPage[entities.StepRow], error) {
	return enrichedPage(ctx, db, o, f.apply, stepKey, withStepSummaries(ctx, db))
}

// StreamSteps yields every step matching f like ListSteps, page by page,
// up to max rows (0: no limit).
func StreamSteps(ctx context.Context, db *gorm.DB, f StepFilter, o ListOptions, max int) iter.Seq2[*entities.StepRow, error] {
	return enrichedStream(streamPages(ctx, db, o, max, f.apply, stepKey), withStepSummaries(ctx, db))
}

// RegistrationFilter selects registrations for ListRegistrations and
// StreamRegistrations. Zero fields do not filter.
type RegistrationFilter struct {
	// StepID keeps the registrations of one step.
	StepID *entities.ID
	// ProcessID keeps the registrations of one process's steps.
	ProcessID *entities.ID
	// Search keeps the registrations whose name contains this text
	// (case-insensitive on ASCII letters).
	Search string
	// Success keeps the successful (true) or failed (false) registrations.
	Success *bool
	Time    TimeRange
}

func (f RegistrationFilter) apply(q *gorm.DB) *gorm.DB {
	if f.StepID != nil {
		q = q.Where("step_id = ?", *f.StepID)
	}
	if f.ProcessID != nil {
		q = q.Where("step_id IN (SELECT id FROM audit_step_events WHERE process_id = ?)", *f.ProcessID)
	}
	if f.Search != "" {
		q = q.Where("LOWER(name) LIKE ? ESCAPE '\\'", "%"+escapeLike(toLowerASCII(f.Search))+"%")
	}
	if f.Success != nil {
		q = q.Where("success = ?", *f.Success)
	}
	return f.Time.apply(q, "datetime")
}

func registrationKey(r *entities.RegistrationEvent) ListCursor {
	return ListCursor{Datetime: r.Datetime, ID: r.ID}
}

type stepName struct {
	ID        entities.ID
	Name      string
	ProcessID entities.ID
}

func (stepName) TableName() string { return "audit_step_events" }

// withStepsAndProcesses adds to each registration its step's and
// process's names, with one query each per page.
func withStepsAndProcesses(ctx context.Context, db *gorm.DB) func([]entities.RegistrationEvent) ([]entities.RegistrationRow, error) {
	return func(regs []entities.RegistrationEvent) ([]entities.RegistrationRow, error) {
		sids := idsOf(regs, func(r *entities.RegistrationEvent) *entities.ID { return &r.StepID })
		steps, err := loadByID(ctx, db, sids, []string{"id", "name", "process_id"}, func(s *stepName) entities.ID { return s.ID })
		if err != nil {
			return nil, fmt.Errorf("audit: steps of registrations: %w", err)
		}
		pids := make([]entities.ID, 0, len(steps))
		for _, s := range steps {
			pids = append(pids, s.ProcessID)
		}
		names, err := loadByID(ctx, db, idsOf(pids, func(id *entities.ID) *entities.ID { return id }), []string{"id", "name"}, func(p *processName) entities.ID { return p.ID })
		if err != nil {
			return nil, fmt.Errorf("audit: processes of registrations: %w", err)
		}
		out := make([]entities.RegistrationRow, len(regs))
		for i, r := range regs {
			s := steps[r.StepID]
			out[i] = entities.RegistrationRow{RegistrationEvent: r, StepName: s.Name, ProcessID: s.ProcessID, ProcessName: names[s.ProcessID].Name}
		}
		return out, nil
	}
}

// ListRegistrations returns one page of registrations matching f, each
// with its step's and process's names.
func ListRegistrations(ctx context.Context, db *gorm.DB, f RegistrationFilter, o ListOptions) (ListPage[entities.RegistrationRow], error) {
	return enrichedPage(ctx, db, o, f.apply, registrationKey, withStepsAndProcesses(ctx, db))
}

// StreamRegistrations yields every registration matching f like
// ListRegistrations, page by page, up to max rows (0: no limit).
func StreamRegistrations(ctx context.Context, db *gorm.DB, f RegistrationFilter, o ListOptions, max int) iter.Seq2[*entities.RegistrationRow, error] {
	return enrichedStream(streamPages(ctx, db, o, max, f.apply, registrationKey), withStepsAndProcesses(ctx, db))
}

// ListProcesses returns one page of processes matching f (its cursor,
// order, limit and page size are taken from o), each with its steps and
// registrations: the same paging as every other list.
func ListProcesses(ctx context.Context, db *gorm.DB, f ProcessFilter, o ListOptions) (ListPage[entities.ProcessDetail], error) {
	n := o.limit()
	f.Descending = !o.Ascending
	f.Limit, f.PageSize = n+1, n+1
	f.After = nil
	if o.After != nil {
		f.After = &ProcessCursor{Datetime: o.After.Datetime, ID: o.After.ID}
	}
	page := ListPage[entities.ProcessDetail]{Items: []entities.ProcessDetail{}}
	for p, err := range StreamProcesses(ctx, db, f) {
		if err != nil {
			return ListPage[entities.ProcessDetail]{}, err
		}
		if len(page.Items) == n {
			last := page.Items[n-1].Process
			page.Next = ListCursor{Datetime: last.Datetime, ID: last.ID}.String()
			break
		}
		page.Items = append(page.Items, *p)
	}
	return page, nil
}
