package writer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gin-audit-trail/audit/repository"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/spool"
)

// DeadLetterFile is the file, in the spool directory, that keeps batches
// the database refused while it accepted others (rows it will never take,
// for example a value a column type rejects). It has the spool's record
// format; read it with spool.ReadFile and DecodeSpoolRecord.
const DeadLetterFile = "rejected.spool"

// spoolRecord is the payload of one spool record: the batches of one
// transaction, or of one group of batches that found the queue full.
type spoolRecord struct {
	V     int               `json:"v"`
	Items []*entities.Batch `json:"items"`
}

// EncodeSpoolRecord is the spool payload for batches (JSON, version 1).
func EncodeSpoolRecord(items []*entities.Batch) ([]byte, error) {
	return json.Marshal(spoolRecord{V: 1, Items: items})
}

// DecodeSpoolRecord reads a payload written by EncodeSpoolRecord.
func DecodeSpoolRecord(payload []byte) ([]*entities.Batch, error) {
	var r spoolRecord
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, fmt.Errorf("audit spool: undecodable record: %w", err)
	}
	if r.V != 1 {
		return nil, fmt.Errorf("audit spool: record version %d not supported", r.V)
	}
	return r.Items, nil
}

// spoolStore is the spool layer: a Store that writes through to the
// database while it answers, and otherwise appends the batch to the disk
// spool (fsync'd) and reports success. A replayer writes the spool back,
// oldest record first, while committers go on writing new batches. While
// the database fails (degraded), new batches go to the spool's end, so
// the order is kept and nothing waits in memory. The writer also spills
// here the batches that find its queue full.
type spoolStore struct {
	cfg    repository.WriterConfig
	c      *counters
	logs   *repeatLogs
	direct Store // counted, WriteTimeout
	replay Store // counted, four times WriteTimeout
	raw    Store // uncounted: probes

	mu       sync.Mutex // orders appends against the replayer's "spool is empty" check
	spool    *spool.Spool
	slot     atomic.Pointer[string] // the slot in use: repository.SpoolConfig.Dir or a sibling (see spoolSlots)
	degraded atomic.Bool            // new batches go to the spool

	spillMu    sync.Mutex // guards spillNext
	spillNext  *spillGroup
	spillWrite sync.Mutex // one spill append at a time; the next group gathers meanwhile

	kick         chan struct{} // wakes the replayer
	quit         chan struct{} // stops the replayer
	quitOnce     sync.Once
	replayDone   chan struct{}
	closing      atomic.Bool // Close: replay one pass, stop at the first failure
	abandoned    atomic.Bool // Close gave up on the database: everything goes to the spool
	abandonCh    chan struct{}
	abandonOnce  sync.Once
	replayCtx    context.Context
	replayCancel context.CancelFunc
}

// spillGroup is the batches spilled while the previous spill was being
// written: one record, one fsync.
type spillGroup struct {
	items []*entities.Batch
	done  chan struct{}
	err   error
}

func newSpoolStore(cfg repository.WriterConfig, c *counters, logs *repeatLogs, direct, replay, raw Store, ctx context.Context) *spoolStore {
	s := &spoolStore{
		cfg: cfg, c: c, logs: logs, direct: direct, replay: replay, raw: raw,
		kick:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		replayDone: make(chan struct{}),
		abandonCh:  make(chan struct{}),
	}
	s.replayCtx, s.replayCancel = context.WithCancel(ctx)
	return s
}

// start opens the spool if its directory exists and starts the replayer,
// which replays what an earlier run left before any new batch.
func (s *spoolStore) start() error {
	s.mu.Lock()
	// A spool left by an earlier run (ours, or that of another instance
	// that has not come back) is taken and replayed now.
	err := s.openLocked(true)
	if err == nil && s.spool != nil && !s.spool.Empty() {
		st := s.spool.Stats()
		s.cfg.Logger.Warn("audit: replaying the spool left by an earlier run",
			"dir", s.dir(), "batches", st.Records, "bytes", st.Bytes)
		s.degraded.Store(true)
		s.kickReplayer()
	}
	s.mu.Unlock()
	go s.replayLoop()
	return err
}

// WriteBatch implements Store: b is committed, or fsync'd in the spool.
// It returns ErrSpoolFull when b was dropped because the spool is full,
// and another error when the spool cannot be written (b is then lost and
// counted in Failed).
func (s *spoolStore) WriteBatch(ctx context.Context, b *entities.Batch) error {
	s.mu.Lock()
	if s.degraded.Load() || s.abandoned.Load() {
		defer s.mu.Unlock()
		return s.appendLocked([]*entities.Batch{b}, false)
	}
	s.mu.Unlock()
	err := s.direct.WriteBatch(ctx, b)
	if err == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.abandoned.Load() && !s.degraded.Swap(true) {
		s.logs.outage.log(s.cfg.Logger, slog.LevelWarn, "audit: database write failed, batches go to the spool until it is replayed",
			"dir", s.dir(), "error", err)
	}
	return s.appendLocked([]*entities.Batch{b}, false)
}

