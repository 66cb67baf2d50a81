package writer

import (
	"context"
	"errors"
	"fmt"
	"github.com/gin-audit-trail/audit/repository"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"gorm.io/gorm"
)

// ErrNotConnected is returned by ConnectingStore.WriteBatch until the audit
// database has been reached (and migrated): a Writer with a spool keeps
// such batches on disk and replays them once the database is ready.
var ErrNotConnected = errors.New("audit: audit database not connected yet")

const (
	// firstBackoff is the wait after the first failed attempt; it doubles
	// up to the maximum.
	firstBackoff = 100 * time.Millisecond
	// connectLogInterval spaces the warnings of a database that stays
	// unreachable.
	connectLogInterval = time.Minute
)

// ConnectConfig tunes a ConnectingStore. Its zero value gives the defaults
// noted on each field.
type ConnectConfig struct {
	// Migrate runs Migrate once the database answers, before the first
	// write.
	Migrate bool
	// Partitioning is passed to repository.MigratePartitioned (with Migrate) or
	// checked by repository.CheckPartitioning (without).
	Partitioning repository.Partitioning
	// AttemptTimeout bounds one attempt: connecting, pinging and migrating.
	// Default DefaultConnectTimeout.
	AttemptTimeout time.Duration
	// BackoffMax caps the wait between two attempts (it starts at 100 ms
	// and doubles). Default DefaultRetryBackoffMax.
	BackoffMax time.Duration
	// Logger receives the connection warnings. Default slog.Default().
	Logger *slog.Logger
}

func (c ConnectConfig) withDefaults() ConnectConfig {
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = repository.DefaultConnectTimeout
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = repository.DefaultRetryBackoffMax
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// ConnectingStore is the Store layer that makes the audit database optional
// at start: it reaches and migrates the database in the background, with
// retries, backoff and a deadline on every attempt, and until then answers
// every write with ErrNotConnected. Once connected it passes writes to the
// Store it wraps and remembers whether the latest one failed.
type ConnectingStore struct {
	db    *gorm.DB
	store Store
	cfg   ConnectConfig

	ready        chan struct{}
	readyOnce    sync.Once
	answered     chan struct{} // closed at the first successful ping
	answeredOnce sync.Once
	connected    atomic.Bool

	ctx     context.Context // canceled by Close
	cancel  context.CancelFunc
	started atomic.Bool
	done    chan struct{} // closed when the background loop ends

	connectErr atomic.Pointer[string]
	lastWrite  atomic.Pointer[writeNote]
	attemptErr atomic.Pointer[error]
}

type writeNote struct {
	err string // "" for success
	at  time.Time
}

// NewConnectingStore returns the layer over store, which writes to db. It
// does not touch the database: call Connect, or Start.
func NewConnectingStore(db *gorm.DB, store Store, cfg ConnectConfig) *ConnectingStore {
	s := &ConnectingStore{db: db, store: store, cfg: cfg.withDefaults(), ready: make(chan struct{}), answered: make(chan struct{}), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Connect makes one attempt, bounded by ctx and AttemptTimeout: ping the
// database and, with ConnectConfig.Migrate, migrate it. On success the
// store is ready.
func (s *ConnectingStore) Connect(ctx context.Context) error {
	if s.connected.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel) // Close aborts the attempt
	defer stop()
	err := s.attempt(ctx)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		msg := err.Error()
		s.connectErr.Store(&msg)
		s.attemptErr.Store(&err)
		return err
	}
	s.attemptErr.Store(nil)
	s.connected.Store(true)
	s.connectErr.Store(nil)
	s.readyOnce.Do(func() { close(s.ready) })
	return nil
}

func (s *ConnectingStore) attempt(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("audit: audit database: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("audit: reach the audit database: %w", err)
	}
	s.answeredOnce.Do(func() { close(s.answered) })
	if s.cfg.Migrate {
		return repository.MigratePartitioned(s.db.WithContext(ctx), s.cfg.Partitioning)
	}
	if err := repository.CheckMigrated(s.db.WithContext(ctx)); err != nil {
		return err
	}
	return repository.CheckPartitioning(s.db.WithContext(ctx), s.cfg.Partitioning)
}

// Err is the error of the latest attempt to connect, nil once connected
// (or before the first attempt ended).
func (s *ConnectingStore) Err() error {
	if p := s.attemptErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Start connects in the background: it makes attempts, waiting between
// them from 100 ms up to BackoffMax, until one succeeds or Close is
// called. It waits for the first attempt at most wait for the database to
// answer a ping, and then, once it has answered, for the migration to end
// (within AttemptTimeout): a healthy database is ready when Start returns,
// a hung one costs wait, one that refuses connections costs nothing. A
// negative wait does not wait. Start runs once; later calls do nothing.
func (s *ConnectingStore) Start(wait time.Duration) {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	first := make(chan struct{})
	go s.loop(first)
	if wait < 0 {
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-first:
		return
	case <-timer.C:
	}
	select {
	case <-s.answered:
		<-first // it answers: migrating, within AttemptTimeout
	default:
	}
}

func (s *ConnectingStore) loop(first chan<- struct{}) {
	defer close(s.done)
	backoff := firstBackoff
	var lastLog time.Time
	for attempts := 1; ; attempts++ {
		err := s.Connect(s.ctx)
		if attempts == 1 {
			close(first)
		}
		if err == nil {
			if attempts > 1 {
				s.cfg.Logger.Info("audit: audit database connected", "target", repository.TargetOf(s.db).String(), "attempts", attempts)
			}
			return
		}
		if s.ctx.Err() != nil {
			return
		}
		if now := time.Now(); now.Sub(lastLog) >= connectLogInterval {
			lastLog = now
			s.cfg.Logger.Warn("audit: audit database not reachable, events go to the spool; retrying in the background",
				"target", repository.TargetOf(s.db).String(), "attempts", attempts, "error", err)
		}
		select {
		case <-time.After(backoff):
		case <-s.ctx.Done():
			return
		}
		backoff = min(backoff*2, s.cfg.BackoffMax)
	}
}

// Ready is closed once the database is connected and migrated.
func (s *ConnectingStore) Ready() <-chan struct{} { return s.ready }

// WriteBatch implements Store: ErrNotConnected until the store is ready,
// then the wrapped store's answer.
func (s *ConnectingStore) WriteBatch(ctx context.Context, b *entities.Batch) error {
	if !s.connected.Load() {
		return ErrNotConnected
	}
	err := s.store.WriteBatch(ctx, b)
	note := &writeNote{at: time.Now().UTC()}
	if err != nil {
		note.err = err.Error()
	}
	s.lastWrite.Store(note)
	return err
}

// State reports the connection and the outcome of the latest write.
func (s *ConnectingStore) State() repository.DatabaseState {
	st := repository.DatabaseState{Connected: s.connected.Load()}
	if p := s.connectErr.Load(); p != nil && !st.Connected {
		st.ConnectError = *p
	}
	if w := s.lastWrite.Load(); w != nil {
		st.LastWriteAt = w.at
		st.WriteFailing = w.err != ""
		st.LastWriteError = w.err
	}
	return st
}

// Close stops connecting: an attempt in flight is canceled. It waits for
// the background loop to end, or for ctx.
func (s *ConnectingStore) Close(ctx context.Context) error {
	s.cancel()
	if !s.started.Load() {
		return nil
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("audit: connection attempt still running: %w", ctx.Err())
	}
}
