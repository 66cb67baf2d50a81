package writer

import (
	"context"
	"fmt"
	"github.com/gin-audit-trail/audit/repository"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-audit-trail/audit/entities"
)

// closeGrace is how long Close waits, after its context ended, for the
// batches still in memory to reach the spool.
const closeGrace = time.Second

// withDefaults fills in the defaults of c's zero fields.
func withDefaults(c repository.WriterConfig, store Store) repository.WriterConfig {
	if c.Spool.Disabled {
		c.Spool.Dir = ""
	}
	if c.QueueSize <= 0 {
		c.QueueSize = repository.DefaultQueueSize
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = repository.DefaultMaxQueueBytes
	}
	if c.MaxBatchRows <= 0 {
		c.MaxBatchRows = repository.DefaultMaxBatchRows
		if b, ok := store.(interface{ BatchRows() int }); ok && b.BatchRows() > 0 {
			c.MaxBatchRows = b.BatchRows()
		}
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = repository.DefaultFlushInterval
	}
	if c.Writers <= 0 {
		c.Writers = 1
		if p, ok := store.(interface{ Parallelism() int }); ok {
			c.Writers = max(p.Parallelism(), 1)
		}
	}
	if c.EnqueueTimeout <= 0 {
		c.EnqueueTimeout = repository.DefaultEnqueueTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = repository.DefaultWriteTimeout
	}
	if c.RetryBackoffMax <= 0 {
		c.RetryBackoffMax = repository.DefaultRetryBackoffMax
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = repository.DefaultRetries
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// counters are shared by the writer's layers: each layer counts what it
// does.
type counters struct {
	accepted, written, dropped, failed, failedBatches, queueBytes atomic.Int64
	spooled, spilled, replayed, spoolDropped, rejected            atomic.Int64
	lastError                                                     atomic.Pointer[errorNote]
}

type errorNote struct {
	msg string
	at  time.Time
}

func (c *counters) noteError(err error) {
	c.lastError.Store(&errorNote{msg: err.Error(), at: time.Now().UTC()})
}

type item struct {
	batch *entities.Batch
	rows  int
	bytes int64
	done  chan error // nil for asynchronous batches
}

// Writer is the batching layer in front of a Store: callers never wait for
// the database unless they ask to (Write). Queued batches are merged into
// transactions of up to MaxBatchRows rows, flushed at least every
// FlushInterval, and handed to Writers committers at once. Below it, every
// layer is a Store: the spool layer (spool and replay), when configured,
// or a retrying layer, then the counting layer, then the database store.
type Writer struct {
	cfg      repository.WriterConfig
	c        *counters
	logs     *repeatLogs
	sanitize sanitizer
	queue    chan item
	work     chan *pending

	next  Store       // the layer below: spoolStore, or retryStore
	spool *spoolStore // nil without a spool
	one   Store       // without a spool: one attempt, to isolate a failing batch

	ctx    context.Context // parent of every database call; cancelled when Close gives up
	cancel context.CancelFunc

	closeMu sync.RWMutex // held for reading while offering, for writing by Close
	closed  bool
	stop    chan struct{}
	done    chan struct{} // the batcher and every committer returned
}

// NewWriter starts a writer on store. Call Close to drain it. If the
// configured spool exists but cannot be opened (for example another
// process holds it), the error is logged and the writer tries again on the
// first batch that needs it; use OpenWriter to get the error instead.
func NewWriter(store Store, cfg repository.WriterConfig) *Writer {
	w, err := OpenWriter(store, cfg)
	if err != nil {
		w.logs.spoolOpen.log(w.cfg.Logger, slog.LevelError, "audit: spool not opened", "dir", w.spool.dir(), "error", err)
	}
	return w
}

// OpenWriter is NewWriter returning the error of opening an existing spool
// (the writer runs anyway, and is returned too). A spool left by an
// earlier run is replayed in the background.
func OpenWriter(store Store, cfg repository.WriterConfig) (*Writer, error) {
	cfg = withDefaults(cfg, store)
	w := &Writer{
		cfg:   cfg,
		c:     &counters{},
		logs:  &repeatLogs{},
		queue: make(chan item, cfg.QueueSize),
		work:  make(chan *pending),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	w.sanitize = sanitizer{log: cfg.Logger, repeat: &sync.Map{}}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	direct := &countedStore{next: store, c: w.c, timeout: cfg.WriteTimeout}
	var err error
	if cfg.Spool.Dir != "" {
		replay := &countedStore{next: store, c: w.c, timeout: 4 * cfg.WriteTimeout}
		w.spool = newSpoolStore(cfg, w.c, w.logs, direct, replay, store, w.ctx)
		w.next = w.spool
		err = w.spool.start()
	} else {
		w.next = retryStore{next: direct, retries: cfg.Retries}
		w.one = direct
	}
	var committers sync.WaitGroup
	for range cfg.Writers {
		committers.Go(w.commit)
	}
	go func() {
		w.batch()
		committers.Wait()
		close(w.done)
	}()
	return w, err
}

// Enqueue offers b for writing and returns at once, or after the fsync of
// the spool when the queue is full, or after at most EnqueueTimeout when
// neither the queue nor the spool has room. It reports whether b was
// accepted; a refused batch is counted as dropped and logged (at most once
// a minute). b must not be changed afterwards.
func (w *Writer) Enqueue(b *entities.Batch) bool {
	_, err := w.offer(item{batch: b})
	return err == nil
}

// Write offers b and waits until its transaction is committed (or, when the
// database fails or the queue is full, until it is fsync'd in the spool),
// or ctx ends. Concurrent callers share transactions (group commit).
func (w *Writer) Write(ctx context.Context, b *entities.Batch) error {
	it := item{batch: b, done: make(chan error, 1)}
	queued, err := w.offer(it)
	if !queued {
		return err // refused, or already durable in the spool
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// offer queues it, or spills it to the spool when the queue is full. It
// reports whether it was queued (its done channel, if any, will then be
// answered) and, if not, whether it was refused.
func (w *Writer) offer(it item) (queued bool, err error) {
	it.rows = it.batch.Len()
	if it.rows == 0 {
		return false, nil
	}
	it.bytes = approxBytes(it.batch)
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	if w.closed {
		w.drop(it.rows, repository.ErrClosed)
		return false, repository.ErrClosed
	}
	if w.tryQueue(it) {
		return true, nil
	}
	// The queue is full: the database is slower than the traffic. The
	// spool takes the batch (with others arriving now, in one fsync) and
	// its replayer writes it beside the committers.
	if w.spool != nil {
		w.sanitize.batch(it.batch)
		err := w.spool.spill(it.batch)
		if err == nil {
			w.c.accepted.Add(int64(it.rows))
			w.c.spilled.Add(int64(it.rows))
			return false, nil
		}
		// The spool is full or not writable: wait for room in the queue.
	}
	deadline := time.NewTimer(w.cfg.EnqueueTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-poll.C:
			if w.tryQueue(it) {
				return true, nil
			}
		case <-deadline.C:
			w.drop(it.rows, repository.ErrQueueFull)
			return false, repository.ErrQueueFull
		}
	}
}

// tryQueue puts it in the queue if there is room for it, without waiting.
func (w *Writer) tryQueue(it item) bool {
	if w.c.queueBytes.Load()+it.bytes > w.cfg.MaxQueueBytes {
		return false
	}
	select {
	case w.queue <- it:
		w.c.accepted.Add(int64(it.rows))
		w.c.queueBytes.Add(it.bytes)
		return true
	default:
		return false
	}
}

func (w *Writer) drop(rows int, why error) {
	n := w.c.dropped.Add(int64(rows))
	w.logs.drop.log(w.cfg.Logger, slog.LevelWarn, "audit: events dropped", "reason", why.Error(), "rows", rows,
		"dropped_total", n, "queue_size", w.cfg.QueueSize)
}

// Stats returns the current counters.
func (w *Writer) Stats() repository.Stats {
	c := w.c
	s := repository.Stats{
		Accepted:      c.accepted.Load(),
		Written:       c.written.Load(),
		Dropped:       c.dropped.Load(),
		Failed:        c.failed.Load(),
		FailedBatches: c.failedBatches.Load(),
		QueueDepth:    len(w.queue),
		QueueBytes:    c.queueBytes.Load(),
		Spooled:       c.spooled.Load(),
		Spilled:       c.spilled.Load(),
		Replayed:      c.replayed.Load(),
		SpoolDropped:  c.spoolDropped.Load(),
		Rejected:      c.rejected.Load(),
		Writers:       w.cfg.Writers,
	}
	if w.spool != nil {
		w.spool.stats(&s)
	}
	if p := c.lastError.Load(); p != nil {
		s.LastError, s.LastErrorAt = p.msg, p.at
	}
	return s
}

// Close stops accepting batches and writes every batch already accepted:
// to the database, or to the spool if the database fails. With a spool,
// it then replays what the spool holds while the database answers, and
// stops at the first failed replay.
//
// Close is bounded by ctx whatever the database does. With a spool, when
// ctx ends, the transactions in flight are cancelled and every batch not
// yet committed goes to the spool (Close waits up to one more second for
// those appends), to be replayed by the next writer opened on the same
// spool directory; Close then returns nil, because nothing accepted is
// lost. Without a spool, Close returns ctx's error when ctx ends, and the
// writer goes on draining in the background.
func (w *Writer) Close(ctx context.Context) error {
	w.closeMu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.closeMu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
		if w.spool == nil {
			return fmt.Errorf("audit: %d batches not yet written: %w", len(w.queue), ctx.Err())
		}
		w.spool.abandon()
		w.cancel()
		grace := time.NewTimer(closeGrace)
		defer grace.Stop()
		select {
		case <-w.done:
		case <-grace.C:
			return fmt.Errorf("audit: %d batches not yet spooled: %w", len(w.queue), ctx.Err())
		}
	}
	if w.spool != nil {
		w.spool.close(ctx)
	}
	w.cancel()
	return nil
}

// pending is the transaction being assembled.
type pending struct {
	items []item
	rows  int
	bytes int64
	sync  bool
}

func (p *pending) add(it item) {
	p.items = append(p.items, it)
	p.rows += it.rows
	p.bytes += it.bytes
	p.sync = p.sync || it.done != nil
}

// full reports whether p takes no more rows: it holds MaxBatchRows rows,
// or a quarter of MaxQueueBytes of text (so that the transactions being
// written, which no longer count in the queue's bytes, stay bounded too).
func (w *Writer) full(p *pending) bool {
	return p.rows >= w.cfg.MaxBatchRows || p.bytes >= w.cfg.MaxQueueBytes/4
}

// merged is one batch holding every row of p (the items' own batch when
// there is one item).
func (p *pending) merged() *entities.Batch {
	if len(p.items) == 1 {
		return p.items[0].batch
	}
	return merge(len(p.items), func(i int) *entities.Batch { return p.items[i].batch })
}

// batch is the batcher: it assembles transactions from the queue and hands
// each to a free committer. A transaction is handed over when it is full
// (MaxBatchRows rows, or a quarter of MaxQueueBytes), when its oldest row
// has waited FlushInterval, or at once when a synchronous caller waits for
// it; while every committer is busy it keeps growing, so batches grow
// with the load. After Close it
// drains the queue and returns.
func (w *Writer) batch() {
	defer close(w.work)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var p *pending
	due := false
	stop := w.stop
	take := func(it item) {
		if p == nil {
			p = &pending{}
			timer.Reset(w.cfg.FlushInterval)
			due = false
		}
		p.add(it)
		// Take what is already queued, so a transaction holds everything
		// waiting (group commit for synchronous callers).
		for !w.full(p) {
			select {
			case it := <-w.queue:
				p.add(it)
			default:
				return
			}
		}
	}
	for {
		if stop == nil {
			// Closing: no offer can arrive any more; drain the queue.
			if p == nil || !w.full(p) {
				select {
				case it := <-w.queue:
					take(it)
					continue
				default:
				}
			}
			if p == nil {
				return
			}
			w.work <- p
			p = nil
			continue
		}
		full := p != nil && w.full(p)
		var in <-chan item
		if !full {
			in = w.queue
		}
		var out chan<- *pending
		if p != nil && (due || full || p.sync) {
			out = w.work
		}
		select {
		case it := <-in:
			take(it)
		case out <- p:
			p = nil
			timer.Stop()
		case <-timer.C:
			due = true
		case <-stop:
			stop = nil
			timer.Stop()
		}
	}
}

// commit is one committer: it writes the transactions the batcher hands
// over through the layer below.
func (w *Writer) commit() {
	for p := range w.work {
		w.flush(p)
	}
}

func (w *Writer) flush(p *pending) {
	for _, it := range p.items {
		w.c.queueBytes.Add(-it.bytes)
		w.sanitize.batch(it.batch)
	}
	err := w.next.WriteBatch(w.ctx, p.merged())
	if err == nil || w.one == nil || len(p.items) == 1 {
		// With a spool, its layer has counted what it could not keep.
		for _, it := range p.items {
			if err != nil && w.one != nil {
				w.fail(it, err)
			}
			notify(it, err)
		}
		return
	}
	// No spool: isolate the batch that poisons the transaction by writing
	// each alone.
	for _, it := range p.items {
		err := w.one.WriteBatch(withInDoubt(w.ctx), it.batch)
		if err != nil {
			w.fail(it, err)
		}
		notify(it, err)
	}
}

func (w *Writer) fail(it item, err error) {
	w.c.failed.Add(int64(it.rows))
	w.logs.lost.log(w.cfg.Logger, slog.LevelError, "audit: write failed, events lost", "rows", it.rows, "error", err)
}

func notify(it item, err error) {
	if it.done != nil {
		it.done <- err
	}
}

// approxBytes estimates the memory held by a batch's text.
func approxBytes(b *entities.Batch) int64 {
	n := int64(256 * b.Len())
	for i := range b.Requests {
		r := &b.Requests[i]
		n += int64(len(r.URL) + len(r.QueryParams) + len(r.RequestBody) + len(r.ResponseBody) +
			len(r.ErrorMessage) + len(r.ErrorStacktrace) + len(r.ExtraInformations))
	}
	for i := range b.Registrations {
		n += int64(len(b.Registrations[i].Description) + len(b.Registrations[i].ExtraInformations))
	}
	return n
}

// defaultParallelism is the number of writers a store that can take
// concurrent transactions asks for: one per core the Go scheduler uses.
func defaultParallelism() int { return runtime.GOMAXPROCS(0) }
