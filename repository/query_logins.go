package repository

import (
	"context"
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
	Time      TimeRange
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
	return f.Time.apply(q, "datetime")
}

func loginKey(l *entities.LoginEvent) ListCursor {
	return ListCursor{Datetime: l.Datetime, ID: l.ID}
}

// ListLogins returns one page of login events matching f.
func ListLogins(ctx context.Context, db *gorm.DB, f LoginFilter, o ListOptions) (ListPage[entities.LoginEvent], error) {
	return listPage(ctx, db, o, f.apply, loginKey)
}

// StreamLogins yields every login event matching f, page by page, up to max
// rows (0: no limit).
func StreamLogins(ctx context.Context, db *gorm.DB, f LoginFilter, o ListOptions, max int) iter.Seq2[*entities.LoginEvent, error] {
	return streamRows(ctx, db, o, max, f.apply, loginKey)
}
