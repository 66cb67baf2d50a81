package integrity

import (
	"bytes"
	"database/sql"
	"fmt"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
)

// columns are the columns of each table that the row hash covers, in the
// order Hasher encodes them.
var columns = [numTables][]string{
	Requests: {"id", "datetime", "user_id", "ip_address", "method", "url", "route", "query_params", "request_type",
		"request_body", "response_body", "status_code", "response_time_ms", "response_size", "error_type",
		"error_message", "error_stacktrace", "extra_informations"},
	Logins:        {"id", "datetime", "status", "request_id", "user_id", "username", "extra_informations"},
	Processes:     {"id", "datetime", "name", "description", "created_by", "request_id", "extra_informations"},
	Steps:         {"id", "datetime", "process_id", "name", "description", "step_order", "total_registrations", "created_by", "extra_informations"},
	Registrations: {"id", "datetime", "step_id", "success", "name", "description", "created_by", "extra_informations"},
}

// storedRow is one row as read back: its digest, its id and its hash.
type storedRow struct {
	digest *entities.ID
	id     entities.ID
	hash   [16]byte
	bad    string // why the row could not be read as the writer wrote it
}

// rowStream reads one table ordered by (digest_id, id), one row at a time.
type rowStream struct {
	t    Table
	rows *sql.Rows
	h    Hasher
	cur  storedRow
	ok   bool // cur holds a row
	err  error
	vals []any
	// scan destinations
	str   []sql.NullString
	times sql.NullTime
	ints  [2]sql.NullInt64
	flt   sql.NullFloat64
	boo   sql.NullBool
	id    entities.ID
	ref   *entities.ID
	ref2  entities.ID
	dig   *entities.ID
}

// rowQuery is the SELECT of a table's stream; where is "" or a condition.
func rowQuery(t Table, where string) string {
	q := "SELECT " + strings.Join(columns[t], ", ") + ", digest_id FROM " + t.Name()
	if where != "" {
		q += " WHERE " + where
	}
	return q + " ORDER BY digest_id NULLS FIRST, id"
}

func newRowStream(t Table, rows *sql.Rows) *rowStream {
	s := &rowStream{t: t, rows: rows, str: make([]sql.NullString, 16)}
	s.next()
	return s
}

// next reads the following row into cur.
func (s *rowStream) next() {
	s.ok = false
	if s.err != nil || !s.rows.Next() {
		if s.err == nil {
			s.err = s.rows.Err()
		}
		return
	}
	s.cur = storedRow{}
	s.dig = nil
	s.ref = nil
	dst := s.dests()
	if err := s.rows.Scan(dst...); err != nil {
		// A value of the wrong type: the row was not written by the
		// writer. It is reported, with its id when that could be read.
		s.cur.bad = "unreadable: " + err.Error()
	}
	s.cur.id = s.id
	s.cur.digest = s.dig
	if s.cur.bad == "" {
		s.cur.hash, s.cur.bad = s.hashRow()
	}
	s.ok = true
}

// dests are the scan destinations of the table's columns, then digest_id.
func (s *rowStream) dests() []any {
	s.vals = s.vals[:0]
	add := func(v ...any) { s.vals = append(s.vals, v...) }
	st := func(i int) *sql.NullString { return &s.str[i] }
	switch s.t {
	case Requests:
		add(&s.id, &s.times)
		for i := range 7 {
			add(st(i))
		}
		add(st(7), st(8), &s.ints[0], &s.flt, &s.ints[1], st(9), st(10), st(11), st(12))
	case Logins:
		add(&s.id, &s.times, st(0), &s.ref, st(1), st(2), st(3))
	case Processes:
		add(&s.id, &s.times, st(0), st(1), st(2), &s.ref, st(3))
	case Steps:
		add(&s.id, &s.times, &s.ref2, st(0), st(1), &s.ints[0], &s.ints[1], st(2), st(3))
	case Registrations:
		add(&s.id, &s.times, &s.ref2, &s.boo, st(0), st(1), st(2), st(3))
	}
	add(&s.dig)
	return s.vals
}

