package repository

import (
	"errors"
	"log/slog"
	"time"
)

// WriterConfig tunes a Writer. Its zero value gives the defaults noted on
// each field.
type WriterConfig struct {
	// QueueSize is how many batches may wait in memory to be written.
	// Default 4096. When the queue is full, a batch goes to the spool
	// (when there is one) instead of waiting.
	QueueSize int
	// MaxQueueBytes bounds the text held by queued batches (bodies, stack
	// traces), so that memory stays bounded whatever the row sizes.
	// Default 64 MiB.
	MaxQueueBytes int64
	// MaxBatchRows is the most rows written in one transaction. A
	// transaction grows only while every writer is busy, and also ends
	// when its rows hold a quarter of MaxQueueBytes of text, so memory
	// stays bounded whatever the row sizes. Default 1000 on PostgreSQL,
	// 5000 on SQLite (DefaultMaxBatchRows, DefaultMaxBatchRowsSQLite).
	MaxBatchRows int
	// FlushInterval is the longest an accepted row waits before its batch
	// is written. Default 100 ms.
	FlushInterval time.Duration
	// Writers is how many transactions may be in flight at once, each on
	// its own database connection. Default: what the Store asks for
	// (GormStore: GOMAXPROCS on PostgreSQL, 1 on SQLite, which has one
	// write lock), or 1.
	Writers int
	// EnqueueTimeout is how long Enqueue waits for room when the queue is
	// full and the batch cannot go to the spool (no spool, or a full one)
	// before dropping the batch (and counting it). Default 50 ms.
	EnqueueTimeout time.Duration
	// WriteTimeout bounds one transaction: a database slower than this
	// counts as failing, and with a spool the batch goes to disk instead of
	// holding up the queue. Replays from the spool get four times as long.
	// Default 5 s.
	WriteTimeout time.Duration
	// Retries is how many times one batch is tried again after its
	// transaction failed before the writer looks for rows the database
	// refuses in it. Without a spool, a fresh transaction is retried with
	// backoff, then written batch by batch, and batches still refused are
	// lost (counted in Failed). With a spool, a fresh transaction that fails
	// is spooled at once, the spool's oldest record is retried, and after
	// Retries failed replays, while the database takes other writes, the
	// rows it refuses are moved to the dead-letter file. Default 2;
	// negative means 0.
	Retries int
	// RetryBackoffMax caps the wait between two replay attempts while the
	// database is unreachable (the wait starts at 100 ms and doubles), and
	// so bounds how long after the database's return the replay starts.
	// Default 2 s.
	RetryBackoffMax time.Duration
	// Spool is the on-disk spool that keeps batches the database cannot
	// take, and batches that find the queue full. Without a Dir (the zero
	// value) there is no spool: a batch that still fails after its retries
	// is lost (counted in Failed), and one that finds the queue full waits
	// EnqueueTimeout and is then dropped.
	Spool SpoolConfig
	// Logger receives write errors, drops and truncations. Messages that
	// can repeat for every batch are logged at most once a minute, with the
	// count of repetitions. Default slog.Default().
	Logger *slog.Logger
}

// SpoolConfig configures the writer's on-disk spool (package spool): when
// a transaction fails or times out, or the in-memory queue is full, the
// batch is appended to the spool and fsync'd, and a replayer writes the
// spool back to the database, in order, once it answers. While the
// database fails, new batches go to the spool's end too, so order is kept
// and the in-memory queue does not grow during an outage, however long.
type SpoolConfig struct {
	// Dir is the spool directory. It is created on the first batch that
	// needs it and locked (flock) while the writer runs; a spool left there
	// by a previous run (for example after kill -9) is replayed when the
	// writer starts. "" means no spool.
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

// Stats are the writer's counters, for operators: a healthy trail has
// Degraded false, SpoolPending 0 and Dropped and Failed not growing. Row
// counts include every table.
type Stats struct {
	Accepted      int64 `json:"accepted"`       // rows taken (into the queue, or spilled to the spool when it was full)
	Written       int64 `json:"written"`        // rows committed (replayed rows included)
	Dropped       int64 `json:"dropped"`        // rows refused: queue and spool full, no spool, or writer closed
	Failed        int64 `json:"failed"`         // rows whose write failed for good (Rejected included)
	FailedBatches int64 `json:"failed_batches"` // transactions that failed (retries and replays included)
	QueueDepth    int   `json:"queue_depth"`    // batches waiting in memory now
	QueueBytes    int64 `json:"queue_bytes"`    // approximate text bytes waiting in memory now

	Spooled      int64  `json:"spooled"`       // rows written to the spool (fsync'd), Spilled included
	Spilled      int64  `json:"spilled"`       // rows that found the queue full and went to the spool
	Replayed     int64  `json:"replayed"`      // rows committed from the spool
	SpoolDropped int64  `json:"spool_dropped"` // rows dropped because the spool was full (in Dropped)
	Rejected     int64  `json:"rejected"`      // rows the database refused while it took others: kept in the dead-letter file (in Failed)
	SpoolPending int64  `json:"spool_pending"` // spooled records not yet replayed (from earlier runs too)
	SpoolBytes   int64  `json:"spool_bytes"`   // spool size on disk
	Degraded     bool   `json:"degraded"`      // new batches go to the spool: the database failed and the spool is not yet replayed
	SpoolDir     string `json:"spool_dir,omitempty"`
	Writers      int    `json:"writers"` // transactions that may be in flight at once

	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// ErrClosed is returned for batches offered after Close.
var ErrClosed = errors.New("audit: writer is closed")

// ErrQueueFull is returned by Write when the batch was dropped because the
// queue stayed full for EnqueueTimeout and there was no spool to take it.
var ErrQueueFull = errors.New("audit: writer queue is full")

// ErrSpoolFull is returned by Write when the batch could go neither to the
// database nor to the queue, and was dropped because the spool was full
// (policy SpoolFullDrop).
var ErrSpoolFull = errors.New("audit: database unavailable and spool full")

// DatabaseState is what a ConnectingStore knows of its database, for health
// checks.
type DatabaseState struct {
	// Connected is true once the database was reached and migrated; it
	// stays true (a later outage shows in the writes).
	Connected bool `json:"connected"`
	// ConnectError is the error of the last failed attempt while not
	// connected.
	ConnectError string `json:"connect_error,omitempty"`
	// WriteFailing is true when the latest write failed: the database may
	// answer reads (a ping) and still refuse writes (a full disk, a
	// read-only SQLite file).
	WriteFailing bool `json:"write_failing"`
	// LastWriteError is the error of the latest write when it failed.
	LastWriteError string `json:"last_write_error,omitempty"`
	// LastWriteAt is when the latest write ended, zero before the first.
	LastWriteAt time.Time `json:"last_write_at,omitzero"`
}
