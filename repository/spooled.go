package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/repository/spool"
)

// DeadLetterFile is the file, in the spool directory, that keeps batches
// the database refused while it accepted others (rows it will never take,
// for example a value a column type rejects). It has the spool's record
// format; read it with spool.ReadFile and DecodeSpoolRecord.
const DeadLetterFile = "rejected.spool"

// replayState is the writer's spool side.
type replayState struct {
	mu       sync.Mutex // orders appends against the replayer's "spool is empty" check
	spool    *spool.Spool
	dir      atomic.Pointer[string] // the slot in use: SpoolConfig.Dir or a sibling (see spoolSlots)
	degraded atomic.Bool            // new batches go to the spool

	kick        chan struct{} // wakes the replayer
	quit        chan struct{} // stops the replayer
	quitOnce    sync.Once
	replayDone  chan struct{}
	closing     atomic.Bool // Close: replay one pass, stop at the first failure
	abandon     chan struct{}
	abandonOnce sync.Once
	cancel      context.CancelFunc // aborts an in-flight replay transaction
	ctx         context.Context
}

// spoolRecord is the payload of one spool record: the batches of one
// transaction, kept apart so that a batch the database refuses can be
// isolated at replay.
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

// startSpool prepares the spool side and, when the directory already
// exists, opens it and replays what it holds.
func (w *Writer) startSpool() error {
	w.sp.kick = make(chan struct{}, 1)
	w.sp.quit = make(chan struct{})
	w.sp.replayDone = make(chan struct{})
	w.sp.abandon = make(chan struct{})
	w.sp.ctx, w.sp.cancel = context.WithCancel(context.Background())
	var err error
	w.sp.mu.Lock()
	// A spool left by an earlier run (ours, or that of another instance
	// that has not come back) is taken and replayed now.
	err = w.openSpoolLocked(true)
	if err == nil && w.sp.spool != nil && !w.sp.spool.Empty() {
		st := w.sp.spool.Stats()
		w.cfg.Logger.Warn("audit: replaying the spool left by an earlier run",
			"dir", w.spoolDir(), "batches", st.Records, "bytes", st.Bytes)
		w.sp.degraded.Store(true)
		w.kickReplayer()
	}
	w.sp.mu.Unlock()
	go w.replayLoop()
	return err
}

// spoolSlots is how many spool directories writers sharing one
// SpoolConfig.Dir may use at once: Dir itself, then Dir-2 ... Dir-16.
// Several trails of one process, or several instances of an application
// started in one working directory, may write to the same audit database
// and so resolve the same default spool; each locks the first free slot,
// and a slot a dead instance left behind is replayed by whichever writer
// takes it next.
const spoolSlots = 16

func (w *Writer) slotDir(i int) string {
	if i == 0 {
		return w.cfg.Spool.Dir
	}
	return fmt.Sprintf("%s-%d", w.cfg.Spool.Dir, i+1)
}

// spoolDir is the spool directory in use, or the configured one before a
// spool was opened.
func (w *Writer) spoolDir() string {
	if d := w.sp.dir.Load(); d != nil {
		return *d
	}
	return w.cfg.Spool.Dir
}

// openSpoolLocked opens the spool if it is not open, in the first slot no
// other writer holds; w.sp.mu is held. With existingOnly, only slots that
// already exist on disk are tried (and none is created).
func (w *Writer) openSpoolLocked(existingOnly bool) error {
	if w.sp.spool != nil {
		return nil
	}
	var lastErr error
	for i := range spoolSlots {
		dir := w.slotDir(i)
		if existingOnly {
			if _, err := os.Stat(dir); err != nil {
				continue
			}
		}
		s, err := spool.Open(dir, spool.Options{
			MaxBytes: w.cfg.Spool.MaxBytes, SegmentBytes: w.cfg.Spool.SegmentBytes, Logger: w.cfg.Logger,
		})
		if errors.Is(err, spool.ErrLocked) {
			lastErr = err
			continue
		}
		if err != nil {
			w.noteError(err)
			return err
		}
		w.sp.spool = s
		w.sp.dir.Store(&dir)
		return nil
	}
	if lastErr != nil && !existingOnly {
		err := fmt.Errorf("all %d spool slots of %s are in use: %w", spoolSlots, w.cfg.Spool.Dir, lastErr)
		w.noteError(err)
		return err
	}
	return nil
}

func (w *Writer) spoolHandle() *spool.Spool {
	w.sp.mu.Lock()
	defer w.sp.mu.Unlock()
	return w.sp.spool
}

