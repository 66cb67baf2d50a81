package repository

import "time"

// Defaults of WriterConfig and ConnectConfig, each named once: the
// configs' zero values mean these.
const (
	// DefaultQueueSize is WriterConfig.QueueSize: batches waiting in memory.
	DefaultQueueSize = 4096
	// DefaultMaxQueueBytes is WriterConfig.MaxQueueBytes.
	DefaultMaxQueueBytes = 64 << 20
	// DefaultMaxBatchRows is WriterConfig.MaxBatchRows: rows per
	// transaction, on PostgreSQL (and any store but SQLite).
	DefaultMaxBatchRows = 1000
	// DefaultMaxBatchRowsSQLite is WriterConfig.MaxBatchRows on SQLite. Its
	// indexes on values that do not grow with time (users, URLs) rewrite
	// about one page per row and index in each transaction; the more rows
	// share a transaction, the more of them share those pages
	// (docs/PERFORMANCE.md, "Rows per transaction").
	DefaultMaxBatchRowsSQLite = 5000
	// DefaultFlushInterval is WriterConfig.FlushInterval.
	DefaultFlushInterval = 100 * time.Millisecond
	// DefaultEnqueueTimeout is WriterConfig.EnqueueTimeout.
	DefaultEnqueueTimeout = 50 * time.Millisecond
	// DefaultWriteTimeout is WriterConfig.WriteTimeout: the bound on one
	// transaction.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultRetries is WriterConfig.Retries.
	DefaultRetries = 2
	// DefaultRetryBackoffMax caps the wait between two attempts to reach
	// the database (connecting, or replaying the spool), and so bounds how
	// long after the database's return the trail notices it
	// (WriterConfig.RetryBackoffMax, ConnectConfig.BackoffMax).
	DefaultRetryBackoffMax = 2 * time.Second
	// DefaultConnectTimeout bounds one attempt to reach and migrate the
	// audit database (ConnectConfig.AttemptTimeout).
	DefaultConnectTimeout = 10 * time.Second
)
