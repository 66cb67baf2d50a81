package audit

import (
	"context"
	"sync"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/process"
)

// StartProcess begins a run of def inside the request: the process is
// linked to the request event (request_id), and its rows, with everything
// registered until the request ends, are written in the request's batch,
// so no database call is added to the request. created_by is the
// request's user as known when the request ends (Event.SetUser or
// Options.UserResolver), unless Run.SetUser names another.
//
// If the handler panics or returns early, the rows registered so far are
// stored all the same, and the request event carries the error. A
// goroutine that registers after the request ended must call Run.End to
// have those registrations written. On a nil Event (a request that is not
// audited) the run works but is stored nowhere.
func (e *Event) StartProcess(def process.Definition) *process.Run {
	if e == nil {
		return process.Start(def, process.Config{})
	}
	rid := e.id
	rp := &requestProcess{ev: e}
	rp.run = process.Start(def, process.Config{RequestID: &rid, Sink: rp})
	if !e.addAtEnd(rp.atRequestEnd) {
		rp.setUser(e.User()) // the request is over: End writes through the trail
	}
	return rp.run
}

// StartProcess begins a run of def outside any request, for a background
// job (cron, queue consumer): the process has no request_id and userID as
// created_by. Nothing is written until the job calls Run.End, typically
// deferred, which queues the rows like a request's (or waits for their
// commit when the trail is synchronous). A nil Trail returns a run that is
// stored nowhere.
func (t *Trail) StartProcess(def process.Definition, userID string) *process.Run {
	if t == nil {
		return process.Start(def, process.Config{User: userID})
	}
	return process.Start(def, process.Config{User: userID, Sink: trailSink{t}})
}

// trailSink writes a background run's rows through the trail (which masks
// their secrets).
type trailSink struct{ t *Trail }

func (s trailSink) Record(ctx context.Context, b *entities.Batch) error {
	return s.t.record(ctx, b)
}

// requestProcess ties a run to its request.
type requestProcess struct {
	ev  *Event
	run *process.Run

	mu   sync.Mutex
	user string          // the request's user, once the request ended
	into *entities.Batch // the request's batch, while atRequestEnd flushes the run into it
}

func (p *requestProcess) setUser(u string) {
	p.mu.Lock()
	p.user = u
	p.mu.Unlock()
}

// atRequestEnd adds the run's rows to the request's batch, through the
// run's Sink (Record), which sees into set.
func (p *requestProcess) atRequestEnd(b *entities.Batch) {
	p.mu.Lock()
	p.user, p.into = requestUser(b), b
	p.mu.Unlock()
	_ = p.run.Flush(context.Background()) // Record appends to b: it cannot fail
	p.mu.Lock()
	p.into = nil
	p.mu.Unlock()
}

// Record is the run's Sink, used by Run.End and Run.Flush: while the
// request runs, the rows join its batch when it ends; while it ends, they
// join that batch at once; after it ended, they go through the trail.
func (p *requestProcess) Record(ctx context.Context, rows *entities.Batch) error {
	p.mu.Lock()
	if p.into != nil {
		stampUser(rows, p.user)
		p.into.Append(rows) // masked with the request's batch
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	joined := p.ev.addAtEnd(func(b *entities.Batch) {
		stampUser(rows, requestUser(b))
		b.Append(rows)
	})
	if joined {
		return nil
	}
	p.mu.Lock()
	user := p.user
	p.mu.Unlock()
	stampUser(rows, user)
	return p.ev.trail.record(ctx, rows)
}

func requestUser(b *entities.Batch) string {
	if len(b.Requests) > 0 {
		return b.Requests[0].UserID
	}
	return ""
}

// stampUser sets created_by on the rows that have none.
func stampUser(b *entities.Batch, user string) {
	if user == "" {
		return
	}
	for i := range b.Processes {
		if b.Processes[i].CreatedBy == "" {
			b.Processes[i].CreatedBy = user
		}
	}
	for i := range b.Steps {
		if b.Steps[i].CreatedBy == "" {
			b.Steps[i].CreatedBy = user
		}
	}
	for i := range b.Registrations {
		if b.Registrations[i].CreatedBy == "" {
			b.Registrations[i].CreatedBy = user
		}
	}
}
