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
	// WriteTimeout bounds one transaction: a database slower than this
	// counts as failing, and with a spool the batch goes to disk instead of
	// holding up the queue. Replays from the spool get four times as long.
	// Default 5 s.
	WriteTimeout time.Duration
	// Retries is how many times a failed transaction is retried (with
	// backoff) before its batches are tried one by one. With a spool, it is
	// how many failed replays of one spooled batch are tolerated before the
	// writer checks whether the database or the batch is at fault.
	// Default 2.
	Retries int
	// RetryBackoffMax caps the wait between two replay attempts while the
	// database is unreachable (the wait starts at 100 ms and doubles), and
	// so bounds how long after the database's return the replay starts.
	// Default 2 s.
	RetryBackoffMax time.Duration
	// Spool is the on-disk spool that keeps batches the database cannot
	// take. Without a Dir (the zero value) there is no spool, and a batch
	// that still fails after its retries is lost (counted in Failed).
	Spool SpoolConfig
	// Logger receives write errors, drops and truncations. Default
	// slog.Default().
	Logger *slog.Logger
}

// SpoolConfig configures the writer's on-disk spool (package spool): when
// a transaction fails or times out, its batch is appended to the spool and
// fsync'd, and a replayer writes the spool back to the database, in order,
// once it answers. While the spool holds anything, new batches go to its
// end too, so order is kept and the in-memory queue does not grow during
// an outage, however long.
type SpoolConfig struct {
	// Dir is the spool directory. It is created on the first failed write
	// and locked (flock) while the writer runs; a spool left there by a
	// previous run (for example after kill -9) is replayed when the writer
	// starts. "" means no spool.
	Dir string
	// Disabled turns the spool off even when Dir is set (audit.Open sets a
	// default Dir).
	Disabled bool
	// MaxBytes caps the spool on disk. Default 1 GiB (spool.DefaultMaxBytes).
	MaxBytes int64
	// SegmentBytes is the size of one spool file: disk space is given back
	// a segment at a time. Default 16 MiB.
	SegmentBytes int64
	// Full is what happens to a batch when the spool is full: SpoolFullDrop
	// (the default) or SpoolFullBlock.
	Full SpoolFullPolicy
}

// SpoolFullPolicy says what the writer does with a batch that does not fit
// in a full spool.
type SpoolFullPolicy int

const (
	// SpoolFullDrop drops the batch, counts its rows in Dropped and
	// SpoolDropped, and logs (at most once a minute). Requests are never
	// slowed down; memory and disk stay bounded.
	SpoolFullDrop SpoolFullPolicy = iota
	// SpoolFullBlock makes the writer wait until the replay frees room.
	// The in-memory queue then fills, and new batches wait up to
	// EnqueueTimeout before being dropped (asynchronous mode), or requests
	// wait (synchronous mode, Write): nothing accepted is lost, at the
	// price of backpressure on the application.
	SpoolFullBlock
)

// String is "drop" or "block".
func (p SpoolFullPolicy) String() string {
	if p == SpoolFullBlock {
		return "block"
	}
	return "drop"
}

func (c SpoolConfig) enabled() bool { return c.Dir != "" && !c.Disabled }

