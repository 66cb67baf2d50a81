package repository

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-audit-trail/audit/entities"
)

// WriterConfig tunes a Writer. Its zero value gives the defaults noted on
// each field.
type WriterConfig struct {
	// QueueSize is how many batches may wait to be written. Default 4096.
	QueueSize int
	// MaxQueueBytes bounds the text held by queued batches (bodies, stack
	// traces), so that memory stays bounded whatever the row sizes.
	// Default 64 MiB.
	MaxQueueBytes int64
	// MaxBatchRows is the most rows written in one transaction. Default 1000.
	MaxBatchRows int
	// FlushInterval is the longest an accepted row waits before its batch
	// is written. Default 100 ms.
	FlushInterval time.Duration
	// EnqueueTimeout is how long Enqueue waits for room when the queue is
	// full before dropping the batch (and counting it). Default 50 ms.
	EnqueueTimeout time.Duration
	// WriteTimeout bounds one transaction. Default 30 s.
	WriteTimeout time.Duration
	// Retries is how many times a failed transaction is retried (with
	// backoff) before its batches are tried one by one. Default 2.
	Retries int
	// Logger receives write errors, drops and truncations. Default
	// slog.Default().
	Logger *slog.Logger
}

func (c WriterConfig) withDefaults() WriterConfig {
	if c.QueueSize <= 0 {
		c.QueueSize = 4096
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = 64 << 20
	}
	if c.MaxBatchRows <= 0 {
		c.MaxBatchRows = 1000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 100 * time.Millisecond
	}
	if c.EnqueueTimeout <= 0 {
		c.EnqueueTimeout = 50 * time.Millisecond
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = 2
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Stats are the writer's counters. Row counts include every table.
type Stats struct {
	Accepted      int64  `json:"accepted"`       // rows taken into the queue
	Written       int64  `json:"written"`        // rows committed
	Dropped       int64  `json:"dropped"`        // rows refused: queue full or writer closed
	Failed        int64  `json:"failed"`         // rows whose write failed for good
	FailedBatches int64  `json:"failed_batches"` // transactions that failed (retries included)
	QueueDepth    int    `json:"queue_depth"`    // batches waiting now
	QueueBytes    int64  `json:"queue_bytes"`    // approximate text bytes waiting now
	LastError     string `json:"last_error,omitempty"`
}

// ErrClosed is returned for batches offered after Close.
var ErrClosed = errors.New("audit: writer is closed")

// ErrQueueFull is returned by Write when the batch was dropped because the
// queue stayed full for EnqueueTimeout.
var ErrQueueFull = errors.New("audit: writer queue is full")

type item struct {
	batch *entities.Batch
	rows  int
	bytes int64
	done  chan error // nil for asynchronous batches
}

// Writer writes batches of audit rows to a Store from one background
// goroutine: callers never wait for the database unless they ask to
// (Write). Queued batches are merged into transactions of up to
// MaxBatchRows rows, flushed at least every FlushInterval.
type Writer struct {
	store    Store
	cfg      WriterConfig
	sanitize sanitizer
	queue    chan item

	closeMu sync.RWMutex // held for reading while offering, for writing by Close
	closed  bool
	stop    chan struct{}
	done    chan struct{}

	accepted, written, dropped, failed, failedBatches, queueBytes atomic.Int64
	lastError                                                     atomic.Pointer[string]
	lastDropLog                                                   atomic.Int64
}

// NewWriter starts a writer on store. Call Close to drain it.
func NewWriter(store Store, cfg WriterConfig) *Writer {
	cfg = cfg.withDefaults()
	w := &Writer{
		store:    store,
		cfg:      cfg,
		sanitize: sanitizer{log: cfg.Logger},
		queue:    make(chan item, cfg.QueueSize),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go w.run()
	return w
}

// Enqueue offers b for writing and returns at once, or after at most
// EnqueueTimeout when the queue is full. It reports whether b was accepted;
// a refused batch is counted as dropped and logged (at most once a
// minute). b must not be changed afterwards.
func (w *Writer) Enqueue(b *entities.Batch) bool {
	return w.offer(item{batch: b}) == nil
}

// Write offers b and waits until its transaction is committed, or ctx ends.
// Concurrent callers share transactions (group commit).
func (w *Writer) Write(ctx context.Context, b *entities.Batch) error {
	it := item{batch: b, done: make(chan error, 1)}
	if err := w.offer(it); err != nil {
		return err
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) offer(it item) error {
	it.rows = it.batch.Len()
	if it.rows == 0 {
		return nil
	}
	it.bytes = approxBytes(it.batch)
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	if w.closed {
		w.drop(it, ErrClosed)
		return ErrClosed
	}
	if w.queueBytes.Load()+it.bytes <= w.cfg.MaxQueueBytes {
		select {
		case w.queue <- it:
			w.admitted(it)
			return nil
		default:
		}
	}
	deadline := time.NewTimer(w.cfg.EnqueueTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for {
		if w.queueBytes.Load()+it.bytes <= w.cfg.MaxQueueBytes {
			select {
			case w.queue <- it:
				w.admitted(it)
				return nil
			case <-poll.C:
				continue
			case <-deadline.C:
			}
		} else {
			select {
			case <-poll.C:
				continue
			case <-deadline.C:
			}
		}
		w.drop(it, ErrQueueFull)
		return ErrQueueFull
	}
}

func (w *Writer) admitted(it item) {
	w.accepted.Add(int64(it.rows))
	w.queueBytes.Add(it.bytes)
}

func (w *Writer) drop(it item, why error) {
	n := w.dropped.Add(int64(it.rows))
	now := time.Now().UnixNano()
	last := w.lastDropLog.Load()
	if now-last >= int64(time.Minute) && w.lastDropLog.CompareAndSwap(last, now) {
		w.cfg.Logger.Warn("audit: events dropped", "reason", why.Error(), "rows", it.rows,
			"dropped_total", n, "queue_size", w.cfg.QueueSize)
	}
}

// Stats returns the current counters.
func (w *Writer) Stats() Stats {
	s := Stats{
		Accepted:      w.accepted.Load(),
		Written:       w.written.Load(),
		Dropped:       w.dropped.Load(),
		Failed:        w.failed.Load(),
		FailedBatches: w.failedBatches.Load(),
		QueueDepth:    len(w.queue),
		QueueBytes:    w.queueBytes.Load(),
	}
	if p := w.lastError.Load(); p != nil {
		s.LastError = *p
	}
	return s
}

// Close stops accepting batches and writes every batch already accepted. It
// returns ctx.Err() if ctx ends first; the writer then goes on draining in
// the background.
func (w *Writer) Close(ctx context.Context) error {
	w.closeMu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.closeMu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("audit: %d batches not yet written: %w", len(w.queue), ctx.Err())
	}
}

// pending is the transaction being assembled.
type pending struct {
	batch entities.Batch
	items []item
	rows  int
	sync  bool
}

func (p *pending) add(it item) {
	p.batch.Append(it.batch)
	p.items = append(p.items, it)
	p.rows += it.rows
	p.sync = p.sync || it.done != nil
}

func (w *Writer) run() {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var p pending
		select {
		case it := <-w.queue:
			p.add(it)
		case <-w.stop:
			w.drain()
			return
		}
		timer.Reset(w.cfg.FlushInterval)
	fill:
		for p.rows < w.cfg.MaxBatchRows {
			if p.sync {
				// Someone waits for this commit: take what is already
				// queued and write at once.
				select {
				case it := <-w.queue:
					p.add(it)
					continue
				default:
					break fill
				}
			}
			select {
			case it := <-w.queue:
				p.add(it)
			case <-timer.C:
				break fill
			case <-w.stop:
				break fill
			}
		}
		timer.Stop()
		w.flush(&p)
	}
}

// drain writes everything left in the queue; no offer can arrive any more.
func (w *Writer) drain() {
	for {
		var p pending
	fill:
		for p.rows < w.cfg.MaxBatchRows {
			select {
			case it := <-w.queue:
				p.add(it)
			default:
				break fill
			}
		}
		if len(p.items) == 0 {
			return
		}
		w.flush(&p)
	}
}

func (w *Writer) flush(p *pending) {
	for _, it := range p.items {
		w.queueBytes.Add(-it.bytes)
	}
	w.sanitize.batch(&p.batch)
	err := w.writeWithRetry(&p.batch)
	if err == nil {
		w.written.Add(int64(p.rows))
		for _, it := range p.items {
			notify(it, nil)
		}
		return
	}
	if len(p.items) == 1 {
		w.fail(p.items[0], err)
		return
	}
	// Isolate the batch that poisons the transaction: write each alone.
	for _, it := range p.items {
		w.sanitize.batch(it.batch)
		if err := w.writeOnce(it.batch); err != nil {
			w.fail(it, err)
			continue
		}
		w.written.Add(int64(it.rows))
		notify(it, nil)
	}
}

func (w *Writer) writeWithRetry(b *entities.Batch) error {
	backoff := 100 * time.Millisecond
	var err error
	for attempt := 0; attempt <= w.cfg.Retries; attempt++ {
		if attempt > 0 {
			time.Sleep(backoff)
			backoff *= 4
		}
		if err = w.writeOnce(b); err == nil {
			return nil
		}
	}
	return err
}

func (w *Writer) writeOnce(b *entities.Batch) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.WriteTimeout)
	defer cancel()
	err := w.store.WriteBatch(ctx, b)
	if err != nil {
		w.failedBatches.Add(1)
		msg := err.Error()
		w.lastError.Store(&msg)
	}
	return err
}

func (w *Writer) fail(it item, err error) {
	w.failed.Add(int64(it.rows))
	w.cfg.Logger.Error("audit: write failed, events lost", "rows", it.rows, "error", err)
	notify(it, err)
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