func (w *Writer) kickReplayer() {
	select {
	case w.sp.kick <- struct{}{}:
	default:
	}
}

// flushSpooled writes p directly while the database is healthy, and to
// the spool from the first failure until the spool is replayed. A sync
// waiter is answered after the commit or after the fsync of the spool.
func (w *Writer) flushSpooled(p *pending, batch *entities.Batch) {
	w.sp.mu.Lock()
	if w.sp.degraded.Load() {
		w.spoolItems(p.items)
		w.sp.mu.Unlock()
		return
	}
	w.sp.mu.Unlock()
	err := w.writeOnce(batch)
	if err == nil {
		w.written.Add(int64(p.rows))
		for _, it := range p.items {
			notify(it, nil)
		}
		return
	}
	w.sp.mu.Lock()
	if !w.sp.degraded.Swap(true) {
		w.cfg.Logger.Warn("audit: database write failed, batches go to the spool until it is replayed",
			"dir", w.spoolDir(), "error", err)
	}
	w.spoolItems(p.items)
	w.sp.mu.Unlock()
}

// spoolItems appends items to the spool as one record; w.sp.mu is held
// (and released while a SpoolFullBlock wait lasts).
func (w *Writer) spoolItems(items []item) {
	rows := 0
	batches := make([]*entities.Batch, len(items))
	for i, it := range items {
		rows += it.rows
		batches[i] = it.batch
	}
	err := w.openSpoolLocked(false)
	var payload []byte
	if err == nil {
		payload, err = EncodeSpoolRecord(batches)
	}
	for err == nil {
		err = w.sp.spool.Append(payload)
		if !errors.Is(err, spool.ErrFull) || w.cfg.Spool.Full != SpoolFullBlock {
			break
		}
		freed := w.sp.spool.Freed()
		w.sp.mu.Unlock()
		select {
		case <-freed:
		case <-w.sp.abandon:
		}
		w.sp.mu.Lock()
		w.sp.degraded.Store(true)
		select {
		case <-w.sp.abandon:
			err = spool.ErrFull
		default:
			err = nil
		}
	}
	switch {
	case err == nil:
		w.spooled.Add(int64(rows))
		w.kickReplayer()
		for _, it := range items {
			notify(it, nil)
		}
	case errors.Is(err, spool.ErrTooLarge) && len(items) > 1:
		half := len(items) / 2
		w.spoolItems(items[:half])
		w.spoolItems(items[half:])
	case errors.Is(err, spool.ErrFull), errors.Is(err, spool.ErrTooLarge):
		w.spoolDropped.Add(int64(rows))
		w.noteError(ErrSpoolFull)
		for _, it := range items {
			w.drop(it, ErrSpoolFull)
			notify(it, ErrSpoolFull)
		}
	default:
		err = fmt.Errorf("audit: spool append: %w", err)
		w.noteError(err)
		for _, it := range items {
			w.fail(it, err)
		}
	}
}

func (w *Writer) replayTimeout() time.Duration { return 4 * w.cfg.WriteTimeout }

// replayLoop writes the spool back to the database, oldest record first,
// one record per transaction, and switches the writer back to direct
// writes when the spool is empty.
func (w *Writer) replayLoop() {
	defer close(w.sp.replayDone)
	const minBackoff = 100 * time.Millisecond
	backoff := minBackoff
	fails := 0
	for {
		select {
		case <-w.sp.quit:
			return
		default:
		}
		if !w.sp.degraded.Load() {
			if w.sp.closing.Load() {
				return
			}
			select {
			case <-w.sp.kick:
			case <-w.sp.quit:
				return
			}
			continue
		}
		sp := w.spoolHandle()
		if sp == nil {
			// The spool could not be opened: nothing to replay.
			w.sp.degraded.Store(false)
			continue
		}
		payload, next, err := sp.Peek()
		if errors.Is(err, io.EOF) {
			w.sp.mu.Lock()
			if sp.Empty() && w.sp.degraded.Swap(false) {
				w.cfg.Logger.Info("audit: spool replayed, writing to the database directly again",
					"replayed_rows", w.replayed.Load())
			}
			w.sp.mu.Unlock()
			continue
		}
		if err != nil {
			// A record damaged on disk while running (spool.Open has
			// already checked what was there at start).
			w.noteError(err)
			w.cfg.Logger.Error("audit: damaged spool record skipped", "error", err)
			_ = sp.Pop(next)
			continue
		}
		items, err := DecodeSpoolRecord(payload)
		if err != nil {
			w.noteError(err)
			w.deadLetter(payload, 0, err)
			_ = sp.Pop(next)
			continue
		}
		if w.replayRecord(sp, items, next, &fails) {
			fails = 0
			backoff = minBackoff
			if err := sp.Pop(next); err != nil {
				w.noteError(err)
			}
			continue
		}
		if w.sp.closing.Load() {
			return // Close: the database is still failing; the spool waits on disk
		}
		select {
		case <-time.After(backoff):
		case <-w.sp.quit:
			return
		}
		backoff = min(backoff*2, w.cfg.RetryBackoffMax)
	}
}

