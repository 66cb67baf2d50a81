package audit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gin-audit-trail/audit/internal/redact"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
)

// Options configure a Trail. The zero value works: requests under /api/ are
// audited into the embedded SQLite file audit_trail.sqlite3, asynchronously,
// with secrets masked.
type Options struct {
	// DB is the audit database. It must not be the application's database
	// handle unless you want the audit tables there. When nil, DSN is opened.
	// Open does not ping it; open it with gorm.Config{DisableAutomaticPing:
	// true} so that gorm.Open does not need the server either.
	DB *gorm.DB
	// DSN opens the audit database when DB is nil: "" is the SQLite file
	// audit_trail.sqlite3 (WAL mode), "postgres://..." or "host=..." is
	// PostgreSQL (parsed by pgx), any other string is a SQLite file path
	// or "file:" URI. Another URL scheme is an error from Open.
	DSN string
	// SkipMigration turns off the creation of the audit tables, for
	// applications that run repository.Migrate from their deploy step. When
	// the database answers and a table is missing, Open fails naming it
	// (without WaitForDatabase: if it answers within ConnectWait).
	SkipMigration bool

	// WaitForDatabase makes Open fail fast: it connects and migrates before
	// returning (within ConnectTimeout) and returns the error if that
	// fails. By default the database is not needed at Open: see
	// ConnectWait.
	WaitForDatabase bool
	// ConnectWait is how long Open waits for the audit database to answer
	// its first attempt; once it has answered, Open also waits for the
	// migration (within ConnectTimeout). So a healthy database is ready
	// when Open returns, and one that is down or hung is reached in the
	// background, with retries (backoff up to Writer.RetryBackoffMax),
	// while events go to the spool. Default DefaultConnectWait; negative:
	// do not wait.
	ConnectWait time.Duration
	// ConnectTimeout bounds one attempt to reach and migrate the audit
	// database. Default repository.DefaultConnectTimeout.
	ConnectTimeout time.Duration

	// Include lists regular expressions of URL paths to audit. Default
	// DefaultInclude, ^/api/ (nil means the default; an empty non-nil slice audits nothing).
	Include []string
	// Exclude lists regular expressions of paths never audited, checked
	// after Include (RE2 has no look-ahead, so exclusions live here).
	Exclude []string

	// AuthURLs are the login paths: requests to them are audited whatever
	// Include and Exclude say, never have their bodies stored, and a POST to them records exactly one login event,
	// the one a handler described (Event.SignedIn, LoginFailed, SignedOut)
	// or else one inferred from the answer: "Sign in" for a 2xx with a
	// known user, "Failed" otherwise. A logout path listed here must call
	// SignedOut (jwtaudit does), or it would be inferred as a sign in.
	// Default /api/token/.
	AuthURLs []string
	// LogoutURLs are the logout paths. Like AuthURLs they are audited
	// whatever Include and Exclude say, and never store bodies. A POST to
	// one records exactly one login event: the one a handler described
	// (jwtaudit calls SignedOut), or else one inferred from the answer:
	// "Sign out" of the request's user for a 2xx, "Failed" otherwise (a
	// rejected token, as drf-audit-trail records it). Default none.
	LogoutURLs []string
	// AuthFailedStatus is the status code of a failed login, used when a
	// POST to an auth URL ends without SignedIn or LoginFailed having
	// described it. Default 401.
	AuthFailedStatus int

	// SkipRequestBody and SkipResponseBody are routes whose bodies are not
	// stored (drf-audit-trail's NOTSAVE_REQUEST_BODY_URLS and
	// NOTSAVE_RESPONSE_BODY_URLS).
	SkipRequestBody  []BodyRule
	SkipResponseBody []BodyRule
	// MaxBodyBytes caps each stored body; larger bodies stream through to
	// the handler untouched and are stored cut, with a note. Default 64 KiB;
	// negative stores no bodies.
	MaxBodyBytes int

	// SecretKeys replaces the default secret names (nil means
	// DefaultSecretKeys()). Names are compared in normalized form: Unicode
	// case folded as encoding/json folds them ("PASSWORD", "paſsword"), and
	// every character that is not a letter or digit removed ("api.key",
	// "API-Key" and "api key" are all "apikey"). A name of at most four
	// characters ("pin", "sid", "otp") must be a whole word of the member,
	// field or parameter name ("user_pin", "pinCode", not "shipping"); a
	// longer one may appear anywhere in it ("new_password").
	SecretKeys []string
	// AddSecretKeys are secret names added to SecretKeys (or to the
	// defaults), such as "cpf" or "account_number".
	AddSecretKeys []string
	// RemoveSecretKeys are names taken out of the list, compared in
	// normalized form: an application whose "pin" is a map pin removes
	// "pin".
	RemoveSecretKeys []string
	// SecretDetectors find secrets by the shape of their value, in
	// addition to the built-in ones (JSON Web Tokens, Bearer and Basic
	// credentials, PEM private keys, card numbers that pass the Luhn
	// check). Every stored text value goes through them: bodies, query,
	// URL path, errors, stack traces, extra information, process rows.
	SecretDetectors []SecretDetector
	// DisableSecretDetectors turns built-in detectors off by name: "jwt",
	// "auth" (Bearer and Basic credentials), "pem", "card".
	DisableSecretDetectors []string

	// UserResolver names the user of a request when no handler called
	// Event.SetUser (or SignedIn). For gin-jwt use the UserResolver method
	// of jwtaudit.Wrap's Auditor: it reads the verified token, and its
	// Config.UserClaim replaces DRF_AUDIT_TRAIL_USER_PK_NAME.
	UserResolver func(c *gin.Context) string

	// Synchronous makes the middleware return only after the request's rows
	// are committed, or fsync'd to the spool when the audit database fails
	// (concurrent requests share one transaction). No request that got its
	// response can then lose its event, even to kill -9. Default false:
	// rows are queued and written in the background, and a crash loses at
	// most what was queued in memory (see docs/RELIABILITY.md).
	Synchronous bool
	// Writer tunes the background writer (queue size, batch size, flush
	// interval, drop timeout) and its spool, Writer.Spool, which keeps
	// batches on disk while the audit database fails (or after a crash)
	// and replays them in order when it answers. When Writer.Spool.Dir is
	// "" it defaults to the directory "<file>.spool" next to a SQLite audit
	// file, or "audit_spool/<host>-<port>-<database>" in the working
	// directory for PostgreSQL; in-memory SQLite databases get no spool.
	// Set Writer.Spool.Disabled to turn it off. The directory is created
	// only when a write first fails.
	Writer repository.WriterConfig

	// Retention bounds how long audit rows are kept, per table: request
	// events, login events, and processes with their steps and
	// registrations. The zero value keeps everything. Old rows are deleted
	// in the background, in small batches that never stall the writer, by
	// one instance at a time (see repository.RunRetention); on SQLite the
	// freed space goes back to the file system.
	Retention repository.Retention

	// Partitioning declares the five audit tables of a new PostgreSQL
	// audit database partitioned by datetime, daily or monthly, for large
	// deployments: the trail creates the partitions ahead of time in the
	// background, and retention drops whole partitions instead of deleting
	// rows (docs/RETENTION.md). An existing unpartitioned database is never
	// converted: Open fails, naming the command that converts it. Ignored,
	// with a warning, on SQLite.
	Partitioning repository.Partitioning

	// Integrity makes the trail tamper-evident: each batch's rows are
	// hashed into a digest written in the same transaction, digests are
	// chained and, with Integrity.SigningKey, signed (Ed25519), and
	// `audit verify` finds any row changed, added or deleted. Off by
	// default; see docs/INTEGRITY.md.
	Integrity repository.Integrity

	// Logger receives the trail's warnings and errors. Default slog.Default().
	Logger *slog.Logger
	// Context, when set, bounds the trail's life: when it ends, the trail
	// closes as Close(context.Background()) does, writing every accepted
	// event first. It is how the trail of New, which has no handle to close,
	// drains at shutdown: pass the context that ends on SIGTERM.
	Context context.Context
	// Closed, when set, receives the result of the close that the end of
	// Context starts, once, when every accepted event is written; main waits
	// for it before exiting. Give it a buffer of one: the trail does not
	// wait for a reader.
	Closed chan<- error
}

