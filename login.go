package audit

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-gonic/gin"
)

// loginRecord is the login outcome a handler or a gin-jwt hook described
// for the request. A request has at most one: a later call replaces it.
type loginRecord struct {
	status   string
	userID   string
	username string
	reason   string
	at       time.Time
}

// SignedIn records that the request signed the user in: one "Sign in" login
// event linked to this request, with the user id and the username used. It
// also names userID as the user of the request (as SetUser does). An empty
// userID is filled, when the request ends, with the request's user.
//
// A request has at most one login event: a later SignedIn, LoginFailed or
// SignedOut replaces an earlier one. The gin-jwt integration (package
// jwtaudit) calls these methods itself.
func (e *Event) SignedIn(userID, username string) {
	e.setLogin(entities.LoginSignIn, userID, username, "")
}

// LoginFailed records a failed login attempt for username, the name the
// client tried (stored: brute-force analysis needs it). reason is a short
// explanation stored in the login event's extra_informations; it must not
// contain the password or any token. The request's user is not changed.
func (e *Event) LoginFailed(username, reason string) {
	e.setLogin(entities.LoginFailed, "", username, reason)
}

// SignedOut records that the request signed userID out: one "Sign out"
// login event linked to this request. It also names userID as the user of
// the request when no user was set yet.
func (e *Event) SignedOut(userID string) {
	e.setLogin(entities.LoginSignOut, userID, "", "")
}

func (e *Event) setLogin(status, userID, username, reason string) {
	if e == nil {
		return
	}
	rec := &loginRecord{status: status, userID: userID, username: username, reason: reason, at: time.Now().UTC()}
	e.mu.Lock()
	if !e.finalized {
		e.login = rec
		if userID != "" && (status == entities.LoginSignIn || e.userID == "") {
			e.userID = userID
		}
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	// The request already ended (a goroutine outlived it): the row cannot
	// join the request's batch, so it is recorded on its own.
	b := &entities.Batch{Logins: []entities.LoginEvent{e.trail.loginRow(e.id, rec, "")}}
	if err := e.trail.record(context.Background(), b); err != nil {
		e.trail.log.Error("audit: login event recorded after its request ended was not accepted", "request_id", e.id.String(), "error", err)
	}
}

// takeLogin returns the login outcome described during the request, once
// the event is finalized.
func (e *Event) takeLogin() *loginRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.login
}

// addLogin appends the request's login event to b, the request's batch:
// the outcome a handler or hook described, or, for a POST to an auth URL
// that nothing described (and to which no contribution added a login row),
// one inferred from the response: "Sign in" for a 2xx answer with a known
// user, "Failed" otherwise. b.Requests[0] is the finished request event.
func (t *Trail) addLogin(c *gin.Context, ev *Event, b *entities.Batch) {
	req := &b.Requests[0]
	rec := ev.takeLogin()
	inferred := false
	if rec == nil {
		d := ev.decision
		if len(b.Logins) > 0 || c.Request.Method != http.MethodPost || (!d.login && !d.logout) {
			return
		}
		inferred = true
		rec = &loginRecord{status: entities.LoginFailed, at: time.Now().UTC()}
		switch {
		case d.logout && req.StatusCode >= 200 && req.StatusCode < 300:
			rec.status, rec.userID = entities.LoginSignOut, req.UserID
		case d.logout:
			rec.reason = "the logout was refused"
		case req.StatusCode == t.policy.authFailed:
			rec.reason = "answered with the failed-login status"
		case req.UserID == "":
			rec.reason = "no user was authenticated"
		case req.StatusCode >= 200 && req.StatusCode < 300:
			rec.status, rec.userID = entities.LoginSignIn, req.UserID
		default:
			rec.reason = "the login was answered with an error status"
		}
	}
	row := t.loginRow(ev.id, rec, req.UserID)
	if inferred {
		row.ExtraInformations = t.loginExtra(map[string]any{"inferred_from_status": req.StatusCode, "reason": rec.reason})
	}
	b.Logins = append(b.Logins, row)
}

// loginRow builds the login event of rec, linked to request requestID.
// requestUser fills the user id of a sign in or sign out that named none.
func (t *Trail) loginRow(requestID entities.ID, rec *loginRecord, requestUser string) entities.LoginEvent {
	row := entities.LoginEvent{
		ID:        entities.NewID(),
		Datetime:  rec.at,
		Status:    rec.status,
		RequestID: &requestID,
		UserID:    rec.userID,
		Username:  rec.username,
	}
	if row.UserID == "" && rec.status != entities.LoginFailed {
		row.UserID = requestUser
	}
	if rec.reason != "" {
		row.ExtraInformations = t.loginExtra(map[string]any{"reason": rec.reason})
	}
	return row
}

func (t *Trail) loginExtra(v map[string]any) entities.JSONText {
	doc, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return entities.JSONText(doc) // masked with the batch (cleanBatch)
}
