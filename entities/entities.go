// Package entities holds the GORM models of the audit database: one request
// event per audited HTTP request, login events, and the process, step and
// registration events that applications use to describe business processes.
//
// Every id is a UUIDv7 assigned in the process ([NewID]); every Datetime is
// UTC and indexed; ExtraInformations is JSON text, NULL when nothing was set.
package entities

import "time"

// Login event statuses, as in drf-audit-trail.
const (
	LoginSignIn  = "Sign in"
	LoginSignOut = "Sign out"
	LoginFailed  = "Failed"
)

// RequestEvent is one audited HTTP request. Its table is the hottest of
// all, so it has few indexes (see docs/PERFORMANCE.md, "Index budget"):
// id, datetime, user_id where it is not empty, (status_code, datetime),
// (method, datetime) and a url prefix index.
type RequestEvent struct {
	ID                ID        `gorm:"primaryKey" json:"id"`
	Datetime          time.Time `gorm:"not null;index" json:"datetime"`
	UserID            string    `gorm:"size:255" json:"user_id"` // indexed where not empty, in repository.Migrate
	IPAddress         string    `gorm:"size:64" json:"ip_address"`
	Method            string    `gorm:"size:32" json:"method"` // indexed with datetime in repository.Migrate
	URL               string    `gorm:"size:2048" json:"url"`  // indexed by prefix in repository.Migrate
	Route             string    `gorm:"size:255" json:"route"` // gin's route template (/api/product/:id/), "" when no route matched
	QueryParams       string    `gorm:"size:2048" json:"query_params"`
	RequestType       string    `gorm:"size:16" json:"request_type"`
	RequestBody       string    `gorm:"type:text" json:"request_body"`
	ResponseBody      string    `gorm:"type:text" json:"response_body"`
	StatusCode        int       `json:"status_code"` // indexed with datetime in repository.Migrate
	ResponseTimeMS    float64   `gorm:"column:response_time_ms" json:"response_time_ms"`
	ResponseSize      int64     `json:"response_size"`
	ErrorType         string    `gorm:"size:255" json:"error_type"`
	ErrorMessage      string    `gorm:"type:text" json:"error_message"`
	ErrorStacktrace   string    `gorm:"type:text" json:"error_stacktrace"`
	ExtraInformations JSONText  `gorm:"type:text" json:"extra_informations"`
	DigestID          *ID       `gorm:"column:digest_id" json:"digest_id,omitempty"` // the integrity digest that seals the row (docs/INTEGRITY.md); nil without integrity
}

// TableName is the audit table for request events.
func (RequestEvent) TableName() string { return "audit_request_events" }

// LoginEvent is a sign in, sign out or failed login, linked to the request
// that carried it.
type LoginEvent struct {
	ID                ID        `gorm:"primaryKey" json:"id"`
	Datetime          time.Time `gorm:"not null;index" json:"datetime"`
	Status            string    `gorm:"size:16;not null;index" json:"status"`
	RequestID         *ID       `gorm:"index" json:"request_id"`
	UserID            string    `gorm:"size:255;index" json:"user_id"`
	Username          string    `gorm:"size:255;index" json:"username"`
	ExtraInformations JSONText  `gorm:"type:text" json:"extra_informations"`
	DigestID          *ID       `gorm:"column:digest_id" json:"digest_id,omitempty"` // the integrity digest that seals the row (docs/INTEGRITY.md); nil without integrity
}

// TableName is the audit table for login events.
func (LoginEvent) TableName() string { return "audit_login_events" }

// ProcessEvent is one run of a business process. RequestID is nil for
// processes run outside an HTTP request (background jobs).
type ProcessEvent struct {
	ID                ID        `gorm:"primaryKey" json:"id"`
	Datetime          time.Time `gorm:"not null;index" json:"datetime"`
	Name              string    `gorm:"size:255;not null;index" json:"name"`
	Description       string    `gorm:"type:text" json:"description"`
	CreatedBy         string    `gorm:"size:255;index" json:"created_by"`
	RequestID         *ID       `gorm:"index" json:"request_id"`
	ExtraInformations JSONText  `gorm:"type:text" json:"extra_informations"`
	DigestID          *ID       `gorm:"column:digest_id" json:"digest_id,omitempty"` // the integrity digest that seals the row (docs/INTEGRITY.md); nil without integrity
}

// TableName is the audit table for process events.
func (ProcessEvent) TableName() string { return "audit_process_events" }

// StepEvent is one ordered step of a process, expecting TotalRegistrations
// registrations.
type StepEvent struct {
	ID                 ID        `gorm:"primaryKey" json:"id"`
	Datetime           time.Time `gorm:"not null;index" json:"datetime"`
	ProcessID          ID        `gorm:"not null;index" json:"process_id"`
	Name               string    `gorm:"size:255;not null" json:"name"`
	Description        string    `gorm:"type:text" json:"description"`
	StepOrder          int       `gorm:"not null" json:"step_order"`
	TotalRegistrations int       `gorm:"not null;default:1" json:"total_registrations"`
	CreatedBy          string    `gorm:"size:255" json:"created_by"`
	ExtraInformations  JSONText  `gorm:"type:text" json:"extra_informations"`
	DigestID           *ID       `gorm:"column:digest_id" json:"digest_id,omitempty"` // the integrity digest that seals the row (docs/INTEGRITY.md); nil without integrity
}

// TableName is the audit table for step events.
func (StepEvent) TableName() string { return "audit_step_events" }

// RegistrationEvent records one success or failure within a step.
type RegistrationEvent struct {
	ID                ID        `gorm:"primaryKey" json:"id"`
	Datetime          time.Time `gorm:"not null;index" json:"datetime"`
	StepID            ID        `gorm:"not null;index" json:"step_id"`
	Success           bool      `gorm:"not null" json:"success"`
	Name              string    `gorm:"size:255" json:"name"`
	Description       string    `gorm:"type:text" json:"description"`
	CreatedBy         string    `gorm:"size:255" json:"created_by"`
	ExtraInformations JSONText  `gorm:"type:text" json:"extra_informations"`
	DigestID          *ID       `gorm:"column:digest_id" json:"digest_id,omitempty"` // the integrity digest that seals the row (docs/INTEGRITY.md); nil without integrity
}

// TableName is the audit table for registration events.
func (RegistrationEvent) TableName() string { return "audit_registration_events" }

// All returns one zero value of every model, in dependency order, for
// migrations.
func All() []any {
	return []any{&RequestEvent{}, &LoginEvent{}, &ProcessEvent{}, &StepEvent{}, &RegistrationEvent{}}
}

// Batch is a set of rows written together in one transaction: typically a
// request event with the login event and processes it produced.
type Batch struct {
	Requests      []RequestEvent
	Logins        []LoginEvent
	Processes     []ProcessEvent
	Steps         []StepEvent
	Registrations []RegistrationEvent
}

// Len is the number of rows in the batch.
func (b *Batch) Len() int {
	return len(b.Requests) + len(b.Logins) + len(b.Processes) + len(b.Steps) + len(b.Registrations)
}

// Append adds every row of other to b.
func (b *Batch) Append(other *Batch) {
	b.Requests = append(b.Requests, other.Requests...)
	b.Logins = append(b.Logins, other.Logins...)
	b.Processes = append(b.Processes, other.Processes...)
	b.Steps = append(b.Steps, other.Steps...)
	b.Registrations = append(b.Registrations, other.Registrations...)
}
