package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/repository"
	"gorm.io/gorm"
)

// processView is a process with its rollups, as the JSON API and the
// viewer show it.
type processView struct {
	Process entities.ProcessEvent `json:"process"`
	Outcome entities.Outcome      `json:"outcome"`
	Steps   []stepView            `json:"steps"`
}

// stepView is a step with its registrations, its outcome and the number of
// expected registrations that are missing.
type stepView struct {
	Step          entities.StepEvent           `json:"step"`
	Registrations []entities.RegistrationEvent `json:"registrations"`
	Outcome       entities.Outcome             `json:"outcome"`
	Missing       int                          `json:"missing"`
}

func newProcessView(d *entities.ProcessDetail) processView {
	v := processView{Process: d.Process, Outcome: d.Outcome(), Steps: make([]stepView, len(d.Steps))}
	for i, s := range d.Steps {
		regs := s.Registrations
		if regs == nil {
			regs = []entities.RegistrationEvent{}
		}
		v.Steps[i] = stepView{Step: s.Step, Registrations: regs, Outcome: s.Outcome(), Missing: s.Missing()}
	}
	return v
}

// requestDetail is a request with its login events, processes and error.
type requestDetail struct {
	Request   entities.RequestEvent `json:"request"`
	Logins    []entities.LoginEvent `json:"logins"`
	Processes []processView         `json:"processes"`
}

func (h *handlers) requestDetail(ctx context.Context, id entities.ID) (*requestDetail, error) {
	r, err := repository.FindRequest(ctx, h.db, id)
	if err != nil {
		return nil, err
	}
	logins, err := repository.LoginsOfRequest(ctx, h.db, id)
	if err != nil {
		return nil, err
	}
	d := &requestDetail{Request: *r, Logins: logins, Processes: []processView{}}
	if d.Logins == nil {
		d.Logins = []entities.LoginEvent{}
	}
	for p, err := range repository.StreamProcesses(ctx, h.db, repository.ProcessFilter{RequestID: &id, Limit: 1000}) {
		if err != nil {
			return nil, err
		}
		d.Processes = append(d.Processes, newProcessView(p))
	}
	return d, nil
}

// processPage is one page of processes.
type processPage struct {
	Items []processView `json:"items"`
	Next  string        `json:"next,omitempty"`
}

// processes reads one page: StreamProcesses with a limit of one more than
// the page, so the extra process tells whether a next page exists.
func (h *handlers) processes(ctx context.Context, f repository.ProcessFilter, o repository.ListOptions) (processPage, error) {
	n := o.Limit
	f.Descending = !o.Ascending
	f.Limit = n + 1
	f.PageSize = n + 1
	if o.After != nil {
		f.After = &repository.ProcessCursor{Datetime: o.After.Datetime, ID: o.After.ID}
	}
	page := processPage{Items: []processView{}}
	var last *entities.ProcessEvent
	for p, err := range repository.StreamProcesses(ctx, h.db, f) {
		if err != nil {
			return processPage{}, err
		}
		if len(page.Items) == n {
			page.Next = repository.ListCursor{Datetime: last.Datetime, ID: last.ID}.String()
			break
		}
		page.Items = append(page.Items, newProcessView(p))
		last = &page.Items[len(page.Items)-1].Process
	}
	return page, nil
}

// errorStatus maps an error to the HTTP status and the message shown to
// the client: parameters and unknown ids are the client's; anything else
// is hidden behind a generic message.
func errorStatus(err error) (int, string) {
	var bad *badParam
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest, bad.msg
	case errors.Is(err, gorm.ErrRecordNotFound):
		return http.StatusNotFound, "not found"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "the request was cancelled"
	}
	return http.StatusInternalServerError, "the audit database could not be read"
}