// BodyRule selects requests by path regular expression and method. Method
// "" or "ALL" matches every method.
type BodyRule struct {
	Route  string
	Method string
}

// Defaults of Options.
const (
	// DefaultInclude is the path expression audited when Options.Include
	// is nil.
	DefaultInclude = `^/api/`
	// DefaultAuthURL is the login path when Options.AuthURLs is nil.
	DefaultAuthURL = "/api/token/"
	// DefaultAuthFailedStatus is the status code of a failed login when
	// Options.AuthFailedStatus is 0.
	DefaultAuthFailedStatus = 401
	// DefaultMaxBodyBytes is the default cap of a stored body.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultConnectWait is how long Open waits for the audit database
	// when Options.ConnectWait is 0.
	DefaultConnectWait = time.Second
)

// policy is the compiled form of the options: what to record.
type policy struct {
	include, exclude []pathPattern
	authURLs         map[string]bool
	logoutURLs       map[string]bool
	authFailed       int
	skipReq, skipRes []bodyRule
	maxBody          int
	redactor         *redact.Redactor
}

type bodyRule struct {
	route  pathPattern
	method string // upper case, "" for all
}

func compilePolicy(o Options) (*policy, error) {
	p := &policy{authURLs: map[string]bool{}, logoutURLs: map[string]bool{}, authFailed: o.AuthFailedStatus, maxBody: o.MaxBodyBytes}
	include := o.Include
	if include == nil {
		include = []string{DefaultInclude}
	}
	var err error
	if p.include, err = compileAll("Include", include); err != nil {
		return nil, err
	}
	if p.exclude, err = compileAll("Exclude", o.Exclude); err != nil {
		return nil, err
	}
	auth := o.AuthURLs
	if auth == nil {
		auth = []string{DefaultAuthURL}
	}
	for _, u := range auth {
		p.authURLs[u] = true
	}
	for _, u := range o.LogoutURLs {
		p.logoutURLs[u] = true
	}
	if p.authFailed == 0 {
		p.authFailed = DefaultAuthFailedStatus
	}
	if p.skipReq, err = compileRules("SkipRequestBody", o.SkipRequestBody); err != nil {
		return nil, err
	}
	if p.skipRes, err = compileRules("SkipResponseBody", o.SkipResponseBody); err != nil {
		return nil, err
	}
	if p.maxBody == 0 {
		p.maxBody = DefaultMaxBodyBytes
	}
	p.redactor = newRedactor(o)
	return p, nil
}

