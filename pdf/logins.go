package pdf

import (
	"io"
	"iter"
	"strconv"

	"github.com/gin-audit-trail/audit/entities"
)

// loginColumns returns the columns of the login report, which add up to
// the content width.
func loginColumns() []column {
	return []column{
		{title: "Datetime (UTC)", width: 90},
		{title: "Status", width: 55},
		{title: "Username", width: 80},
		{title: "User", width: 75},
		{title: "IP", width: 70},
		{title: "Code", width: 30, right: true},
		{title: "URL", width: 115},
	}
}

// WriteLoginReport writes a PDF table of login events to w: datetime,
// status (Sign in, Sign out or Failed), username, user, and the IP, status
// code and URL of the request that carried the login. Events are drawn one at a time as
// the iterator yields them; if it yields an error, rendering stops,
// nothing is written and the error is returned wrapped.
func WriteLoginReport(w io.Writer, meta Meta, logins iter.Seq2[*entities.LoginRow, error]) error {
	return writeTableReport(w, meta, logins, "login events", loginColumns, func(t *table, l *entities.LoginRow) []cell {
		code := "-"
		if l.RequestStatusCode != 0 {
			code = strconv.Itoa(l.RequestStatusCode)
		}
		cells := t.textRow(
			formatTime(l.Datetime),
			"",
			orDash(clean(l.Username)),
			meta.user(l.UserID),
			orDash(clean(l.IPAddress)),
			code,
			orDash(clean(l.URL)),
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
