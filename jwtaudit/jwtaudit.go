// Package jwtaudit connects gin-jwt (github.com/appleboy/gin-jwt/v2) to the
// audit trail: one call wraps a *jwt.GinJWTMiddleware's hooks so that sign
// ins, failed logins and sign outs become login events, and its
// UserResolver names the user of every audited request from a verified
// token. The application writes no audit code of its own.
//
//	mw, _ := jwt.New(&jwt.GinJWTMiddleware{...})
//	auditor, _ := jwtaudit.Wrap(mw, jwtaudit.Config{UserClaim: "user_id"})
//	trail, _ := audit.Open(audit.Options{UserResolver: auditor.UserResolver})
//	router.Use(trail.Middleware())
//	router.POST("/api/token/", mw.LoginHandler)
//
// It lives apart from package audit so that applications without gin-jwt
// do not link gin-jwt and its JWT and key-parsing dependencies.
//
// What is recorded:
//
//   - Sign in: the Authenticator succeeded and a token was issued. The
//     login event's user id is the UserClaim of the issued token, so it is
//     the same id that later requests carrying that token are audited
//     with; the username is the token's UsernameClaim (the user the
//     application authenticated), or else the one the client sent.
//   - Failed: the Authenticator returned an error, or the token could not
//     be created. The username the client tried is stored, read as the
//     application's binding reads it: JSON as encoding/json binds it
//     (member names case-insensitive, the last match wins, so
//     {"username":"decoy","USERNAME":"admin"} is "admin"; only the first
//     JSON value counts, as in gin's ShouldBindJSON), urlencoded and
//     multipart forms by the field's first value. The password never is
//     stored (only the username member of the body is kept).
//   - Sign out: LogoutHandler answered; the user is the one named by the
//     request's verified token, if any.
//   - Refresh: the request is audited with the user of the new token; it
//     is not a login event.
//
// gin-jwt calls Unauthorized for many reasons (bad login, missing, expired
// or forged token, forbidden). Only a failure inside LoginHandler is a
// failed login: an expired token on a protected route is an ordinary
// audited 401 that names no user.
package jwtaudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	jwt "github.com/appleboy/gin-jwt/v2"
	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-gonic/gin"
)

// Config tunes the integration. The zero value works with gin-jwt's
// defaults.
type Config struct {
	// UserClaim is the JWT claim holding the user id stored in user_id
	// (drf-audit-trail's DRF_AUDIT_TRAIL_USER_PK_NAME). Default: the
	// middleware's IdentityKey. String and number claims are stored as
	// text; other kinds name no user.
	UserClaim string
	// UsernameField is the member of the login request body (JSON, an
	// urlencoded form or multipart/form-data) holding the username the
	// client tried, read exactly as the application's binding reads it
	// (see the package documentation). Default "username". No other member
	// of the body is kept.
	UsernameField string
	// UsernameClaim is the claim of the issued token that holds the
	// username of a sign in: the user the Authenticator actually accepted,
	// whatever the body said. Default "username"; when the token has no
	// such claim, the username is the one read from the body.
	UsernameClaim string
	// FailureReason turns an Authenticator error into the reason stored
	// with a failed login. Default: the message of gin-jwt's own errors
	// (ErrMissingLoginValues, ErrFailedAuthentication, ...) and
	// "authentication failed" for any other error, because an
	// application's error text may quote what the client sent. It must
	// never return the password.
	FailureReason func(err error) string
}

// maxPeek bounds how much of a login request body is read to find the
// username; a larger body is passed on untouched and the username is
// recorded as unknown.
const maxPeek = 64 << 10

// Keys of the per-request state the hooks share on the gin.Context.
const (
	ctxUsername      = "audit.jwt.username"
	ctxAuthenticated = "audit.jwt.authenticated"
)

// Auditor is the audit side of one GinJWTMiddleware, returned by Wrap.
type Auditor struct {
	mw        *jwt.GinJWTMiddleware
	claim     string
	nameClaim string
	field     string
	reason    func(error) string
	next      hooks // the application's hooks, called after recording
	lookups   [][2]string
	headName  string
}

type hooks struct {
	authenticator func(c *gin.Context) (interface{}, error)
	unauthorized  func(c *gin.Context, code int, message string)
	login         func(c *gin.Context, code int, token string, expire time.Time)
	logout        func(c *gin.Context, code int)
	refresh       func(c *gin.Context, code int, token string, expire time.Time)
}

