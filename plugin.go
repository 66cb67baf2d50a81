// Package audit is an audit trail for Gin applications. One middleware
// records every API request (user, IP, method, URL, bodies with secrets
// masked, status, timing, errors and stack traces) into a separate audit
// database, along with logins and the business processes handlers describe,
// without a database call on the request path.
//
//	trail, err := audit.Open(audit.Options{})
//	if err != nil { ... }
//	defer trail.Close(context.Background())
//	router.Use(trail.Middleware())
//
// or, for a demo, router.Use(audit.New(audit.Options{})).
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/redact"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
)

// Trail records audit events into one audit database. Create it with Open,
// install Middleware on a router, and Close it at shutdown so every accepted
// event is written. Several trails may live in one process.
type Trail struct {
	policy  *policy
	db      *gorm.DB
	ownDB   bool // opened from Options.DSN, closed by Close
	conn    *writer.ConnectingStore
	writer  *writer.Writer
	retain  *periodic // retention passes (background.go); nil without Options.Retention
	keeper  *periodic // partitions created ahead; nil without Options.Partitioning (partitioning.go)
	sync    bool
	log     *slog.Logger
	resolve func(*gin.Context) string
	// stopAfter cancels the close scheduled for the end of Options.Context.
	stopAfter func() bool

	proxiesChecked atomic.Bool // the trusted-proxy warning was considered (proxywarn.go)
}

// Open checks the options, opens the spool and starts the background
// writer. It does not need the audit database: it waits at most
// Options.ConnectWait for the database to answer (and, once it has
// answered, for the migration, unless Options.SkipMigration), and
// otherwise goes on connecting in the background, with retries and
// backoff, while events go to the spool. With
// Options.WaitForDatabase it connects and migrates before returning, and
// returns the error if that fails. A DSN that can never work (a syntax
// error, an unknown scheme) is always an error.
func Open(opts Options) (*Trail, error) {
	pol, err := compilePolicy(opts)
	if err != nil {
		return nil, err
	}
	t := &Trail{policy: pol, db: opts.DB, sync: opts.Synchronous, log: opts.Logger, resolve: opts.UserResolver}
	if t.log == nil {
		t.log = slog.Default()
	}
	if t.db == nil {
		if t.db, err = repository.Open(opts.DSN); err != nil {
			return nil, err
		}
		t.ownDB = true
	}
	part := partitioning(opts, t.db, t.log)  // partitioning.go
	sealer, err := newSealer(opts.Integrity) // integrity.go
	if err != nil {
		t.closeDB()
		return nil, err
	}
	t.conn = writer.NewConnectingStore(t.db, writer.GormStore{DB: t.db, Integrity: sealer}, writer.ConnectConfig{
		Migrate:        !opts.SkipMigration,
		Partitioning:   part,
		AttemptTimeout: opts.ConnectTimeout,
		BackoffMax:     opts.Writer.RetryBackoffMax,
		Logger:         t.log,
	})
	if opts.WaitForDatabase {
		if err := t.conn.Connect(context.Background()); err != nil {
			t.closeDB()
			return nil, err
		}
	} else {
		wait := opts.ConnectWait
		if wait == 0 {
			wait = DefaultConnectWait
		}
		t.conn.Start(wait)
		if err := t.conn.Err(); errors.Is(err, repository.ErrNotMigrated) || errors.Is(err, repository.ErrNotPartitioned) {
			_ = t.conn.Close(context.Background())
			t.closeDB()
			return nil, err // a configuration error: fail here, not by spooling every batch
		}
	}
	wc := opts.Writer
	if wc.Logger == nil {
		wc.Logger = t.log
	}
	wc.Spool = spoolConfig(opts, t.db)
	if t.writer, err = writer.OpenWriter(t.conn, wc); err != nil {
		_ = t.writer.Close(context.Background())
		_ = t.conn.Close(context.Background())
		t.closeDB()
		return nil, fmt.Errorf("audit: open spool: %w", err)
	}
	if opts.Retention.Enabled() {
		t.retain = startRetention(t.db, opts.Retention.Sealed(sealer), t.conn.Ready(), t.log)
	}
	if part.Enabled() && !part.External {
		t.keeper = startPartitionKeeper(t.db, part, t.conn.Ready(), t.log)
	}
	t.closeWhenDone(opts.Context, opts.Closed) // drain.go
	return t, nil
}