// spill appends b, which found the writer's queue full, to the spool.
// Batches spilled at the same time share one record and one fsync. A nil
// error means b is durable in the spool; on any error nothing is counted
// and the caller decides.
func (s *spoolStore) spill(b *entities.Batch) error {
	s.spillMu.Lock()
	g := s.spillNext
	leader := g == nil
	if leader {
		g = &spillGroup{done: make(chan struct{})}
		s.spillNext = g
	}
	g.items = append(g.items, b)
	s.spillMu.Unlock()
	if !leader {
		<-g.done
		return g.err
	}
	s.spillWrite.Lock()
	s.spillMu.Lock()
	s.spillNext = nil // later spills gather in the next group
	s.spillMu.Unlock()
	s.mu.Lock()
	g.err = s.appendLocked(g.items, true)
	s.mu.Unlock()
	s.spillWrite.Unlock()
	close(g.done)
	return g.err
}

// appendLocked appends items to the spool as one record (two when it is
// too large); s.mu is held (and released while a SpoolFullBlock wait
// lasts). It counts what it spools, and unless spilling, what it drops or
// loses.
func (s *spoolStore) appendLocked(items []*entities.Batch, spilling bool) error {
	rows := int64(0)
	for _, b := range items {
		rows += int64(b.Len())
	}
	err := s.openLocked(false)
	var payload []byte
	if err == nil {
		payload, err = EncodeSpoolRecord(items)
	}
	for err == nil {
		err = s.spool.Append(payload)
		if !errors.Is(err, spool.ErrFull) || s.cfg.Spool.Full != repository.SpoolFullBlock || spilling || s.abandoned.Load() {
			break
		}
		freed := s.spool.Freed()
		s.mu.Unlock()
		select {
		case <-freed:
		case <-s.abandonCh:
		}
		s.mu.Lock()
		err = nil
		if s.abandoned.Load() {
			err = spool.ErrFull
		}
	}
	switch {
	case err == nil:
		s.c.spooled.Add(rows)
		s.kickReplayer()
		return nil
	case errors.Is(err, spool.ErrTooLarge) && rows > 1:
		var a, b []*entities.Batch
		if len(items) > 1 {
			a, b = items[:len(items)/2], items[len(items)/2:]
		} else {
			x, y := splitBatch(items[0])
			a, b = []*entities.Batch{x}, []*entities.Batch{y}
		}
		return errors.Join(s.appendLocked(a, spilling), s.appendLocked(b, spilling))
	case errors.Is(err, spool.ErrFull), errors.Is(err, spool.ErrTooLarge):
		if spilling {
			return repository.ErrSpoolFull
		}
		s.c.spoolDropped.Add(rows)
		n := s.c.dropped.Add(rows)
		s.c.noteError(repository.ErrSpoolFull)
		s.logs.drop.log(s.cfg.Logger, slog.LevelWarn, "audit: events dropped", "reason", repository.ErrSpoolFull.Error(),
			"rows", rows, "dropped_total", n, "spool_dir", s.dir())
		return repository.ErrSpoolFull
	default:
		err = fmt.Errorf("audit: spool append: %w", err)
		s.c.noteError(err)
		if spilling {
			s.logs.spoolFailed.log(s.cfg.Logger, slog.LevelError, "audit: spool not writable", "dir", s.dir(), "error", err)
			return err
		}
		s.c.failed.Add(rows)
		s.logs.spoolFailed.log(s.cfg.Logger, slog.LevelError, "audit: spool not writable, events lost",
			"dir", s.dir(), "rows", rows, "error", err)
		return err
	}
}

// spoolSlots is how many spool directories writers sharing one
// SpoolConfig.Dir may use at once: Dir itself, then Dir-2 ... Dir-16.
// Several trails of one process, or several instances of an application
// started in one working directory, may write to the same audit database
// and so resolve the same default spool; each locks the first free slot,
// and a slot a dead instance left behind is replayed by whichever writer
// takes it next.
const spoolSlots = 16

func (s *spoolStore) slotDir(i int) string {
	if i == 0 {
		return s.cfg.Spool.Dir
	}
	return fmt.Sprintf("%s-%d", s.cfg.Spool.Dir, i+1)
}

// dir is the spool directory in use, or the configured one before a spool
// was opened.
func (s *spoolStore) dir() string {
	if d := s.slot.Load(); d != nil {
		return *d
	}
	return s.cfg.Spool.Dir
}

