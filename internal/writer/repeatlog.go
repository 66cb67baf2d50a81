package writer

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// repeatLogInterval is the shortest time between two log lines of one
// kind that can repeat per batch (drops, spool errors, failed writes,
// truncations): between them the occurrences are only counted, and the
// next line says how many there were.
const repeatLogInterval = time.Minute

// repeatLog logs one kind of message at most once per repeatLogInterval,
// with the number of occurrences it did not log since the previous line.
// Its zero value is ready to use.
type repeatLog struct {
	last       atomic.Int64 // unix nanoseconds of the last line
	suppressed atomic.Int64
}

// log writes msg at level if the interval has passed since the last line of
// this kind, adding "repeated" (occurrences not logged since); otherwise it
// only counts the occurrence.
func (r *repeatLog) log(l *slog.Logger, level slog.Level, msg string, args ...any) {
	now := time.Now().UnixNano()
	last := r.last.Load()
	if (last != 0 && now-last < int64(repeatLogInterval)) || !r.last.CompareAndSwap(last, now) {
		r.suppressed.Add(1)
		return
	}
	if n := r.suppressed.Swap(0); n > 0 {
		args = append(args, "repeated", n)
	}
	l.Log(context.Background(), level, msg, args...)
}

// repeatLogs are the writer's rate-limited messages, one per kind.
type repeatLogs struct {
	drop, lost, spoolFailed, spoolOpen, outage, damaged, deadLetter repeatLog
}
