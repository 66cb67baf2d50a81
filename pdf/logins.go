package pdf

import (
	"io"
	"iter"

	"github.com/gin-audit-trail/audit/entities"
)

// loginColumns returns the columns of the login report, which add up to
// the content width.
func loginColumns() []column {
	return []column{
		{title: "Datetime (UTC)", width: 90},
		{title: "Status", width: 55},
		{title: "Username", width: 115},
		{title: "User ID", width: 75},
		{title: "Request ID", width: 180},
	}
}

// WriteLoginReport writes a PDF table of login events to w: datetime,
// status (Sign in, Sign out or Failed), username, user id and the id of
// the request that carried the login. Events are drawn one at a time as
// the iterator yields them; if it yields an error, rendering stops,
// nothing is written and the error is returned wrapped.
func WriteLoginReport(w io.Writer, meta Meta, logins iter.Seq2[*entities.LoginEvent, error]) error {
	return writeTableReport(w, meta, logins, "login events", loginColumns, func(t *table, l *entities.LoginEvent) []cell {
		requestID := "-"
		if l.RequestID != nil {
			requestID = l.RequestID.String()
		}
		cells := t.textRow(
			formatTime(l.Datetime),
			"",
			orDash(clean(l.Username)),
			orDash(clean(l.UserID)),
			requestID,
		)
		cells[1] = t.badge(1, orDash(clean(l.Status)), loginColour(l.Status), colWhite)
		return cells
	})
}

// loginColour is the badge colour of a login status.
func loginColour(status string) rgb {
	switch status {
	case entities.LoginSignIn:
		return colSuccess
	case entities.LoginFailed:
		return colFailure
	}
	return colMuted
}
