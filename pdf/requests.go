package pdf

import (
	"io"
	"iter"
	"strconv"

	"github.com/gin-audit-trail/audit/entities"
)

// requestColumns returns the columns of the request report, which add up
// to the content width.
func requestColumns() []column {
	return []column{
		{title: "Datetime (UTC)", width: 90},
		{title: "Method", width: 42},
		{title: "URL", width: 162},
		{title: "Status", width: 34, right: true},
		{title: "Time ms", width: 42, right: true},
		{title: "User", width: 75},
		{title: "IP", width: 70},
	}
}

// WriteRequestReport writes a PDF table of request events to w: datetime,
// method, URL (wrapped when long), status code, response time, user and IP
// address. Requests are drawn one at a time as the iterator yields them;
// if it yields an error, rendering stops, nothing is written and the error
// is returned wrapped.
func WriteRequestReport(w io.Writer, meta Meta, requests iter.Seq2[*entities.RequestEvent, error]) error {
	return writeTableReport(w, meta, requests, "request events", requestColumns, func(t *table, r *entities.RequestEvent) []cell {
		return t.textRow(
			formatTime(r.Datetime),
			clean(r.Method),
			clean(r.URL),
			strconv.Itoa(r.StatusCode),
			formatMS(r.ResponseTimeMS),
			meta.user(r.UserID),
			orDash(clean(r.IPAddress)),
		)
	})
}