// Wrap installs audit recording in mw's Authenticator, LoginResponse,
// Unauthorized, LogoutResponse and RefreshResponse hooks; each still calls
// the application's own hook (or gin-jwt's default) afterwards, so the
// answers do not change. Call it once, after jwt.New (or MiddlewareInit,
// which Wrap runs itself when the hooks are not set yet) and before the
// middleware serves requests. Hooks run where the audit middleware is not
// installed record nothing.
//
// Install the returned Auditor's UserResolver as audit.Options.UserResolver
// so that every audited request names its user.
func Wrap(mw *jwt.GinJWTMiddleware, cfg Config) (*Auditor, error) {
	if mw == nil {
		return nil, errors.New("jwtaudit: nil GinJWTMiddleware")
	}
	if mw.Unauthorized == nil || mw.LoginResponse == nil || mw.LogoutResponse == nil || mw.RefreshResponse == nil || mw.TimeFunc == nil {
		if err := mw.MiddlewareInit(); err != nil {
			return nil, err
		}
	}
	a := &Auditor{
		mw:       mw,
		claim:    cfg.UserClaim,
		field:    cfg.UsernameField,
		reason:   cfg.FailureReason,
		headName: mw.TokenHeadName,
		next: hooks{
			authenticator: mw.Authenticator,
			unauthorized:  mw.Unauthorized,
			login:         mw.LoginResponse,
			logout:        mw.LogoutResponse,
			refresh:       mw.RefreshResponse,
		},
	}
	if a.claim == "" {
		a.claim = mw.IdentityKey
	}
	if a.field == "" {
		a.field = "username"
	}
	a.nameClaim = cfg.UsernameClaim
	if a.nameClaim == "" {
		a.nameClaim = "username"
	}
	if a.reason == nil {
		a.reason = defaultReason
	}
	for _, method := range strings.Split(mw.TokenLookup, ",") {
		src, name, ok := strings.Cut(strings.TrimSpace(method), ":")
		if ok {
			a.lookups = append(a.lookups, [2]string{strings.TrimSpace(src), strings.TrimSpace(name)})
		}
	}

	if a.next.authenticator != nil {
		mw.Authenticator = a.authenticator
	}
	mw.Unauthorized = a.unauthorized
	mw.LoginResponse = a.loginResponse
	mw.LogoutResponse = a.logoutResponse
	mw.RefreshResponse = a.refreshResponse
	return a, nil
}

// UserResolver names the user of a request, for audit.Options.UserResolver:
// the UserClaim of the token that gin-jwt's middleware verified on this
// request, or else of a token the request carries (where the middleware's
// TokenLookup says: header, query, cookie or path parameter) after checking
// its signature and expiry with the middleware's own parser and clock. A
// missing, expired or forged token names nobody: "".
func (a *Auditor) UserResolver(c *gin.Context) string {
	if v, ok := c.Get("JWT_PAYLOAD"); ok { // set by MiddlewareFunc once the token passed
		if claims, ok := v.(jwt.MapClaims); ok {
			return a.userFromClaims(claims)
		}
	}
	for _, l := range a.lookups {
		if tok := a.tokenFrom(c, l[0], l[1]); tok != "" {
			return a.userFromToken(tok)
		}
	}
	return ""
}

// tokenFrom reads the raw token like gin-jwt does; a form body is never
// parsed for it (the body belongs to the handler).
func (a *Auditor) tokenFrom(c *gin.Context, source, name string) string {
	switch source {
	case "header":
		head, tok, ok := strings.Cut(c.Request.Header.Get(name), " ")
		if ok && head == a.headName {
			return tok
		}
	case "query":
		return c.Query(name)
	case "cookie":
		v, _ := c.Cookie(name)
		return v
	case "param":
		return c.Param(name)
	}
	return ""
}

// userFromToken verifies tok (signature, algorithm, standard claims, then
// the middleware's own expiry rule) and returns its user claim.
func (a *Auditor) userFromToken(tok string) string {
	parsed, err := a.mw.ParseTokenString(tok)
	if err != nil || parsed == nil || !parsed.Valid {
		return ""
	}
	claims := jwt.ExtractClaimsFromToken(parsed)
	if !a.unexpired(claims) {
		return ""
	}
	return a.userFromClaims(claims)
}

// unexpired applies MiddlewareFunc's rule: the expiry claim must be present
// and not before the middleware's clock.
func (a *Auditor) unexpired(claims jwt.MapClaims) bool {
	now := a.mw.TimeFunc().Unix()
	switch v := claims[a.mw.ExpField].(type) {
	case float64:
		return int64(v) >= now
	case json.Number:
		n, err := v.Int64()
		return err == nil && n >= now
	}
	return false
}

// usernameFromToken is the UsernameClaim of the token the login issued, or
// "" when it has none.
func (a *Auditor) usernameFromToken(tok string) string {
	parsed, err := a.mw.ParseTokenString(tok)
	if err != nil || parsed == nil || !parsed.Valid {
		return ""
	}
	return claimText(jwt.ExtractClaimsFromToken(parsed)[a.nameClaim])
}

func (a *Auditor) userFromClaims(claims jwt.MapClaims) string {
	return claimText(claims[a.claim])
}

// claimText is a string or number claim as text ("" for other kinds).
func claimText(claim any) string {
	switch v := claim.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint:
		return strconv.FormatUint(uint64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	}
	return ""
}

