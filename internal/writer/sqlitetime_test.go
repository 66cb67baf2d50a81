package writer

import (
	"testing"
	"time"
)

// sqliteTimestamp writes what the driver's layout writes, for every time:
// UTC ones through the direct path, the others through Format.
func FuzzSQLiteTimestamp(f *testing.F) {
	for _, t := range []time.Time{
		time.Date(2026, 11, 27, 17, 4, 5, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		f.Add(t.Unix(), int64(t.Nanosecond()), 0)
	}
	f.Add(int64(1700000000), int64(123456789), 3600*5+1800)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		ts := time.Unix(sec, nsec%1e9).UTC()
		if offset != 0 {
			ts = ts.In(time.FixedZone("x", offset%(18*3600)))
		}
		if got, want := sqliteTimestamp(ts), ts.Format(sqliteTimestampLayout); got != want {
			t.Fatalf("sqliteTimestamp(%v) = %q, want %q", ts, got, want)
		}
	})
}

func BenchmarkSQLiteTimestamp(b *testing.B) {
	ts := time.Date(2026, 11, 27, 17, 4, 5, 123456000, time.UTC)
	b.Run("format", func(b *testing.B) {
		for b.Loop() {
			_ = ts.Format(sqliteTimestampLayout)
		}
	})
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			_ = sqliteTimestamp(ts)
		}
	})
}