// New opens a trail and returns its middleware: the one-line setup,
// router.Use(audit.New(opts)). It panics if the options are invalid (or,
// with Options.WaitForDatabase, if the audit database cannot be reached),
// like regexp.MustCompile.
//
// The trail has no handle to close, so it drains when Options.Context ends:
// it stops accepting events, writes every accepted one and closes, and
// sends the result on Options.Closed, which main waits for before it exits.
// Without a Context, the events of the last FlushInterval may be lost when
// the process exits.
func New(opts Options) gin.HandlerFunc {
	t, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return t.Middleware()
}

// DB is the audit database. The handle exists from Open on, even while the
// database itself is not reachable yet (see DatabaseState).
func (t *Trail) DB() *gorm.DB { return t.db }

// DatabaseState reports whether the audit database has been reached and
// migrated, and whether the latest write to it failed.
func (t *Trail) DatabaseState() repository.DatabaseState { return t.conn.State() }

// Stats returns the writer's counters: accepted, written, dropped and
// failed rows, failed batches, queue depth, and the spool's health
// (degraded, spooled, replayed, pending, last error).
func (t *Trail) Stats() repository.Stats { return t.writer.Stats() }

// Close stops the retention passes, stops accepting events, writes every
// accepted event (to the database, or to the spool while the database
// fails), stops connecting, and closes the audit database if Open opened
// it. If ctx ends first, Close returns its error and the database stays
// open for the writer to finish.
func (t *Trail) Close(ctx context.Context) error {
	if t.stopAfter != nil {
		t.stopAfter() // Close was called: the end of Options.Context has nothing left to do
	}
	return t.close(ctx)
}

func (t *Trail) close(ctx context.Context) error {
	if t.keeper != nil {
		if err := t.keeper.Close(ctx); err != nil {
			return err
		}
	}
	if t.retain != nil {
		if err := t.retain.Close(ctx); err != nil {
			return err
		}
	}
	err := t.writer.Close(ctx)
	if cerr := t.conn.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	t.closeDB()
	return nil
}

func (t *Trail) closeDB() {
	if !t.ownDB {
		return
	}
	if sqlDB, err := t.db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

// record writes rows that belong to no request (for example a process run
// by a background job), with their secrets masked as a request's are. It
// queues them like request events, or waits for
// the commit when the trail is synchronous, and reports whether they were
// accepted (in synchronous mode: committed).
func (t *Trail) record(ctx context.Context, b *entities.Batch) error {
	t.cleanBatch(b, &redact.Echoes{})
	if t.sync {
		return t.writer.Write(ctx, b)
	}
	if !t.writer.Enqueue(b) {
		return errors.New("audit: events dropped: the writer queue is full or closed")
	}
	return nil
}

// Middleware returns the gin middleware that audits requests. Install it
// after gin.Recovery (gin.Default's order), so a panic is recorded with its
// stack and still answered with 500, and before every other middleware
// (auth, gzip, CORS), so their answers are audited too. The client gets
// exactly what it would get without the middleware.
func (t *Trail) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		d := t.policy.decide(c.Request.Method, c.Request.URL.Path)
		if !d.audited {
			c.Next()
			return
		}
		start := time.Now()
		ar := &auditedRequest{Event: Event{id: entities.NewID(), trail: t, decision: d}}
		ev, x := &ar.Event, &ar.exchange
		c.Set(ContextKey, ev)
		x.begin(c, d.storeRequest, d.storeResponse, t.policy.maxBody)

		panicking := true
		defer func() {
			if !panicking {
				return
			}
			rec := recover()
			stack := debug.Stack()
			x.end(c)
			t.finish(c, ev, x, start, &panicInfo{value: rec, stack: stack})
			panic(rec) // let gin.Recovery (or net/http) answer as without auditing
		}()
		c.Next()
		panicking = false
		x.end(c)
		t.finish(c, ev, x, start, nil)
	}
}