// hashRow rebuilds the entity from the scanned values and hashes it. A
// NULL where the writer never writes one makes the row "changed".
func (s *rowStream) hashRow() (h [16]byte, bad string) {
	var nulls []string
	str := func(i int, col string) string {
		if !s.str[i].Valid {
			nulls = append(nulls, col)
		}
		return s.str[i].String
	}
	json := func(i int) entities.JSONText { return entities.JSONText(s.str[i].String) }
	num := func(i int, col string) int64 {
		if !s.ints[i].Valid {
			nulls = append(nulls, col)
		}
		return s.ints[i].Int64
	}
	if !s.times.Valid {
		nulls = append(nulls, "datetime")
	}
	var sum [32]byte
	switch s.t {
	case Requests:
		r := entities.RequestEvent{ID: s.id, Datetime: s.times.Time, UserID: str(0, "user_id"), IPAddress: str(1, "ip_address"),
			Method: str(2, "method"), URL: str(3, "url"), Route: str(4, "route"), QueryParams: str(5, "query_params"),
			RequestType: str(6, "request_type"), RequestBody: str(7, "request_body"), ResponseBody: str(8, "response_body"),
			StatusCode: int(num(0, "status_code")), ResponseTimeMS: s.flt.Float64, ResponseSize: num(1, "response_size"),
			ErrorType: str(9, "error_type"), ErrorMessage: str(10, "error_message"), ErrorStacktrace: str(11, "error_stacktrace"),
			ExtraInformations: json(12)}
		if !s.flt.Valid {
			nulls = append(nulls, "response_time_ms")
		}
		sum = s.h.Request(&r)
	case Logins:
		l := entities.LoginEvent{ID: s.id, Datetime: s.times.Time, Status: str(0, "status"), RequestID: s.ref,
			UserID: str(1, "user_id"), Username: str(2, "username"), ExtraInformations: json(3)}
		sum = s.h.Login(&l)
	case Processes:
		p := entities.ProcessEvent{ID: s.id, Datetime: s.times.Time, Name: str(0, "name"), Description: str(1, "description"),
			CreatedBy: str(2, "created_by"), RequestID: s.ref, ExtraInformations: json(3)}
		sum = s.h.Process(&p)
	case Steps:
		st := entities.StepEvent{ID: s.id, Datetime: s.times.Time, ProcessID: s.ref2, Name: str(0, "name"), Description: str(1, "description"),
			StepOrder: int(num(0, "step_order")), TotalRegistrations: int(num(1, "total_registrations")), CreatedBy: str(2, "created_by"),
			ExtraInformations: json(3)}
		sum = s.h.Step(&st)
	case Registrations:
		r := entities.RegistrationEvent{ID: s.id, Datetime: s.times.Time, StepID: s.ref2, Success: s.boo.Bool, Name: str(0, "name"),
			Description: str(1, "description"), CreatedBy: str(2, "created_by"), ExtraInformations: json(3)}
		if !s.boo.Valid {
			nulls = append(nulls, "success")
		}
		sum = s.h.Registration(&r)
	}
	copy(h[:], sum[:16])
	if len(nulls) > 0 {
		return h, "NULL in " + strings.Join(nulls, ", ")
	}
	return h, ""
}

// before reports whether the current row's digest sorts before d (a NULL
// digest sorts first).
func (s *rowStream) before(d entities.ID) bool {
	return s.ok && (s.cur.digest == nil || bytes.Compare(s.cur.digest[:], d[:]) < 0)
}

// at reports whether the current row belongs to digest d.
func (s *rowStream) at(d entities.ID) bool {
	return s.ok && s.cur.digest != nil && *s.cur.digest == d
}

func (s *rowStream) close() error {
	err := s.err
	if cerr := s.rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", s.t.Name(), err)
	}
	return nil
}