// replayRecord writes one spooled record and reports whether it is done
// (committed, or its refused batches moved to the dead-letter file).
func (w *Writer) replayRecord(sp *spool.Spool, items []*entities.Batch, next spool.Cursor, fails *int) bool {
	merged := &entities.Batch{}
	for _, b := range items {
		merged.Append(b)
	}
	rows := int64(merged.Len())
	if err := w.writeCtx(w.sp.ctx, merged, w.replayTimeout()); err == nil {
		w.written.Add(rows)
		w.replayed.Add(rows)
		return true
	}
	*fails++
	if *fails <= w.cfg.Retries || w.sp.closing.Load() {
		return false // most likely still an outage: wait and retry
	}
	// It failed again and again: the database, or these rows? If the
	// database takes the next record, or some of these batches alone, it is
	// up, and the batches it still refuses are set aside.
	writable, probed := false, false
	if np, _, err := sp.PeekAfter(next); err == nil {
		if nitems, err := DecodeSpoolRecord(np); err == nil {
			probe := &entities.Batch{}
			for _, b := range nitems {
				probe.Append(b)
			}
			// Written again, idempotently, when its turn comes.
			probed = true
			writable = w.writeCtx(w.sp.ctx, probe, w.replayTimeout()) == nil
		}
	}
	if !writable && (probed || len(items) == 1) {
		return false // the next record fails too: an outage
	}
	var refused []*entities.Batch
	var lastErr error
	for i, b := range items {
		if err := w.writeCtx(w.sp.ctx, b, w.replayTimeout()); err != nil {
			refused = append(refused, b)
			lastErr = err
			if !writable && i >= 1 {
				return false // nothing goes through: an outage, not these rows
			}
			continue
		}
		writable = true
		w.written.Add(int64(b.Len()))
		w.replayed.Add(int64(b.Len()))
	}
	if !writable {
		return false
	}
	if len(refused) > 0 {
		payload, err := EncodeSpoolRecord(refused)
		n := 0
		for _, b := range refused {
			n += b.Len()
		}
		if err != nil {
			w.failed.Add(int64(n))
			w.cfg.Logger.Error("audit: refused rows lost", "rows", n, "error", err)
			return true
		}
		w.deadLetter(payload, n, lastErr)
	}
	return true
}

// deadLetter keeps rows the database refuses in DeadLetterFile.
func (w *Writer) deadLetter(payload []byte, rows int, why error) {
	path := filepath.Join(w.spoolDir(), DeadLetterFile)
	w.failed.Add(int64(rows))
	if err := spool.AppendFile(path, payload); err != nil {
		w.cfg.Logger.Error("audit: rows refused by the database are lost: dead-letter file not writable",
			"rows", rows, "error", why, "dead_letter_error", err)
		return
	}
	w.rejected.Add(int64(rows))
	w.cfg.Logger.Error("audit: rows refused by the database kept in the dead-letter file",
		"rows", rows, "file", path, "error", why)
}

// closeSpool runs at Close after the queue is drained: it replays while
// the database answers (until ctx ends), then stops the replayer and
// closes the spool.
func (w *Writer) closeSpool(ctx context.Context) {
	w.sp.closing.Store(true)
	w.kickReplayer()
	select {
	case <-w.sp.replayDone:
	case <-ctx.Done():
	}
	w.sp.quitOnce.Do(func() {
		close(w.sp.quit)
		w.sp.cancel()
	})
	<-w.sp.replayDone
	w.sp.mu.Lock()
	defer w.sp.mu.Unlock()
	if w.sp.spool == nil {
		return
	}
	if st := w.sp.spool.Stats(); st.Records > 0 {
		w.cfg.Logger.Warn("audit: spooled batches kept on disk; they are replayed when the trail next opens this spool",
			"dir", w.spoolDir(), "batches", st.Records, "bytes", st.Bytes)
	}
	_ = w.sp.spool.Close()
}
