package admin

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
)

// badParam is a client error in the query string: answered with 400 and
// its message.
type badParam struct{ msg string }

func (e *badParam) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badParam{fmt.Sprintf(format, args...)} }

// Parameters shared by every list.
var pageParams = []string{"limit", "after", "order"}

// params reads a query string and remembers the first bad parameter.
type params struct {
	v   url.Values
	err error
}

// newParams refuses parameters not in allowed, and repeated ones.
func newParams(v url.Values, allowed ...string) *params {
	p := &params{v: v}
	for k, vals := range v {
		if !slices.Contains(allowed, k) {
			p.fail(badf("unknown parameter %q (allowed: %s)", k, strings.Join(allowed, ", ")))
		} else if len(vals) > 1 {
			p.fail(badf("parameter %q given %d times", k, len(vals)))
		}
	}
	return p
}

func (p *params) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// str is the trimmed value of name, "" when absent.
func (p *params) str(name string, max int) string {
	s := strings.TrimSpace(p.v.Get(name))
	if len([]rune(s)) > max {
		p.fail(badf("%s: longer than %d characters", name, max))
		return ""
	}
	return s
}

// oneOf is the value of name, which must be one of choices (compared
// case-insensitively) or empty; it returns the matching choice.
func (p *params) oneOf(name string, choices ...string) string {
	s := p.str(name, 64)
	if s == "" {
		return ""
	}
	for _, c := range choices {
		if strings.EqualFold(s, c) {
			return c
		}
	}
	p.fail(badf("%s: %q is not one of %s", name, s, strings.Join(choices, ", ")))
	return ""
}

// Layouts accepted for from= and to=: RFC 3339, the HTML datetime-local
// forms, and a day. Times without a zone are UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// timeRange reads from= (inclusive) and to= (exclusive; a bare day is
// inclusive: to=2025-03-01 means before 2025-03-02).
func (p *params) timeRange() query.TimeRange {
	var r query.TimeRange
	r.From = p.time("from", false)
	r.To = p.time("to", true)
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		p.fail(badf("from must be before to"))
	}
	return r
}

func (p *params) time(name string, endOfDay bool) time.Time {
	s := p.str(name, 64)
	if s == "" {
		return time.Time{}
	}
	if d, err := time.ParseInLocation("2006-01-02", s, time.UTC); err == nil {
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UTC()
		}
	}
	p.fail(badf("%s: %q is not a date (2025-03-01), a datetime (2025-03-01T12:30) or RFC 3339", name, s))
	return time.Time{}
}

// list reads limit, after and order.
func (p *params) list(defaultLimit int) query.ListOptions {
	o := query.ListOptions{Limit: defaultLimit}
	if s := p.str("limit", 10); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > query.MaxListLimit {
			p.fail(badf("limit: must be a number from 1 to %d", query.MaxListLimit))
		} else {
			o.Limit = n
		}
	}
	if s := p.str("after", 200); s != "" {
		c, err := query.ParseListCursor(s)
		if err != nil {
			p.fail(badf("after: %v", err))
		} else {
			o.After = &c
		}
	}
	o.Ascending = p.oneOf("order", "desc", "asc") == "asc"
	return o
}

// requestFilter reads method, status, user, ip, url, url_match, from, to.
var requestParams = []string{"method", "status", "user", "ip", "url", "url_match", "from", "to"}

func (p *params) requestFilter() query.RequestFilter {
	f := query.RequestFilter{
		Method:    strings.ToUpper(p.str("method", 32)),
		UserID:    p.str("user", 255),
		IPAddress: p.str("ip", 64),
		URL:       p.str("url", 2048),
		URLMatch:  p.oneOf("url_match", query.URLPrefix, query.URLContains),
		Time:      p.timeRange(),
	}
	for _, r := range f.Method {
		if (r < 'A' || r > 'Z') && r != '-' && r != '_' {
			p.fail(badf("method: %q is not an HTTP method", f.Method))
			break
		}
	}
	f.StatusMin, f.StatusMax = p.status("status")
	return f
}

// status reads a code (404) or a class (4xx).
func (p *params) status(name string) (lo, hi int) {
	s := strings.ToLower(p.str(name, 3))
	if s == "" {
		return 0, 0
	}
	if len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5' {
		lo = int(s[0]-'0') * 100
		return lo, lo + 99
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		p.fail(badf("%s: %q is not a status code (100-599) or class (1xx-5xx)", name, s))
		return 0, 0
	}
	return n, n
}

var loginParams = []string{"status", "user", "ip", "code", "url", "search", "from", "to"}

// loginStatuses maps accepted spellings to the stored statuses.
var loginStatuses = map[string]string{
	"sign in": entities.LoginSignIn, "sign_in": entities.LoginSignIn, "signin": entities.LoginSignIn,
	"sign out": entities.LoginSignOut, "sign_out": entities.LoginSignOut, "signout": entities.LoginSignOut,
	"failed": entities.LoginFailed,
}

