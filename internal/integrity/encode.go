// Package integrity makes the audit trail tamper-evident: a canonical
// encoding and SHA-256 hash of every audit row, a digest per written batch
// chained to the previous digest of its chain and optionally signed with
// Ed25519, and the verification that recomputes all of it from the
// database. docs/INTEGRITY.md describes the format and the threat model.
package integrity

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"time"

	"github.com/gin-audit-trail/audit/entities"
)

// Table numbers the five audit tables in the canonical order of a batch's
// manifest: requests, logins, processes, steps, registrations.
type Table uint8

// The audit tables, in manifest order.
const (
	Requests Table = iota
	Logins
	Processes
	Steps
	Registrations
	numTables
)

// Name is the table's SQL name.
func (t Table) Name() string {
	switch t {
	case Requests:
		return entities.RequestEvent{}.TableName()
	case Logins:
		return entities.LoginEvent{}.TableName()
	case Processes:
		return entities.ProcessEvent{}.TableName()
	case Steps:
		return entities.StepEvent{}.TableName()
	case Registrations:
		return entities.RegistrationEvent{}.TableName()
	}
	return ""
}

// Tables are the five audit tables in manifest order.
func Tables() []Table { return []Table{Requests, Logins, Processes, Steps, Registrations} }

// Canonical row encoding, version 1 (docs/INTEGRITY.md, "Row encoding"):
//
//	"audit-row-v1" 0x00, the table's SQL name, 0x00,
//	then every column in the table's declared order except digest_id, each
//	as one tag byte and its value:
//	  'u' + 16 bytes       an id (UUID bytes)
//	  'n'                  SQL NULL (a nullable id, an empty JSON text)
//	  't' + 8 bytes        a time: microseconds since 1970-01-01 UTC, big-endian
//	                       two's complement (PostgreSQL keeps microseconds)
//	  'i' + 8 bytes        an integer, big-endian two's complement
//	  'f' + 8 bytes        a float64, its IEEE 754 bits, big-endian
//	  'b' + 1 byte         a boolean, 0 or 1
//	  's' + uvarint + text a string: its length in bytes, then its UTF-8 bytes
//
// The row hash is SHA-256 of that encoding. digest_id is left out: which
// batch holds a row is proven by the batch's manifest, not by the row.
type encoder struct{ b []byte }

func (e *encoder) start(t Table) {
	e.b = append(e.b[:0], "audit-row-v1\x00"...)
	e.b = append(e.b, t.Name()...)
	e.b = append(e.b, 0)
}

func (e *encoder) id(id entities.ID) {
	e.b = append(e.b, 'u')
	e.b = append(e.b, id[:]...)
}

func (e *encoder) nullID(id *entities.ID) {
	if id == nil {
		e.b = append(e.b, 'n')
		return
	}
	e.id(*id)
}

func (e *encoder) time(t time.Time) {
	e.b = append(e.b, 't')
	e.b = binary.BigEndian.AppendUint64(e.b, uint64(t.UnixMicro()))
}

func (e *encoder) int(v int64) {
	e.b = append(e.b, 'i')
	e.b = binary.BigEndian.AppendUint64(e.b, uint64(v))
}

func (e *encoder) float(v float64) {
	e.b = append(e.b, 'f')
	e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(v))
}

func (e *encoder) bool(v bool) {
	e.b = append(e.b, 'b')
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) str(s string) {
	e.b = append(e.b, 's')
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) json(j entities.JSONText) {
	if j == "" {
		e.b = append(e.b, 'n') // stored as NULL
		return
	}
	e.str(string(j))
}

func (e *encoder) sum() [32]byte { return sha256.Sum256(e.b) }

// Hasher computes row hashes, reusing one buffer; it is not safe for
// concurrent use.
type Hasher struct{ e encoder }

// Request is the hash of a request event.
func (h *Hasher) Request(r *entities.RequestEvent) [32]byte {
	e := &h.e
	e.start(Requests)
	e.id(r.ID)
	e.time(r.Datetime)
	e.str(r.UserID)
	e.str(r.IPAddress)
	e.str(r.Method)
	e.str(r.URL)
	e.str(r.Route)
	e.str(r.QueryParams)
	e.str(r.RequestType)
	e.str(r.RequestBody)
	e.str(r.ResponseBody)
	e.int(int64(r.StatusCode))
	e.float(r.ResponseTimeMS)
	e.int(r.ResponseSize)
	e.str(r.ErrorType)
	e.str(r.ErrorMessage)
	e.str(r.ErrorStacktrace)
	e.json(r.ExtraInformations)
	return e.sum()
}

// Login is the hash of a login event.
func (h *Hasher) Login(l *entities.LoginEvent) [32]byte {
	e := &h.e
	e.start(Logins)
	e.id(l.ID)
	e.time(l.Datetime)
	e.str(l.Status)
	e.nullID(l.RequestID)
	e.str(l.UserID)
	e.str(l.Username)
	e.json(l.ExtraInformations)
	return e.sum()
}

// Process is the hash of a process event.
func (h *Hasher) Process(p *entities.ProcessEvent) [32]byte {
	e := &h.e
	e.start(Processes)
	e.id(p.ID)
	e.time(p.Datetime)
	e.str(p.Name)
	e.str(p.Description)
	e.str(p.CreatedBy)
	e.nullID(p.RequestID)
	e.json(p.ExtraInformations)
	return e.sum()
}

// Step is the hash of a step event.
func (h *Hasher) Step(s *entities.StepEvent) [32]byte {
	e := &h.e
	e.start(Steps)
	e.id(s.ID)
	e.time(s.Datetime)
	e.id(s.ProcessID)
	e.str(s.Name)
	e.str(s.Description)
	e.int(int64(s.StepOrder))
	e.int(int64(s.TotalRegistrations))
	e.str(s.CreatedBy)
	e.json(s.ExtraInformations)
	return e.sum()
}

// Registration is the hash of a registration event.
func (h *Hasher) Registration(r *entities.RegistrationEvent) [32]byte {
	e := &h.e
	e.start(Registrations)
	e.id(r.ID)
	e.time(r.Datetime)
	e.id(r.StepID)
	e.bool(r.Success)
	e.str(r.Name)
	e.str(r.Description)
	e.str(r.CreatedBy)
	e.json(r.ExtraInformations)
	return e.sum()
}
