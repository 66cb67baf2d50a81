package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"gorm.io/gorm"
)

// processView is a process with its rollups, as the JSON API and the
// viewer show it.
type processView struct {
	Process entities.ProcessEvent `json:"process"`
	// UserName names the process's created_by (Config.UserName).
	UserName string           `json:"user_name"`
	Outcome  entities.Outcome `json:"outcome"`
	Steps    []stepView       `json:"steps"`
}

// stepView is a step with its registrations, its outcome and the number of
// expected registrations that are missing.
type stepView struct {
	Step          entities.StepEvent           `json:"step"`
	Registrations []entities.RegistrationEvent `json:"registrations"`
	Outcome       entities.Outcome             `json:"outcome"`
	Missing       int                          `json:"missing"`
}

// processView is d as the admin shows it, with its creator's name.
func (h *handlers) processView(ctx context.Context, d *entities.ProcessDetail) processView {
	v := newProcessView(d)
	v.UserName = h.users.name(ctx, d.Process.CreatedBy)
	return v
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
	UserName  string                `json:"user_name"` // names Request.UserID (Config.UserName)
	Logins    []entities.LoginEvent `json:"logins"`
	Processes []processView         `json:"processes"`
}

func (h *handlers) requestDetail(ctx context.Context, id entities.ID) (*requestDetail, error) {
	r, err := query.FindRequest(ctx, h.db, id)
	if err != nil {
		return nil, err
	}
	logins, err := query.LoginsOfRequest(ctx, h.db, id)
	if err != nil {
		return nil, err
	}
	d := &requestDetail{Request: *r, UserName: h.users.name(ctx, r.UserID), Logins: logins, Processes: []processView{}}
	if d.Logins == nil {
		d.Logins = []entities.LoginEvent{}
	}
	for p, err := range query.StreamProcesses(ctx, h.db, query.ProcessFilter{RequestID: &id, Limit: 1000}) {
		if err != nil {
			return nil, err
		}
		d.Processes = append(d.Processes, h.processView(ctx, p))
	}
	return d, nil
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
