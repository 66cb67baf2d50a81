package query

import (
	"context"
	"fmt"
	"iter"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// LoginFilter selects login events. Zero fields do not filter; User matches
// the user id or the username.
type LoginFilter struct {
	Status string // entities.LoginSignIn, LoginSignOut or LoginFailed
	User   string
	// IPAddress is the IP of the request that carried the login.
	IPAddress string
	// RequestStatusCode is the status code the login's request was
	// answered with.
	RequestStatusCode int
	// URL keeps the logins whose request URL contains this text.
	URL string
	// Search keeps the logins whose username, user id, request IP or
	// request URL contains this text (the Django admin's search box).
	Search string
	Time   TimeRange
}

func (f LoginFilter) apply(q *gorm.DB) *gorm.DB {
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.User != "" {
		q = q.Where("(user_id = ? OR username = ?)", f.User, f.User)
	}
	if f.IPAddress != "" {
		q = q.Where("request_id IN (SELECT id FROM audit_request_events WHERE ip_address = ?)", f.IPAddress)
	}
	if f.RequestStatusCode != 0 {
		q = q.Where("request_id IN (SELECT id FROM audit_request_events WHERE status_code = ?)", f.RequestStatusCode)
	}
	pg := q.Dialector.Name() == "postgres"
	contains := func(col string) string {
		if pg {
			return "strpos(" + col + ", ?) > 0"
		}
		return "instr(" + col + ", ?) > 0"
	}
	if f.URL != "" {
		q = q.Where("request_id IN (SELECT id FROM audit_request_events WHERE "+contains("url")+")", f.URL)
	}
	if f.Search != "" {
		q = q.Where("("+contains("username")+" OR "+contains("user_id")+
			" OR request_id IN (SELECT id FROM audit_request_events WHERE "+contains("ip_address")+" OR "+contains("url")+"))",
			f.Search, f.Search, f.Search, f.Search)
	}
	return f.Time.apply(q, "datetime")
}

func loginKey(l *entities.LoginEvent) ListCursor {
	return ListCursor{Datetime: l.Datetime, ID: l.ID}
}

// requestSummary is what a login row shows of its request.
type requestSummary struct {
	ID         entities.ID
	IPAddress  string
	StatusCode int
	URL        string
}

func (requestSummary) TableName() string { return "audit_request_events" }

// withRequests adds to each login the IP, status code and URL of its
// request, read with one IN query per page.
func withRequests(ctx context.Context, db *gorm.DB) func([]entities.LoginEvent) ([]entities.LoginRow, error) {
	return func(logins []entities.LoginEvent) ([]entities.LoginRow, error) {
		ids := idsOf(logins, func(l *entities.LoginEvent) *entities.ID { return l.RequestID })
		reqs, err := loadByID(ctx, db, ids, []string{"id", "ip_address", "status_code", "url"}, func(r *requestSummary) entities.ID { return r.ID })
		if err != nil {
			return nil, fmt.Errorf("audit: requests of logins: %w", err)
		}
		out := make([]entities.LoginRow, len(logins))
		for i, l := range logins {
			out[i].LoginEvent = l
			if l.RequestID != nil {
				if r, ok := reqs[*l.RequestID]; ok {
					out[i].IPAddress, out[i].RequestStatusCode, out[i].URL = r.IPAddress, r.StatusCode, r.URL
				}
			}
		}
		return out, nil
	}
}

// ListLogins returns one page of login events matching f, each with the
// IP, status code and URL of its request.
func ListLogins(ctx context.Context, db *gorm.DB, f LoginFilter, o ListOptions) (ListPage[entities.LoginRow], error) {
	return enrichedPage(ctx, db, o, f.apply, loginKey, withRequests(ctx, db))
}

// StreamLogins yields every login event matching f, with its request's IP,
// status code and URL, page by page, up to max rows (0: no limit).
func StreamLogins(ctx context.Context, db *gorm.DB, f LoginFilter, o ListOptions, max int) iter.Seq2[*entities.LoginRow, error] {
	return enrichedStream(streamPages(ctx, db, o, max, f.apply, loginKey), withRequests(ctx, db))
}
