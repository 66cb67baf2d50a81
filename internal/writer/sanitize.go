package writer

import (
	"log/slog"
	"sync"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/textclean"
)

// Column sizes of the bounded text columns (see the entities' size tags).
const (
	maxURL      = 2048
	maxQuery    = 2048
	maxShort    = 255
	maxIP       = 64
	maxMethod   = 32
	maxScheme   = 16
	maxStatus   = 16
	unboundText = -1
)

// sanitizer makes every text field of a batch storable: no NUL bytes, valid
// UTF-8, and no value longer than its column. Each cut is logged with the
// table, the field and the original length, so a stored row never hides
// that it was shortened (at most once a minute per column, with the count
// of cuts not logged since: a flood of long URLs must not flood the log).
type sanitizer struct {
	log    *slog.Logger
	repeat *sync.Map // table.field -> *repeatLog
}

func (s sanitizer) field(table, name string, v *string, max int) {
	*v = textclean.Clean(*v)
	if max < 0 {
		return
	}
	if cut, ok := textclean.Truncate(*v, max); ok {
		rl, _ := s.repeat.LoadOrStore(table+"."+name, &repeatLog{})
		rl.(*repeatLog).log(s.log, slog.LevelWarn, "audit: value truncated to fit its column",
			"table", table, "field", name, "original_length", len([]rune(*v)), "max_length", max)
		*v = cut
	}
}

func (s sanitizer) batch(b *entities.Batch) {
	for i := range b.Requests {
		r := &b.Requests[i]
		const t = "audit_request_events"
		s.field(t, "user_id", &r.UserID, maxShort)
		s.field(t, "ip_address", &r.IPAddress, maxIP)
		s.field(t, "method", &r.Method, maxMethod)
		s.field(t, "url", &r.URL, maxURL)
		s.field(t, "route", &r.Route, maxShort)
		s.field(t, "query_params", &r.QueryParams, maxQuery)
		s.field(t, "request_type", &r.RequestType, maxScheme)
		s.field(t, "request_body", &r.RequestBody, unboundText)
		s.field(t, "response_body", &r.ResponseBody, unboundText)
		s.field(t, "error_type", &r.ErrorType, maxShort)
		s.field(t, "error_message", &r.ErrorMessage, unboundText)
		s.field(t, "error_stacktrace", &r.ErrorStacktrace, unboundText)
		s.field(t, "extra_informations", (*string)(&r.ExtraInformations), unboundText)
	}
	for i := range b.Logins {
		l := &b.Logins[i]
		const t = "audit_login_events"
		s.field(t, "status", &l.Status, maxStatus)
		s.field(t, "user_id", &l.UserID, maxShort)
		s.field(t, "username", &l.Username, maxShort)
		s.field(t, "extra_informations", (*string)(&l.ExtraInformations), unboundText)
	}
	for i := range b.Processes {
		p := &b.Processes[i]
		const t = "audit_process_events"
		s.field(t, "name", &p.Name, maxShort)
		s.field(t, "description", &p.Description, unboundText)
		s.field(t, "created_by", &p.CreatedBy, maxShort)
		s.field(t, "extra_informations", (*string)(&p.ExtraInformations), unboundText)
	}
	for i := range b.Steps {
		st := &b.Steps[i]
		const t = "audit_step_events"
		s.field(t, "name", &st.Name, maxShort)
		s.field(t, "description", &st.Description, unboundText)
		s.field(t, "created_by", &st.CreatedBy, maxShort)
		s.field(t, "extra_informations", (*string)(&st.ExtraInformations), unboundText)
	}
	for i := range b.Registrations {
		r := &b.Registrations[i]
		const t = "audit_registration_events"
		s.field(t, "name", &r.Name, maxShort)
		s.field(t, "description", &r.Description, unboundText)
		s.field(t, "created_by", &r.CreatedBy, maxShort)
		s.field(t, "extra_informations", (*string)(&r.ExtraInformations), unboundText)
	}
}
