package repository

import (
	"fmt"
	"strings"

	"github.com/gin-audit-trail/audit/entities"
)

// Kind names one kind of audit row, and so one audit table, in the words an
// operator uses (the audit command's --table flag).
type Kind string

// The five kinds of audit rows.
const (
	Requests      Kind = "requests"
	Logins        Kind = "logins"
	Processes     Kind = "processes"
	Steps         Kind = "steps"
	Registrations Kind = "registrations"
)

// Kinds returns every kind, parents before children.
func Kinds() []Kind { return []Kind{Requests, Logins, Processes, Steps, Registrations} }

// Table is the audit table that holds rows of kind k, "" for an unknown
// kind.
func (k Kind) Table() string {
	if m, ok := k.Model().(interface{ TableName() string }); ok {
		return m.TableName()
	}
	return ""
}

// ParseKind reads a kind given by its name ("requests") or by its table's
// name ("audit_request_events"), in any case.
func ParseKind(s string) (Kind, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, k := range Kinds() {
		if s == string(k) || s == k.Table() {
			return k, nil
		}
	}
	return "", fmt.Errorf("audit: unknown table %q: use requests, logins, processes, steps or registrations", s)
}

// Model is a pointer to a zero value of the kind's entity (for example
// *entities.RequestEvent), nil for an unknown kind.
func (k Kind) Model() any {
	switch k {
	case Requests:
		return &entities.RequestEvent{}
	case Logins:
		return &entities.LoginEvent{}
	case Processes:
		return &entities.ProcessEvent{}
	case Steps:
		return &entities.StepEvent{}
	case Registrations:
		return &entities.RegistrationEvent{}
	}
	return nil
}
