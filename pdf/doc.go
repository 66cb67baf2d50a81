// Package pdf renders audit-trail reports as A4 PDF documents with gopdf and
// the embedded Go fonts, so accented text (Portuguese, Spanish, French...)
// renders without any font installed on the server.
//
// Four reports are available: processes with their steps and registrations
// ([WriteProcessReport]), request events ([WriteRequestReport]), login events
// ([WriteLoginReport]) and per-endpoint performance ([WriteEndpointReport]).
// Every page carries the report title as a header and "Page N" as a footer;
// the first page lists the filters that selected the rows and when the
// report was generated.
//
// Rows arrive through iterators and are drawn one at a time; the report code
// never collects them. gopdf itself, however, keeps the whole document in
// memory until it is written, so memory grows with the number of rows (see
// PERFORMANCE_NOTES.md). Nothing is written to w unless the whole report
// was built successfully.
package pdf

import "time"

// Meta describes a report: its title, the filters that selected its rows
// and when it was generated.
type Meta struct {
	// Title is printed in the header of every page.
	Title string
	// Filters are shown, in order, on the first page. An empty list is
	// shown as "none".
	Filters []Filter
	// GeneratedAt is shown in UTC on the first page. The zero time means
	// now.
	GeneratedAt time.Time
	// UserName names a user id for display in the user columns and fields
	// (the admin passes its Config.UserNames resolver). It returns "" for
	// an unknown user, which is then shown by id. Nil shows ids.
	UserName func(id string) string
}

// user is how a report shows the user id: "name (id)" when UserName knows
// the user, the id otherwise, "-" for none.
func (m Meta) user(id string) string {
	if id == "" {
		return "-"
	}
	if m.UserName != nil {
		if name := m.UserName(id); name != "" && name != id {
			return clean(name) + " (" + clean(id) + ")"
		}
	}
	return clean(id)
}

// Filter is one label/value pair of the filters that selected a report's
// rows, such as {"Method", "POST"}.
type Filter struct {
	Label, Value string
}