func (p *params) loginFilter() query.LoginFilter {
	f := query.LoginFilter{User: p.str("user", 255), IPAddress: p.str("ip", 64), URL: p.str("url", 2048),
		Search: p.str("search", 255), Time: p.timeRange()}
	if lo, hi := p.status("code"); lo != hi {
		p.fail(badf("code: give one status code, such as 401"))
	} else {
		f.RequestStatusCode = lo
	}
	if s := p.str("status", 16); s != "" {
		st, ok := loginStatuses[strings.ToLower(s)]
		if !ok {
			p.fail(badf("status: %q is not one of sign_in, sign_out, failed", s))
		}
		f.Status = st
	}
	return f
}

var processParams = []string{"name", "search", "user", "success", "outcome", "request", "from", "to"}

// processFilter reads name, search, user, success (true/false), outcome
// (success/failed/pending), request (a request id), from, to.
func (p *params) processFilter() query.ProcessFilter {
	f := query.ProcessFilter{
		Name:      p.str("name", 255),
		Search:    p.str("search", 255),
		CreatedBy: p.str("user", 255),
	}
	tr := p.timeRange()
	f.From, f.To = tr.From, tr.To
	f.Outcome = entities.Outcome(p.oneOf("outcome", string(entities.OutcomeSuccess), string(entities.OutcomeFailed), string(entities.OutcomePending)))
	switch p.oneOf("success", "true", "false") {
	case "true":
		f.Outcome = p.sameOutcome(f.Outcome, entities.OutcomeSuccess)
	case "false":
		f.Outcome = p.sameOutcome(f.Outcome, entities.OutcomeFailed)
	}
	if s := p.str("request", 64); s != "" {
		id, err := entities.ParseID(s)
		if err != nil {
			p.fail(badf("request: %q is not an id", s))
		} else {
			f.RequestID = &id
		}
	}
	return f
}

func (p *params) sameOutcome(have, want entities.Outcome) entities.Outcome {
	if have != "" && have != want {
		p.fail(badf("success and outcome disagree"))
	}
	return want
}

var stepParams = []string{"process", "search", "success", "from", "to"}

// stepFilter reads process (an id), search, success (true/false), from, to.
func (p *params) stepFilter() query.StepFilter {
	return query.StepFilter{ProcessID: p.id("process"), Search: p.str("search", 255), Success: p.success(), Time: p.timeRange()}
}

var registrationParams = []string{"process", "step", "search", "success", "from", "to"}

// registrationFilter reads process and step (ids), search, success, from,
// to.
func (p *params) registrationFilter() query.RegistrationFilter {
	return query.RegistrationFilter{ProcessID: p.id("process"), StepID: p.id("step"), Search: p.str("search", 255),
		Success: p.success(), Time: p.timeRange()}
}

// success reads success=true|false; nil when absent.
func (p *params) success() *bool {
	switch p.oneOf("success", "true", "false") {
	case "true":
		v := true
		return &v
	case "false":
		v := false
		return &v
	}
	return nil
}

// id reads an id parameter; nil when absent.
func (p *params) id(name string) *entities.ID {
	s := p.str(name, 64)
	if s == "" {
		return nil
	}
	id, err := entities.ParseID(s)
	if err != nil {
		p.fail(badf("%s: %q is not an id", name, s))
		return nil
	}
	return &id
}

var endpointParams = []string{"method", "url", "from", "to", "limit"}

// DefaultEndpointPeriod is the period of the endpoint statistics when the
// request names neither from nor to: summarising every request ever
// recorded reads the whole table.
const DefaultEndpointPeriod = 7 * 24 * time.Hour

// withDefaultPeriod returns q with from= set to DefaultEndpointPeriod ago
// when it names neither from nor to, so the page, its PDF link and the
// report all show the period used.
func withDefaultPeriod(q url.Values) url.Values {
	if q.Get("from") != "" || q.Get("to") != "" {
		return q
	}
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	out.Set("from", time.Now().UTC().Add(-DefaultEndpointPeriod).Format("2006-01-02T15:04"))
	return out
}

// endpointFilter reads method, url, from, to and limit.
func (p *params) endpointFilter() query.EndpointFilter {
	f := query.EndpointFilter{Method: strings.ToUpper(p.str("method", 32)), URL: p.str("url", 2048), Time: p.timeRange()}
	if s := p.str("limit", 10); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			p.fail(badf("limit: must be a number from 1 to 1000"))
		}
		f.Limit = n
	}
	return f
}

// parseID reads a path id.
func parseID(s string) (entities.ID, error) {
	id, err := entities.ParseID(s)
	if err != nil {
		return id, badf("%q is not an id", s)
	}
	return id, nil
}