// openLocked opens the spool if it is not open, in the first slot no other
// writer holds; s.mu is held. With existingOnly, only slots that already
// exist on disk are tried (and none is created).
func (s *spoolStore) openLocked(existingOnly bool) error {
	if s.spool != nil {
		return nil
	}
	var lastErr error
	for i := range spoolSlots {
		dir := s.slotDir(i)
		if existingOnly {
			if _, err := os.Stat(dir); err != nil {
				continue
			}
		}
		sp, err := spool.Open(dir, spool.Options{
			MaxBytes: s.cfg.Spool.MaxBytes, SegmentBytes: s.cfg.Spool.SegmentBytes, Logger: s.cfg.Logger,
		})
		if errors.Is(err, spool.ErrLocked) {
			lastErr = err
			continue
		}
		if err != nil {
			s.c.noteError(err)
			return err
		}
		s.spool = sp
		s.slot.Store(&dir)
		return nil
	}
	if lastErr != nil && !existingOnly {
		err := fmt.Errorf("all %d spool slots of %s are in use: %w", spoolSlots, s.cfg.Spool.Dir, lastErr)
		s.c.noteError(err)
		return err
	}
	return nil
}

func (s *spoolStore) handle() *spool.Spool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spool
}

func (s *spoolStore) stats(st *repository.Stats) {
	st.Degraded = s.degraded.Load()
	st.SpoolDir = s.dir()
	if sp := s.handle(); sp != nil {
		ss := sp.Stats()
		st.SpoolPending, st.SpoolBytes = ss.Records, ss.Bytes
	}
}

func (s *spoolStore) kickReplayer() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// replayLoop writes the spool back to the database, oldest record first,
// one record per transaction, and switches the writer back to direct
// writes when the spool is empty.
func (s *spoolStore) replayLoop() {
	defer close(s.replayDone)
	const minBackoff = 100 * time.Millisecond
	backoff := minBackoff
	fails := 0
	for {
		select {
		case <-s.quit:
			return
		default:
		}
		sp := s.handle()
		var payload []byte
		var next spool.Cursor
		err := io.EOF
		if sp != nil {
			payload, next, err = sp.Peek()
		}
		if errors.Is(err, io.EOF) || errors.Is(err, spool.ErrClosed) {
			s.mu.Lock()
			if (s.spool == nil || s.spool.Empty()) && s.degraded.Swap(false) && !s.abandoned.Load() {
				s.cfg.Logger.Info("audit: spool replayed, writing to the database directly again",
					"replayed_rows", s.c.replayed.Load())
			}
			s.mu.Unlock()
			if s.closing.Load() {
				return
			}
			select {
			case <-s.kick:
			case <-s.quit:
				return
			}
			continue
		}
		if err != nil {
			// A record damaged on disk while running (spool.Open has
			// already checked what was there at start).
			s.c.noteError(err)
			s.logs.damaged.log(s.cfg.Logger, slog.LevelError, "audit: damaged spool record skipped", "error", err)
			_ = sp.Pop(next)
			continue
		}
		items, err := DecodeSpoolRecord(payload)
		if err != nil {
			s.c.noteError(err)
			s.deadLetter(payload, 0, err)
			_ = sp.Pop(next)
			continue
		}
		// Records spilled or spooled one batch at a time are small: the
		// following ones join this transaction, up to MaxBatchRows rows.
		ends := []spool.Cursor{next}
		rows := batchesLen(items)
		for rows < s.cfg.MaxBatchRows {
			np, nn, err := sp.PeekAfter(next)
			if err != nil {
				break
			}
			more, err := DecodeSpoolRecord(np)
			if err != nil || rows+batchesLen(more) > s.cfg.MaxBatchRows {
				break // a bad record is handled at its own turn
			}
			items = append(items, more...)
			rows += batchesLen(more)
			next = nn
			ends = append(ends, nn)
		}
		if s.replayRecord(sp, items, next, &fails) {
			fails = 0
			backoff = minBackoff
			for _, end := range ends {
				if err := sp.Pop(end); err != nil {
					s.c.noteError(err)
					break
				}
			}
			continue
		}
		if s.closing.Load() {
			return // Close: the database is still failing; the spool waits on disk
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.quit:
			t.Stop()
			return
		}
		backoff = min(backoff*2, s.cfg.RetryBackoffMax)
	}
}

func batchesLen(items []*entities.Batch) int {
	n := 0
	for _, b := range items {
		n += b.Len()
	}
	return n
}