func (c WriterConfig) withDefaults() WriterConfig {
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if c.MaxBatchRows <= 0 {
		c.MaxBatchRows = DefaultMaxBatchRows
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.EnqueueTimeout <= 0 {
		c.EnqueueTimeout = DefaultEnqueueTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.RetryBackoffMax <= 0 {
		c.RetryBackoffMax = DefaultRetryBackoffMax
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Stats are the writer's counters, for operators: a healthy trail has
// Degraded false, SpoolPending 0 and Dropped and Failed not growing. Row
// counts include every table.
type Stats struct {
	Accepted      int64 `json:"accepted"`       // rows taken into the queue
	Written       int64 `json:"written"`        // rows committed (replayed rows included)
	Dropped       int64 `json:"dropped"`        // rows refused: queue full, spool full or writer closed
	Failed        int64 `json:"failed"`         // rows whose write failed for good (Rejected included)
	FailedBatches int64 `json:"failed_batches"` // transactions that failed (retries and replays included)
	QueueDepth    int   `json:"queue_depth"`    // batches waiting in memory now
	QueueBytes    int64 `json:"queue_bytes"`    // approximate text bytes waiting in memory now

	Spooled      int64  `json:"spooled"`       // rows written to the spool (fsync'd)
	Replayed     int64  `json:"replayed"`      // rows committed from the spool
	SpoolDropped int64  `json:"spool_dropped"` // rows dropped because the spool was full (in Dropped)
	Rejected     int64  `json:"rejected"`      // rows the database refused while it took others: kept in the dead-letter file (in Failed)
	SpoolPending int64  `json:"spool_pending"` // spooled batches not yet replayed (from earlier runs too)
	SpoolBytes   int64  `json:"spool_bytes"`   // spool size on disk
	Degraded     bool   `json:"degraded"`      // new batches go to the spool: the database failed and the spool is not yet replayed
	SpoolDir     string `json:"spool_dir,omitempty"`

	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// ErrClosed is returned for batches offered after Close.
var ErrClosed = errors.New("audit: writer is closed")

// ErrQueueFull is returned by Write when the batch was dropped because the
// queue stayed full for EnqueueTimeout.
var ErrQueueFull = errors.New("audit: writer queue is full")

// ErrSpoolFull is returned by Write when the database failed and the batch
// was dropped because the spool was full (policy SpoolFullDrop).
var ErrSpoolFull = errors.New("audit: database unavailable and spool full")

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
	spooled, replayed, spoolDropped, rejected                     atomic.Int64
	lastError                                                     atomic.Pointer[errorNote]
	lastDropLog                                                   atomic.Int64

	sp replayState
}

type errorNote struct {
	msg string
	at  time.Time
}

// NewWriter starts a writer on store. Call Close to drain it. If the
// configured spool exists but cannot be opened (for example another
// process holds it), the error is logged and the writer tries again on the
// first failed write; use OpenWriter to get the error instead.
func NewWriter(store Store, cfg WriterConfig) *Writer {
	w, err := OpenWriter(store, cfg)
	if err != nil {
		w.cfg.Logger.Error("audit: spool not opened", "dir", w.spoolDir(), "error", err)
	}
	return w
}

// OpenWriter is NewWriter returning the error of opening an existing spool
// (the writer runs anyway, and is returned too). A spool left by an
// earlier run is replayed in the background, before any new batch.
func OpenWriter(store Store, cfg WriterConfig) (*Writer, error) {
	cfg = cfg.withDefaults()
	w := &Writer{
		store:    store,
		cfg:      cfg,
		sanitize: sanitizer{log: cfg.Logger},
		queue:    make(chan item, cfg.QueueSize),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	var err error
	if cfg.Spool.enabled() {
		err = w.startSpool()
	}
	go w.run()
	return w, err
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
		Spooled:       w.spooled.Load(),
		Replayed:      w.replayed.Load(),
		SpoolDropped:  w.spoolDropped.Load(),
		Rejected:      w.rejected.Load(),
		Degraded:      w.sp.degraded.Load(),
	}
	if w.cfg.Spool.enabled() {
		s.SpoolDir = w.spoolDir()
		if sp := w.spoolHandle(); sp != nil {
			st := sp.Stats()
			s.SpoolPending, s.SpoolBytes = st.Records, st.Bytes
		}
	}
	if p := w.lastError.Load(); p != nil {
		s.LastError, s.LastErrorAt = p.msg, p.at
	}
	return s
}

func (w *Writer) noteError(err error) {
	w.lastError.Store(&errorNote{msg: err.Error(), at: time.Now().UTC()})
}

// Close stops accepting batches and writes every batch already accepted:
// to the database, or to the spool if the database fails. It returns
// ctx.Err() if ctx ends first; the writer then goes on draining in the
// background (and a SpoolFullBlock wait gives up, dropping).
//
// With a spool, Close then replays what the spool holds while the
// database answers: it stops at the first failed replay or when ctx ends,
// and returns nil, because spooled batches are safe on disk and are
// replayed by the next writer opened on the same spool directory.
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
		w.sp.abandonOnce.Do(func() { close(w.sp.abandon) })
		return fmt.Errorf("audit: %d batches not yet written: %w", len(w.queue), ctx.Err())
	}
	if w.cfg.Spool.enabled() {
		w.closeSpool(ctx)
	}
	return nil
}

// pending is the transaction being assembled.
type pending struct {
	items []item
	rows  int
	sync  bool
}

func (p *pending) add(it item) {
	p.items = append(p.items, it)
	p.rows += it.rows
	p.sync = p.sync || it.done != nil
}

// merged is one batch holding every row of p (the items' own batch when
// there is one item).
func (p *pending) merged() *entities.Batch {
	if len(p.items) == 1 {
		return p.items[0].batch
	}
	b := &entities.Batch{}
	for _, it := range p.items {
		b.Append(it.batch)
	}
	return b
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
		w.sanitize.batch(it.batch)
	}
	batch := p.merged()
	if w.cfg.Spool.enabled() {
		w.flushSpooled(p, batch)
		return
	}
	err := w.writeWithRetry(batch)
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
	return w.writeCtx(context.Background(), b, w.cfg.WriteTimeout)
}

func (w *Writer) writeCtx(parent context.Context, b *entities.Batch, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	err := w.store.WriteBatch(ctx, b)
	if err != nil {
		w.failedBatches.Add(1)
		w.noteError(err)
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