// auditedRequest is what the middleware allocates for one audited request:
// the handle handlers see, and the taps on the exchange.
type auditedRequest struct {
	Event
	exchange
}

type panicInfo struct {
	value any
	stack []byte
}

// finish builds the request's rows and hands them to the writer.
func (t *Trail) finish(c *gin.Context, ev *Event, x *exchange, start time.Time, p *panicInfo) {
	elapsed := time.Since(start)
	userID, extra, contribute := ev.finish()
	if userID == "" && t.resolve != nil {
		userID = t.resolve(c)
	}
	req := c.Request
	r := entities.RequestEvent{
		ID:             ev.id,
		Datetime:       start.UTC(),
		UserID:         userID,
		IPAddress:      c.ClientIP(),
		Method:         req.Method,
		URL:            req.URL.Path,
		Route:          c.FullPath(),
		QueryParams:    t.policy.redactor.Query(req.URL.RawQuery, &ev.echoes),
		RequestType:    scheme(req),
		StatusCode:     x.status(req),
		ResponseTimeMS: float64(elapsed.Microseconds()) / 1000,
		ResponseSize:   x.responseSize(req),
	}
	if x.tapped {
		r.RequestBody = t.policy.requestBody(&x.reqBody, req, &ev.echoes)
	}
	if ev.decision.storeResponse && req.Method != http.MethodHead {
		r.ResponseBody = t.policy.responseBody(&x.res, c.Writer.Header(), x.encodingAtStart, &ev.echoes)
	}
	if len(extra) > 0 {
		r.ExtraInformations = entities.JSONText(extra) // masked by cleanBatch
	}
	switch {
	case p != nil:
		if !c.Writer.Written() {
			r.StatusCode = http.StatusInternalServerError // what gin.Recovery answers
		}
		r.ErrorType = fmt.Sprintf("panic: %T", p.value)
		if err, ok := p.value.(error); ok {
			r.ErrorType = "panic: " + errorType(err)
		}
		r.ErrorMessage = fmt.Sprint(p.value)
		r.ErrorStacktrace = string(p.stack)
	case len(c.Errors) > 0:
		r.ErrorType = errorType(c.Errors.Last().Err)
		msgs := make([]string, len(c.Errors))
		for i, e := range c.Errors {
			msgs[i] = e.Error()
			if r.ErrorStacktrace == "" {
				r.ErrorStacktrace = stackTrace(c.Errors[len(c.Errors)-1-i].Err)
			}
		}
		r.ErrorMessage = strings.Join(msgs, "\n")
	}

	ev.row[0] = r
	batch := &ev.batch
	batch.Requests = ev.row[:]
	for _, f := range contribute {
		f(batch)
	}
	t.addLogin(c, ev, batch)
	t.cleanBatch(batch, &ev.echoes)           // secrets.go
	t.warnIfEveryProxyTrusted(c, r.IPAddress) // proxywarn.go
	t.submit(c.Request.Context(), batch)
}

func (t *Trail) submit(ctx context.Context, b *entities.Batch) {
	if !t.sync {
		t.writer.Enqueue(b) // a refusal is counted and logged by the writer
		return
	}
	// The client may be gone; the row is still written before we return.
	if err := t.writer.Write(context.WithoutCancel(ctx), b); err != nil {
		t.log.Error("audit: synchronous write failed", "request_id", b.Requests[0].ID.String(), "error", err)
	}
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