func (a *Auditor) authenticator(c *gin.Context) (interface{}, error) {
	username := a.peekUsername(c)
	c.Set(ctxUsername, username)
	data, err := a.next.authenticator(c)
	if err != nil {
		audit.From(c).LoginFailed(username, a.reason(err))
		return data, err
	}
	c.Set(ctxAuthenticated, true)
	return data, nil
}

func (a *Auditor) loginResponse(c *gin.Context, code int, token string, expire time.Time) {
	username := c.GetString(ctxUsername)
	if name := a.usernameFromToken(token); name != "" {
		username = name // the user the application authenticated
	}
	audit.From(c).SignedIn(a.userFromToken(token), username)
	a.next.login(c, code, token, expire)
}

func (a *Auditor) unauthorized(c *gin.Context, code int, message string) {
	// After a successful Authenticator, LoginHandler fails only when it
	// cannot create the token. Any other Unauthorized (missing, expired or
	// forged token, forbidden) is not a login attempt: the request is
	// audited with its status, and names no user unless a token was valid.
	if c.GetBool(ctxAuthenticated) {
		audit.From(c).LoginFailed(c.GetString(ctxUsername), jwt.ErrFailedTokenCreation.Error())
	}
	a.next.unauthorized(c, code, message)
}

func (a *Auditor) logoutResponse(c *gin.Context, code int) {
	audit.From(c).SignedOut(a.UserResolver(c))
	a.next.logout(c, code)
}

func (a *Auditor) refreshResponse(c *gin.Context, code int, token string, expire time.Time) {
	audit.From(c).SetUser(a.userFromToken(token))
	a.next.refresh(c, code, token, expire)
}

// peekUsername reads the beginning of the login body, puts it back for the
// Authenticator, and returns the username the application will bind from
// it: for JSON, the first JSON value decoded as encoding/json (and gin's
// ShouldBindJSON) decodes it into a struct with a string field tagged
// with the member name: case-insensitive member names, the last matching
// member wins, data after the value ignored as gin ignores it; for an
// urlencoded form, the first value of the field in the body, else in the
// query (gin's form binding); for multipart/form-data, the first value of
// the field. It returns "" when the body holds no such string or is larger
// than maxPeek where it would need to be read.
func (a *Auditor) peekUsername(c *gin.Context) string {
	body := c.Request.Body
	if body == nil || body == http.NoBody {
		return ""
	}
	mt, params, _ := mime.ParseMediaType(c.Request.Header.Get("Content-Type"))
	var read bytes.Buffer
	defer func() {
		c.Request.Body = readCloser{io.MultiReader(bytes.NewReader(read.Bytes()), body), body}
	}()
	limited := io.TeeReader(io.LimitReader(body, maxPeek+1), &read)
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if _, err := io.Copy(io.Discard, limited); err != nil || read.Len() > maxPeek {
			return ""
		}
		head := read.Bytes()
		if mt == "multipart/form-data" {
			return multipartValue(head, params["boundary"], a.field)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(head), []byte("{")) {
			vals, err := url.ParseQuery(string(head))
			if err != nil {
				return ""
			}
			if v, ok := vals[a.field]; ok && len(v) > 0 {
				return v[0]
			}
			return c.Request.URL.Query().Get(a.field)
		}
		// A JSON object sent with a form content type (curl -d does that)
		// is read as JSON, as gin's ShouldBindJSON would.
		return jsonField(bytes.NewReader(head), a.field)
	}
	return jsonField(limited, a.field)
}

// jsonField decodes the first JSON value of r the way encoding/json binds
// it to a struct whose only field is a string tagged `json:"<field>"`.
func jsonField(r io.Reader, field string) string {
	typ := reflect.StructOf([]reflect.StructField{{
		Name: "Username",
		Type: reflect.TypeFor[string](),
		Tag:  reflect.StructTag(`json:` + strconv.Quote(field)),
	}})
	v := reflect.New(typ)
	if json.NewDecoder(r).Decode(v.Interface()) != nil {
		return ""
	}
	return v.Elem().Field(0).String()
}

// multipartValue is the first value of the form field named field in a
// complete multipart body (file parts are skipped).
func multipartValue(body []byte, boundary, field string) string {
	if boundary == "" {
		return ""
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if part.FormName() == field && part.FileName() == "" {
			v, err := io.ReadAll(io.LimitReader(part, maxPeek))
			if err != nil {
				return ""
			}
			return string(v)
		}
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

var knownErrors = []error{
	jwt.ErrMissingLoginValues, jwt.ErrFailedAuthentication, jwt.ErrFailedTokenCreation,
	jwt.ErrForbidden, jwt.ErrMissingAuthenticatorFunc,
}

func defaultReason(err error) string {
	for _, known := range knownErrors {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return "authentication failed"
}
