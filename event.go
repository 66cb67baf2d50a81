package audit

import (
	"encoding/json"
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
	id    entities.ID
	trail *Trail

	mu         sync.Mutex
	userID     string
	extra      any
	hasExtra   bool
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

// Trail is the trail recording this event (nil for a nil Event).
func (e *Event) Trail() *Trail {
	if e == nil {
		return nil
	}
	return e.trail
}

// SetExtra stores v, marshalled as JSON with secrets masked, in the request
// event's extra_informations. A later call replaces an earlier one.
func (e *Event) SetExtra(v any) {
	if e == nil {
		return
	}
	e.mu.Lock()
	e.extra, e.hasExtra = v, true
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

// Contribute registers f to add rows (login events, processes) to the
// request's batch when the request ends, after its outcome is known. It
// reports false, and f is not called, if the request already ended: the
// caller should then write its rows itself through Trail.Record.
func (e *Event) Contribute(f func(b *entities.Batch)) bool {
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
// handlers set.
func (e *Event) finish() (userID string, extra []byte, contribute []func(*entities.Batch)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.finalized = true
	if e.hasExtra {
		if b, err := json.Marshal(e.extra); err == nil {
			extra = b
		} else {
			e.trail.log.Warn("audit: SetExtra value cannot be marshalled to JSON", "request_id", e.id.String(), "error", err)
			extra, _ = json.Marshal(map[string]string{"audit_error": "extra information not serialisable: " + err.Error()})
		}
	}
	return e.userID, extra, e.contribute
}
