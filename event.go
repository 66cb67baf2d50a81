package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/redact"
	"github.com/gin-gonic/gin"
)

// ContextKey is the gin.Context key under which the middleware stores the
// request's *Event: c.MustGet(audit.ContextKey).(*audit.Event).
const ContextKey = "audit"

// Event is the audit handle of one request. Handlers reach it with From
// (or c.MustGet("audit")) to name the user, attach extra information, and
// record logins and processes. Its methods are safe for concurrent use, and
// a nil *Event (a request that is not audited) ignores every call.
type Event struct {
	id       entities.ID
	trail    *Trail
	decision decision // what the policy decided for this request, once

	mu         sync.Mutex
	userID     string
	extra      any            // SetExtra's document
	hasExtra   bool           // SetExtra was called
	merged     map[string]any // MergeExtra's members, added to the document
	finalized  bool
	contribute []func(b *entities.Batch) // rows added to the request's batch at the end
	login      *loginRecord              // SignedIn, LoginFailed or SignedOut (login.go)

	// echoes are the secret values masked in the request's rows, filled
	// when the request ends and read by Trail.LogFormatter on the same
	// goroutine afterwards.
	echoes redact.Echoes
	// The request's batch and its row live in the event: two allocations
	// fewer per audited request.
	batch entities.Batch
	row   [1]entities.RequestEvent
}

// From returns the audit handle of the request, or nil when the request is
// not audited (its path matches no Include pattern). Calls on nil are
// no-ops, so handlers need not check.
func From(c *gin.Context) *Event {
	if c == nil {
		return nil
	}
	v, ok := c.Get(ContextKey)
	if !ok {
		return nil
	}
	ev, _ := v.(*Event)
	return ev
}

// ID is the id of the request event: known before it is written, so it can
// be shown to the caller or logged. The zero ID for a nil Event.
func (e *Event) ID() entities.ID {
	if e == nil {
		return entities.ID{}
	}
	return e.id
}

// SetExtra stores v, marshalled as JSON with secrets masked, as the
// request event's extra_informations, replacing what SetExtra and
// MergeExtra set before. A json.RawMessage or []byte holding a JSON
// document is stored as that document (not as a JSON string of its text);
// a []byte that is not JSON is stored as a JSON string. A request for
// which nothing is set stores SQL NULL.
func (e *Event) SetExtra(v any) {
	if e == nil {
		return
	}
	e.mu.Lock()
	e.extra, e.hasExtra, e.merged = v, true, nil
	e.mu.Unlock()
}

// MergeExtra adds members to the request event's extra information, so
// that several handlers and middlewares can each contribute keys: a later
// value of a key replaces an earlier one, other keys are kept. The members
// are merged into the object set by SetExtra, if any; a SetExtra value that
// is not a JSON object is kept under the key "value". Values are marshalled
// like SetExtra's.
func (e *Event) MergeExtra(members map[string]any) {
	if e == nil || len(members) == 0 {
		return
	}
	e.mu.Lock()
	if e.merged == nil {
		e.merged = make(map[string]any, len(members))
	}
	for k, v := range members {
		e.merged[k] = v
	}
	e.mu.Unlock()
}

// SetUser names the user who made the request (stored in user_id). It
// takes precedence over Options.UserResolver.
func (e *Event) SetUser(id string) {
	if e == nil {
		return
	}
	e.mu.Lock()
	e.userID = id
	e.mu.Unlock()
}

// User is the user set so far with SetUser ("" if none).
func (e *Event) User() string {
	if e == nil {
		return ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.userID
}

// addAtEnd registers f to add rows (login events, processes) to the
// request's batch when the request ends, after its outcome is known. It
// reports false, and f is not called, if the request already ended: the
// caller should then write its rows itself through Trail.Record.
func (e *Event) addAtEnd(f func(b *entities.Batch)) bool {
	if e == nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finalized {
		return false
	}
	e.contribute = append(e.contribute, f)
	return true
}

// finish closes the event to further contributions and returns what the
// handlers set; extra is nil when nothing was set.
func (e *Event) finish() (userID string, extra []byte, contribute []func(*entities.Batch)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.finalized = true
	if e.hasExtra || len(e.merged) > 0 {
		var err error
		if extra, err = e.extraDocument(); err != nil {
			e.trail.log.Warn("audit: extra information cannot be marshalled to JSON", "request_id", e.id.String(), "error", err)
			extra, _ = json.Marshal(map[string]string{"audit_error": "extra information not serialisable: " + err.Error()})
		}
	}
	return e.userID, extra, e.contribute
}

// extraDocument builds the extra information: SetExtra's document with
// MergeExtra's members merged in.
func (e *Event) extraDocument() ([]byte, error) {
	var base []byte
	if e.hasExtra {
		var err error
		if base, err = marshalExtra(e.extra); err != nil {
			return nil, err
		}
	}
	if len(e.merged) == 0 {
		return base, nil
	}
	doc := map[string]json.RawMessage{}
	if base != nil && json.Unmarshal(base, &doc) != nil {
		doc = map[string]json.RawMessage{"value": base}
	}
	for k, v := range e.merged {
		b, err := marshalExtra(v)
		if err != nil {
			return nil, fmt.Errorf("member %q: %w", k, err)
		}
		doc[k] = b
	}
	return json.Marshal(doc)
}

// marshalExtra marshals v as JSON, keeping a JSON document given as
// json.RawMessage or []byte as it is (compacted).
func marshalExtra(v any) ([]byte, error) {
	var raw []byte
	switch d := v.(type) {
	case json.RawMessage:
		raw = d
	case []byte:
		raw = d
	default:
		return json.Marshal(v)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.Bytes(), nil
	}
	return json.Marshal(string(raw)) // not JSON: kept as a JSON string
}