// replayRecord writes spooled records (one, or several consecutive ones), idempotently (its commit may
// have happened before a crash or a lost reply), and reports whether it is
// done: committed, or its refused rows moved to the dead-letter file.
func (s *spoolStore) replayRecord(sp *spool.Spool, items []*entities.Batch, next spool.Cursor, fails *int) bool {
	b := mergeBatches(items)
	ctx := withInDoubt(s.replayCtx)
	err := s.replay.WriteBatch(ctx, b)
	if err == nil {
		s.c.replayed.Add(int64(b.Len()))
		return true
	}
	*fails++
	if *fails <= s.cfg.Retries || s.closing.Load() {
		return false // most likely still an outage: wait and retry
	}
	// It failed again and again: the database, or these rows? Rows are
	// set aside only while the database demonstrably takes others.
	if b.Len() == 1 {
		if !s.probeNext(ctx, sp, next) {
			return false // the next record fails too, or there is none: an outage
		}
		s.deadLetterBatches([]*entities.Batch{b}, err)
		return true
	}
	written, refused, lastErr, up := s.isolate(ctx, b, false)
	if !up {
		return false
	}
	s.c.replayed.Add(written)
	if len(refused) > 0 {
		s.deadLetterBatches(refused, lastErr)
	}
	return true
}

// probeNext writes the record after next, and reports whether the
// database took it (it is written again, idempotently, when its turn
// comes).
func (s *spoolStore) probeNext(ctx context.Context, sp *spool.Spool, next spool.Cursor) bool {
	np, _, err := sp.PeekAfter(next)
	if err != nil {
		return false
	}
	nitems, err := DecodeSpoolRecord(np)
	if err != nil {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 4*s.cfg.WriteTimeout)
	defer cancel()
	return s.raw.WriteBatch(pctx, mergeBatches(nitems)) == nil
}

// isolate writes b by halves, recursively, and returns the rows written
// and the single rows refused. When neither half of b goes through and
// nothing else did yet (up false), it stops: the database is down, and
// nothing is refused.
func (s *spoolStore) isolate(ctx context.Context, b *entities.Batch, up bool) (written int64, refused []*entities.Batch, lastErr error, upOut bool) {
	x, y := splitBatch(b)
	var failed []*entities.Batch
	for _, h := range []*entities.Batch{x, y} {
		if h.Len() == 0 {
			continue
		}
		if err := s.replay.WriteBatch(ctx, h); err != nil {
			failed = append(failed, h)
			lastErr = err
			continue
		}
		up = true
		written += int64(h.Len())
	}
	if !up {
		return 0, nil, lastErr, false
	}
	for _, h := range failed {
		if h.Len() == 1 {
			refused = append(refused, h)
			continue
		}
		w, r, e, _ := s.isolate(ctx, h, true)
		written += w
		refused = append(refused, r...)
		if e != nil {
			lastErr = e
		}
	}
	return written, refused, lastErr, true
}

func (s *spoolStore) deadLetterBatches(refused []*entities.Batch, why error) {
	n := 0
	for _, b := range refused {
		n += b.Len()
	}
	payload, err := EncodeSpoolRecord(refused)
	if err != nil {
		s.c.failed.Add(int64(n))
		s.logs.deadLetter.log(s.cfg.Logger, slog.LevelError, "audit: refused rows lost", "rows", n, "error", err)
		return
	}
	s.deadLetter(payload, n, why)
}

// deadLetter keeps rows the database refuses in DeadLetterFile.
func (s *spoolStore) deadLetter(payload []byte, rows int, why error) {
	path := filepath.Join(s.dir(), DeadLetterFile)
	s.c.failed.Add(int64(rows))
	if err := spool.AppendFile(path, payload); err != nil {
		s.logs.deadLetter.log(s.cfg.Logger, slog.LevelError, "audit: rows refused by the database are lost: dead-letter file not writable",
			"rows", rows, "error", why, "dead_letter_error", err)
		return
	}
	s.c.rejected.Add(int64(rows))
	s.logs.deadLetter.log(s.cfg.Logger, slog.LevelError, "audit: rows refused by the database kept in the dead-letter file",
		"rows", rows, "file", path, "error", why)
}

// abandon sends every batch still to be written to the spool, and ends a
// SpoolFullBlock wait: Close's context has ended.
func (s *spoolStore) abandon() {
	s.abandoned.Store(true)
	s.abandonOnce.Do(func() { close(s.abandonCh) })
}

// close runs at Close after the queue is drained: it replays while the
// database answers (until ctx ends, which also cancels the replay in
// flight), then stops the replayer and closes the spool.
func (s *spoolStore) close(ctx context.Context) {
	s.closing.Store(true)
	s.kickReplayer()
	select {
	case <-s.replayDone:
	case <-ctx.Done():
	}
	s.quitOnce.Do(func() {
		close(s.quit)
		s.replayCancel()
	})
	<-s.replayDone
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spool == nil {
		return
	}
	if st := s.spool.Stats(); st.Records > 0 {
		s.cfg.Logger.Warn("audit: spooled batches kept on disk; they are replayed when the trail next opens this spool",
			"dir", s.dir(), "batches", st.Records, "bytes", st.Bytes)
	}
	_ = s.spool.Close()
}