func compileAll(field string, exprs []string) ([]pathPattern, error) {
	out := make([]pathPattern, 0, len(exprs))
	for _, e := range exprs {
		re, err := compilePattern(e) // pathmatch.go
		if err != nil {
			return nil, fmt.Errorf("audit: Options.%s: %w", field, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func compileRules(field string, rules []BodyRule) ([]bodyRule, error) {
	out := make([]bodyRule, 0, len(rules))
	for _, r := range rules {
		re, err := compilePattern(r.Route)
		if err != nil {
			return nil, fmt.Errorf("audit: Options.%s: %w", field, err)
		}
		m := strings.ToUpper(r.Method)
		if m == "ALL" {
			m = ""
		}
		out = append(out, bodyRule{route: re, method: m})
	}
	return out, nil
}

// decision is the policy's verdict on one request, evaluated once when
// the request starts and kept on its Event, so that no later step tests
// the path again.
type decision struct {
	audited       bool // the request is recorded at all
	storeRequest  bool // its request body is kept
	storeResponse bool // its response body is kept
	login         bool // its path is an auth URL: a POST is a login attempt
	logout        bool // its path is a logout URL: a POST is a logout
}

// decide evaluates the policy for one request. Auth and logout URLs are
// audited whatever Include and Exclude say, and never store bodies.
func (p *policy) decide(method, path string) decision {
	d := decision{login: p.authURLs[path], logout: p.logoutURLs[path]}
	d.audited = d.login || d.logout || p.matches(path)
	if !d.audited {
		return d
	}
	bodies := p.maxBody > 0 && !d.login && !d.logout
	d.storeRequest = bodies && !matchRule(p.skipReq, method, path)
	d.storeResponse = bodies && !matchRule(p.skipRes, method, path)
	return d
}

// matches applies Include, then Exclude.
func (p *policy) matches(path string) bool {
	in := false
	for _, re := range p.include {
		if re.MatchString(path) {
			in = true
			break
		}
	}
	if !in {
		return false
	}
	for _, re := range p.exclude {
		if re.MatchString(path) {
			return false
		}
	}
	return true
}

func matchRule(rules []bodyRule, method, path string) bool {
	for _, r := range rules {
		if (r.method == "" || r.method == method) && r.route.MatchString(path) {
			return true
		}
	}
	return false
}
