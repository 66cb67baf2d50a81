package writer

import (
	"context"
	"time"

	"github.com/gin-audit-trail/audit/entities"
)

// The writer's layers below the batching Writer are all Stores, each
// wrapping the next (the shape of the Kubernetes audit backends):
//
//	Writer (queue, batches, committers)
//	  ▸ spoolStore (disk spool and replay)  or  retryStore (no spool)
//	    ▸ countedStore (deadline, counters)
//	      ▸ the database Store (GormStore: SQLite prepared statements,
//	        PostgreSQL COPY)

// inDoubtKey marks a context whose batch may already be committed (a
// retry, a replay from the spool): the store must take the idempotent
// path.
type inDoubtKey struct{}

// withInDoubt marks ctx: the batch written with it may already be in the
// database.
func withInDoubt(ctx context.Context) context.Context {
	return context.WithValue(ctx, inDoubtKey{}, true)
}

// inDoubt reports whether ctx was marked by withInDoubt.
func inDoubt(ctx context.Context) bool {
	v, _ := ctx.Value(inDoubtKey{}).(bool)
	return v
}

// countedStore is the bottom layer: it gives each transaction its
// deadline and counts what is committed and what fails.
type countedStore struct {
	next    Store
	c       *counters
	timeout time.Duration
}

// WriteBatch implements Store.
func (s *countedStore) WriteBatch(ctx context.Context, b *entities.Batch) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.next.WriteBatch(ctx, b); err != nil {
		s.c.failedBatches.Add(1)
		s.c.noteError(err)
		return err
	}
	s.c.written.Add(int64(b.Len()))
	return nil
}

// retryStore is the layer used without a spool: a failed transaction is
// tried again, idempotently, up to retries times, waiting 100 ms, then four
// times longer each time.
type retryStore struct {
	next    Store
	retries int
}

// WriteBatch implements Store.
func (s retryStore) WriteBatch(ctx context.Context, b *entities.Batch) error {
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		wctx := ctx
		if attempt > 0 {
			wctx = withInDoubt(ctx)
		}
		err := s.next.WriteBatch(wctx, b)
		if err == nil || attempt >= s.retries {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		backoff *= 4
	}
}

// splitBatch cuts b into two batches of about half its rows each, in
// order, so that rows the database refuses can be found by bisection.
func splitBatch(b *entities.Batch) (*entities.Batch, *entities.Batch) {
	left := b.Len() / 2
	x, y := &entities.Batch{}, &entities.Batch{}
	x.Requests, y.Requests = cut(b.Requests, &left)
	x.Logins, y.Logins = cut(b.Logins, &left)
	x.Processes, y.Processes = cut(b.Processes, &left)
	x.Steps, y.Steps = cut(b.Steps, &left)
	x.Registrations, y.Registrations = cut(b.Registrations, &left)
	return x, y
}

func cut[T any](rows []T, left *int) (a, b []T) {
	n := min(*left, len(rows))
	*left -= n
	if n == 0 {
		return nil, rows
	}
	if n == len(rows) {
		return rows, nil
	}
	return rows[:n:n], rows[n:]
}

// mergeBatches is one batch with every row of items, in order.
func mergeBatches(items []*entities.Batch) *entities.Batch {
	if len(items) == 1 {
		return items[0]
	}
	return merge(len(items), func(i int) *entities.Batch { return items[i] })
}

// merge is one batch with every row of the n batches batch(0) ...
// batch(n-1), in order, each table's rows allocated once.
func merge(n int, batch func(i int) *entities.Batch) *entities.Batch {
	var rq, lg, pr, st, rg int
	for i := range n {
		b := batch(i)
		rq, lg, pr, st, rg = rq+len(b.Requests), lg+len(b.Logins), pr+len(b.Processes), st+len(b.Steps), rg+len(b.Registrations)
	}
	m := &entities.Batch{}
	if rq > 0 {
		m.Requests = make([]entities.RequestEvent, 0, rq)
	}
	if lg > 0 {
		m.Logins = make([]entities.LoginEvent, 0, lg)
	}
	if pr > 0 {
		m.Processes = make([]entities.ProcessEvent, 0, pr)
	}
	if st > 0 {
		m.Steps = make([]entities.StepEvent, 0, st)
	}
	if rg > 0 {
		m.Registrations = make([]entities.RegistrationEvent, 0, rg)
	}
	for i := range n {
		m.Append(batch(i))
	}
	return m
}

// BatchRows is the wrapped store's (GormStore.BatchRows), or 0 (the
// Writer's default).
func (s *ConnectingStore) BatchRows() int {
	if b, ok := s.store.(interface{ BatchRows() int }); ok {
		return b.BatchRows()
	}
	return 0
}

// Parallelism is the wrapped store's (GormStore.Parallelism), or 1, so
// that a Writer over a ConnectingStore gets as many committers as the
// database takes.
func (s *ConnectingStore) Parallelism() int {
	if p, ok := s.store.(interface{ Parallelism() int }); ok {
		return p.Parallelism()
	}
	return 1
}
